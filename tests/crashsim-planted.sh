#!/bin/sh
# crashsim-planted.sh -- prove the crash simulator can fail: for every
# persistence barrier of lib/planted.h (each flush and fence of redo.c,
# tx.c and heap.c that durability depends on, and each rule on when freed
# memory may be reused), run the simulators with it removed and expect a
# failure.  Runs are tried in a fixed order -- the heap workload with a
# few seeds, then the key-value workload, then evicted lines -- until one
# catches the bug (a bug of the disk paths only, disk-*, in the disk
# model's runs alone; one of the engine's integer strings, kv-int-*, in
# the key-value workload alone, with evicted lines: it needs an INCR of
# an integer string made since the last checkpoint, that line evicted;
# and the engine's kv-dbwide-* likewise: only its batches flush), each
# stopping at its first failure.  Prints, per bug,
# which run caught it and after how many crash states.  Passes only when
# every bug is caught.
top_builddir=${top_builddir:-.}
heap="$top_builddir/tests/crashsim"
kv="$top_builddir/tests/crashkv"
STATES=${PLANTED_STATES:-15000}
status=0

bugs=$("$heap" --list-planted) || { echo "crashsim --list-planted failed"; exit 1; }
for bug in $bugs; do
	caught=""
	runs="$heap|--seed 5
$heap|--seed 1
$heap|--seed 4
$kv|--seed 5
$heap|--seed 5 --evict
$kv|--seed 1 --evict
$heap|--seed 2 --torn
$heap|--seed 5 --disk --torn"
	# A barrier of the disk paths only (disk-*) can fail only in the
	# disk model: its runs alone, the engine's first (only it pipelines
	# commits).  One of integer strings (kv-int-*) only where INCR runs,
	# and one of a batch's flushes (kv-dbwide-*) only where batches
	# flush: the engine's workload.
	case $bug in
	disk-*) runs="$kv|--seed 5 --disk
$heap|--seed 5 --disk" ;;
	kv-dbwide-*) runs="$kv|--seed 5
$kv|--seed 1 --evict" ;;
	kv-int-*) runs="$kv|--seed 1 --evict
$kv|--seed 2 --evict" ;;
	esac
	IFS='
'
	for run in $runs; do
		IFS=' 	
'
		prog=${run%%|*}
		mode=${run#*|}
		# shellcheck disable=SC2086
		out=$(PKV_PLANTED_BUG=$bug "$prog" --states "$STATES" \
			--stop-on-failure $mode 2>&1)
		line=$(printf '%s\n' "$out" |
			grep -E '^crash-sim(-kv)?: [0-9]+ states, [0-9]+ failures$')
		failures=$(printf '%s\n' "$line" | sed 's/.* \([0-9]*\) failures$/\1/')
		states=$(printf '%s\n' "$line" | sed 's/^[^ ]* \([0-9]*\) states.*/\1/')
		if [ -n "$failures" ] && [ "$failures" -gt 0 ]; then
			caught="$(basename "$prog") $mode after $states states"
			break
		fi
	done
	if [ -n "$caught" ]; then
		printf '%-22s caught: %s\n' "$bug" "$caught"
	else
		printf '%-22s NOT CAUGHT in %s states of each run\n' "$bug" \
			"$STATES"
		status=1
	fi
done
if [ $status -eq 0 ]; then
	echo "crashsim-planted: every planted bug was caught"
else
	echo "crashsim-planted: some planted bugs were NOT caught"
fi
exit $status
