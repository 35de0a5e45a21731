#!/bin/sh
# example.sh -- run the example program of pkv(3) twice on one pool: it
# must work, and the second run must find the first run's data.
top_builddir=${top_builddir:-.}
pool="tests/tmp/example-$$.pool"
mkdir -p tests/tmp
rm -f "$pool"
out1=$("$top_builddir/tests/example" "$pool") || { echo "first run failed"; exit 1; }
out2=$("$top_builddir/tests/example" "$pool") || { echo "second run failed"; exit 1; }
rm -f "$pool"
echo "$out1"
echo "$out2"
echo "$out1" | grep -q '^run 1$' || { echo "first run is not run 1"; exit 1; }
echo "$out2" | grep -q '^run 2$' || { echo "second run did not see the first"; exit 1; }
echo "$out2" | grep -q 'greeting = hello again' || { echo "batch not applied"; exit 1; }
echo "$out2" | grep -q 'session' && { echo "batch delete not applied"; exit 1; }
exit 0
