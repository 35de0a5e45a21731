# cli-lib.sh -- helpers for the tests of the pkv tool, sourced by them:
#
#     . "$top_srcdir/tests/cli-lib.sh"
#     cli_setup NAME         scratch dir $TMP (tests/tmp/NAME.XXXXXX of the
#                            current directory), traps; exit 77 if the tool
#                            is not built; sets PKV, OUT, ERR
#     run ARGS               pkv ARGS, stdout to $OUT, stderr to $ERR; $rc
#     runin FILE ARGS        the same with stdin from FILE
#     ok TEXT / bad TEXT     report a check (bad shows $OUT and $ERR)
#     expect TEXT RC [GREP [FILE]]
#                            ok if $rc is RC and FILE ($OUT) matches GREP
#     json_valid FILE        0 if python3 parses FILE as JSON (or no python3)
#     json_num FILE FIELD    the number after "FIELD": in FILE
#     fsum FILE              a checksum of FILE
#     peek FILE OFF          byte OFF of FILE, in decimal
#     poke FILE OFF BYTE     write byte BYTE (decimal) at OFF, in place
#     cli_finish             summary; exit 0 or 1
#
# Pools are ordinary files in the build tree.  The tests never cut the
# power, only kill processes, and for that the page cache is durable
# enough: they run with PKV_PERSIST=pmem (cache flushes, as on emulated
# persistent memory) unless PKV_PERSIST says otherwise; cli-file.sh runs
# cli.sh again with PKV_PERSIST=file, the backend of a pool on a disk.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
PKV=${PKV:-$top_builddir/cli/pkv}
failures=0
checks=0

cli_setup() {
	if [ ! -x "$PKV" ]; then
		echo "$1: $PKV not built; skipping"
		exit 77
	fi
	# Write only under the build directory (make distcheck checks it).
	mkdir -p tests/tmp || exit 99
	TMP=$(mktemp -d "$PWD/tests/tmp/$1.XXXXXX") || exit 99
	# tests/tmp stays (a test running beside this one may be about to
	# make its directory in it); make clean removes it.
	trap 'cli_cleanup; rm -rf "$TMP"' EXIT
	trap 'exit 1' HUP INT TERM
	OUT=$TMP/out
	ERR=$TMP/err
	PKV_PERSIST=${PKV_PERSIST:-pmem}
	export PKV_PERSIST
	CLI_NAME=$1
}

# cli_cleanup -- a script may redefine it (to stop its servers).
cli_cleanup() { :; }

ok() { checks=$((checks + 1)); echo "ok:   $*"; }
bad() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
	[ -s "$OUT" ] && head -c 2000 "$OUT" | sed 's/^/    stdout: /'
	[ -s "$ERR" ] && head -c 2000 "$ERR" | sed 's/^/    stderr: /'
}

run() {
	"$PKV" "$@" >"$OUT" 2>"$ERR"
	rc=$?
}

runin() {
	_in=$1
	shift
	"$PKV" "$@" <"$_in" >"$OUT" 2>"$ERR"
	rc=$?
}

# expect TEXT RC [PATTERN [FILE]] -- exit status RC and, if given, an
# extended regular expression PATTERN found in FILE (default $OUT).
expect() {
	_t=$1 _rc=$2 _pat=$3 _f=${4:-$OUT}
	if [ "$rc" -ne "$_rc" ]; then
		bad "$_t (exit $rc, expected $_rc)"
	elif [ -n "$_pat" ] && ! grep -Eq -- "$_pat" "$_f"; then
		bad "$_t (no match for /$_pat/)"
	else
		ok "$_t"
	fi
}

json_valid() {
	command -v python3 >/dev/null 2>&1 || return 0
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" \
		2>/dev/null
}

json_num() {
	sed -n "s/.*\"$2\": *\\(-\\{0,1\\}[0-9][0-9.]*\\).*/\\1/p" "$1" | head -n 1
}

fsum() { cksum <"$1"; }

peek() { od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' \n'; }

poke() {
	printf "\\$(printf %o "$3")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

cli_finish() {
	if [ $failures -ne 0 ]; then
		echo "$CLI_NAME: $failures of $checks checks failed"
		exit 1
	fi
	echo "$CLI_NAME: all $checks checks passed"
	exit 0
}
