#!/bin/sh
# cli.sh -- tests of the pkv tool: create, info, check, and refusal of
# files that are not pools or are truncated.  An automake test: exit 0 on
# success, 1 on failure, 77 to skip.  Writes only under a temporary
# directory in the build tree, removed at the end.

top_builddir=${top_builddir:-.}
PKV=$top_builddir/cli/pkv

if [ ! -x "$PKV" ]; then
	echo "cli.sh: $PKV not built; skipping"
	exit 77
fi

# Write only under the build directory (make distcheck checks this), in
# tests/tmp/, which .gitignore covers should a run be killed mid-way.
mkdir -p tests/tmp || exit 99
TMP=$(mktemp -d "$PWD/tests/tmp/cli.XXXXXX") || exit 99
trap 'rm -rf "$TMP"; rmdir tests/tmp 2>/dev/null' EXIT
trap 'exit 1' HUP INT TERM

# Pools in a test directory are ordinary files: the file backend is
# correct there, and forcing pmem would not be (unless it is /dev/shm).
export PKV_PERSIST=file

failures=0
OUT=$TMP/out
ERR=$TMP/err

# ok TEXT -- report a passed check.
ok() { echo "ok:   $*"; }
# bad TEXT -- report a failed check, with the tool's output.
bad() {
	echo "FAIL: $*"
	[ -s "$OUT" ] && sed 's/^/    stdout: /' "$OUT"
	[ -s "$ERR" ] && sed 's/^/    stderr: /' "$ERR"
	failures=$((failures + 1))
}
# run ARGS -- run pkv with output captured; sets rc.
run() {
	"$PKV" "$@" >"$OUT" 2>"$ERR"
	rc=$?
}

POOL=$TMP/a.pool

# --- create ----------------------------------------------------------------
run create "$POOL" --size 16M
if [ $rc -eq 0 ] && [ -f "$POOL" ]; then
	ok "create $POOL --size 16M"
else
	bad "create $POOL --size 16M (exit $rc)"
fi

size=$(wc -c <"$POOL" 2>/dev/null | tr -d ' ')
if [ "$size" = 16777216 ]; then
	ok "--size 16M gives a file of 16777216 bytes"
else
	bad "--size 16M gives a file of 16777216 bytes (got '$size')"
fi

run create "$POOL" --size 16M
if [ $rc -eq 1 ] && grep -q "exists" "$ERR"; then
	ok "create on an existing file fails (exit $rc)"
else
	bad "create on an existing file fails (exit $rc)"
fi

run create "$TMP/b.pool" --size 8192K
if [ $rc -eq 0 ] && [ "$(wc -c <"$TMP/b.pool" | tr -d ' ')" = 8388608 ]; then
	ok "--size 8192K parsed as 8388608 bytes"
else
	bad "--size 8192K parsed as 8388608 bytes (exit $rc)"
fi

# --- info ------------------------------------------------------------------
run info "$POOL"
if [ $rc -eq 0 ] && grep -q '16777216' "$OUT" &&
   grep -q '^shutdown: *clean$' "$OUT"; then
	ok "info shows the pool size and a clean shutdown"
else
	bad "info shows the pool size and a clean shutdown (exit $rc)"
fi

run info "$POOL" --json
if [ $rc -eq 0 ] && grep -q '"pool_size": 16777216' "$OUT" &&
   grep -q '"clean_shutdown": true' "$OUT"; then
	ok "info --json shows pool_size and clean_shutdown"
else
	bad "info --json shows pool_size and clean_shutdown (exit $rc)"
fi

# --- check -----------------------------------------------------------------
run check "$POOL"
if [ $rc -eq 0 ] && grep -q ': ok$' "$OUT"; then
	ok "check says ok"
else
	bad "check says ok (exit $rc)"
fi

# --- a file that is not a pool ---------------------------------------------
RAND=$TMP/random.bin
dd if=/dev/urandom of="$RAND" bs=1M count=1 2>/dev/null || exit 99
cp "$RAND" "$TMP/random.orig"
for cmd in info check; do
	run $cmd "$RAND"
	if [ $rc -eq 1 ] && grep -q 'not a pkv pool' "$ERR"; then
		ok "$cmd on random bytes fails with 'not a pkv pool'"
	else
		bad "$cmd on random bytes fails with 'not a pkv pool' (exit $rc)"
	fi
done
if cmp -s "$RAND" "$TMP/random.orig"; then
	ok "the refused file is unchanged"
else
	bad "the refused file is unchanged"
fi

# --- a truncated pool ------------------------------------------------------
TRUNC=$TMP/trunc.pool
cp "$POOL" "$TRUNC" || exit 99
truncate -s 8M "$TRUNC" || exit 99
for cmd in info check; do
	run $cmd "$TRUNC"
	if [ $rc -eq 1 ] && grep -qi 'truncat' "$ERR"; then
		ok "$cmd on a pool truncated to half fails mentioning truncation"
	else
		bad "$cmd on a pool truncated to half fails mentioning truncation (exit $rc)"
	fi
done

# --- usage errors ----------------------------------------------------------
for args in "" "frobnicate" "create" "create $TMP/c.pool" \
	    "create $TMP/c.pool --size 12X" "create $TMP/c.pool --size" \
	    "info" "info $POOL --bogus" "check $POOL extra"; do
	# shellcheck disable=SC2086
	run $args
	if [ $rc -eq 2 ]; then
		ok "usage error exits 2: pkv $args"
	else
		bad "usage error exits 2: pkv $args (exit $rc)"
	fi
done
if [ -e "$TMP/c.pool" ]; then
	bad "a usage error creates no file"
else
	ok "a usage error creates no file"
fi

run --version
if [ $rc -eq 0 ] && grep -q '^pkv [0-9]' "$OUT"; then
	ok "--version prints the version"
else
	bad "--version prints the version (exit $rc)"
fi

run --help
if [ $rc -eq 0 ] && grep -q 'create' "$OUT"; then
	ok "--help prints usage"
else
	bad "--help prints usage (exit $rc)"
fi

if [ $failures -ne 0 ]; then
	echo "cli.sh: $failures check(s) failed"
	exit 1
fi
echo "cli.sh: all checks passed"
exit 0
