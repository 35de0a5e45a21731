#!/bin/sh
# crashsim-short.sh -- a short crash simulation for `make check`: crash
# states of the heap with whole lines, torn lines, evicted dirty lines and
# the disk model (what the layer wrote, torn; pipelined commits in the
# engine's), then of the key-value engine the same four ways.  Fails if the
# simulator reports any failure.  (make crashtest runs the long ones.)
top_builddir=${top_builddir:-.}
sim="$top_builddir/tests/crashsim"
kv="$top_builddir/tests/crashkv"
status=0
"$sim" --states 6000 --seed 42 || status=1
"$sim" --states 2000 --seed 43 --torn || status=1
"$sim" --states 2000 --seed 44 --evict || status=1
"$sim" --states 2000 --seed 45 --disk --torn || status=1
"$kv" --states 3000 --seed 42 || status=1
"$kv" --states 1500 --seed 43 --torn || status=1
"$kv" --states 1500 --seed 44 --evict || status=1
"$kv" --states 1500 --seed 45 --disk --torn || status=1
exit $status
