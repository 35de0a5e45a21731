#!/bin/sh
# fuzz.sh -- build the libFuzzer targets with clang and run each for a
# bounded time (make fuzz; CI runs it too).
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   CC_FUZZ        the clang to use (default clang)
#
# Targets: fuzz_server (the RESP parser and command dispatch of
# pkv-server, on a real pool) and fuzz_pool (opening, recovering and
# using damaged pool images).  Seed corpora are tests/fuzz/<target>/; new
# inputs found go to a scratch corpus in the build directory, and a crash
# leaves its input there as crash-*.  Prints one line per target and
# exits 1 if any target crashed, 77 if clang or libFuzzer is missing.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
secs=${FUZZ_SECONDS:-60}
cc=${CC_FUZZ:-clang}
out=$top_builddir/tests/fuzz-build
mkdir -p "$out"
seeds=$(cd "$top_srcdir" && pwd)/tests/fuzz

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz.sh: $cc not found (Debian package clang); skipping"
	exit 77
fi
probe=$out/probe.c
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)
{ (void)d; (void)n; return 0; }' > "$probe"
if ! "$cc" -fsanitize=fuzzer "$probe" -o "$out/probe" 2>/dev/null; then
	echo "fuzz.sh: $cc cannot build libFuzzer targets; skipping"
	exit 77
fi

flags="-std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
 -fno-sanitize-recover=undefined -I$top_srcdir/lib -I$top_srcdir/server
 -I$top_builddir"
libsrc=$(ls "$top_srcdir"/lib/*.c)
srvsrc=$(ls "$top_srcdir"/server/*.c | grep -v -e /main.c -e /net.c)
libs="-lpmem -lpthread -lm"

status=0
build() {  # build NAME SOURCES...
	name=$1
	shift
	# shellcheck disable=SC2086
	if ! "$cc" $flags "$@" $libs -o "$out/$name" 2>"$out/$name.build.log"
	then
		echo "fuzz: $name: build failed (see $out/$name.build.log)"
		status=1
		return 1
	fi
}

run() {  # run NAME
	name=$1
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	log=$out/$name.log
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 PMEM_IS_PMEM_FORCE=1 \
		"./$name" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
		-max_len=4096 -print_final_stats=1 "corpus-$name" \
		"$seeds/$name" >"$name.log" 2>&1)
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz: $name: ${execs:-?} executions in ${secs} s, no crash"
	else
		echo "fuzz: $name: FAILED (exit $rc); see $log"
		grep -m 5 -E 'ERROR|SUMMARY|crash-|Test unit written' "$log"
		status=1
	fi
}

# shellcheck disable=SC2086
build fuzz_server "$top_srcdir/tests/fuzz_server.c" $srvsrc $libsrc &&
	run fuzz_server
# shellcheck disable=SC2086
build fuzz_pool "$top_srcdir/tests/fuzz_pool.c" $libsrc && run fuzz_pool
exit $status
