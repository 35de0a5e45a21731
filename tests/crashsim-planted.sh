#!/bin/sh
# crashsim-planted.sh -- prove the crash simulator can fail: with a bug
# planted in redo.c (the commit fence left out) it must report failures.
# Passes only when it does.
top_builddir=${top_builddir:-.}
sim="$top_builddir/tests/crashsim"
out=$(PKV_PLANTED_BUG=no-commit-fence "$sim" --states 3000 --seed 7 2>&1)
rc=$?
line=$(printf '%s\n' "$out" | grep '^crash-sim: [0-9]* states, [0-9]* failures$')
printf '%s\n' "$line"
if [ -z "$line" ]; then
	printf '%s\n' "$out" | tail -20
	echo "crashsim-planted: no summary line (exit status $rc)"
	exit 1
fi
failures=$(printf '%s\n' "$line" | sed 's/.* \([0-9]*\) failures$/\1/')
if [ "$rc" -ne 0 ] && [ "$failures" -gt 0 ]; then
	echo "crashsim-planted: the planted bug was caught ($failures failures)"
	exit 0
fi
echo "crashsim-planted: the planted bug was NOT caught (exit status $rc)"
exit 1
