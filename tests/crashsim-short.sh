#!/bin/sh
# crashsim-short.sh -- a short crash simulation for `make check`:
# 6000 crash states of whole lines, then 2000 with torn lines, of the
# heap; then 3000 of the key-value engine.
# Fails if the simulator reports any failure.
top_builddir=${top_builddir:-.}
sim="$top_builddir/tests/crashsim"
status=0
"$sim" --states 6000 --seed 42 || status=1
"$sim" --states 2000 --seed 43 --torn || status=1
kv="$top_builddir/tests/crashkv"
"$kv" --states 3000 --seed 42 || status=1
exit $status
