#!/bin/sh
# fuzz.sh -- build the libFuzzer targets with clang and run each.
#
# Two modes:
#   FUZZ_MODE=ci     (./setup test, so CI) every committed seed input once,
#                    then FUZZ_RUNS (20000) inputs from a fixed seed
#                    (FUZZ_SEED, 1) into a fresh scratch corpus: the same
#                    inputs every run, so the answer does not change from
#                    one run to the next or depend on the machine's speed;
#   FUZZ_MODE=random (make fuzz, the default) FUZZ_SECONDS (60) seconds per
#                    target from a random seed, keeping what it finds in
#                    the scratch corpus: for people hunting bugs.
#   CC_FUZZ          the clang to use (default clang)
#
# Targets: fuzz_server (the RESP parser and command dispatch of
# pkv-server, on a real pool), fuzz_resp (the protocol library's value
# reader, fed whole and in pieces: the same answers) and fuzz_pool
# (opening, recovering and using damaged pool images); then, outside CI
# mode, pkv-server built with AddressSanitizer on FUZZ_DAMAGE_IMAGES
# damaged pools (tests/server-damage.sh).  Seed corpora are tests/fuzz/<target>/; new
# inputs found go to a scratch corpus in the build directory, and a crash
# leaves its input there as crash-*.  Prints one line per target and
# exits 1 if any target crashed, 77 if clang or libFuzzer is missing.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
secs=${FUZZ_SECONDS:-60}
mode=${FUZZ_MODE:-random}
runs=${FUZZ_RUNS:-20000}
seed=${FUZZ_SEED:-1}
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
# The engine compiles lib/proto/num.c too (Makefile.am): it is in libsrc,
# and numsrc goes with protosrc where libsrc does not.
numsrc="$top_srcdir/lib/proto/num.c"
libsrc="$(ls "$top_srcdir"/lib/*.c) $numsrc"
srvsrc=$(ls "$top_srcdir"/server/*.c | grep -v -e /main.c -e /net.c)
protosrc=$(ls "$top_srcdir"/lib/proto/*.c | grep -v /num.c)
libs="-lpmem -lpthread -lm -Wl,--wrap=getrandom,--wrap=clock_gettime,--wrap=time"
# getrandom (pool UUIDs, hash keys) and the clocks are replaced in the
# targets by a fixed stream and a clock that ticks per call, so the same
# input takes the same path every run (tests/fuzz_det.h).

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
	log=$out/$name.log
	if [ "$mode" = ci ]; then
		# A fresh scratch corpus, so earlier runs cannot change this one.
		rm -rf "$corpus"
		mkdir -p "$corpus"
		what="the seed corpus, then $runs inputs from seed $seed"
		# Addresses would reach libFuzzer's comparison tracing and
		# steer it differently each run: no comparison feedback, and
		# no address randomization.
		set -- -seed="$seed" -runs="$runs" -use_cmp=0
		if setarch "$(uname -m)" -R true 2>/dev/null; then
			set -- setarch "$(uname -m)" -R "./$name" "$@"
		else
			set -- "./$name" "$@"
		fi
	else
		mkdir -p "$corpus"
		what="${secs} s"
		set -- "./$name" -max_total_time="$secs"
	fi
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 PMEM_IS_PMEM_FORCE=1 \
		"$@" -timeout=60 -rss_limit_mb=4096 \
		-max_len=4096 -print_final_stats=1 "corpus-$name" \
		"$seeds/$name" >"$name.log" 2>&1)
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz: $name: ${execs:-?} executions ($what), no crash"
	else
		echo "fuzz: $name: FAILED (exit $rc); see $log"
		grep -m 5 -E 'ERROR|SUMMARY|crash-|Test unit written' "$log"
		status=1
	fi
}

# shellcheck disable=SC2086
build fuzz_server "$top_srcdir/tests/fuzz_server.c" $srvsrc $protosrc $libsrc &&
	run fuzz_server
# shellcheck disable=SC2086
build fuzz_resp "$top_srcdir/tests/fuzz_resp.c" $protosrc $numsrc &&
	run fuzz_resp
# shellcheck disable=SC2086
build fuzz_pool "$top_srcdir/tests/fuzz_pool.c" $libsrc && run fuzz_pool

# Damaged pools against the whole server, built with AddressSanitizer:
# FUZZ_DAMAGE_IMAGES (1000) images in random mode.  (CI mode leaves it to
# make check's 24 images, which ./setup test also runs in its sanitizer
# build.)
if [ "$mode" != ci ]; then
	srvall=$(ls "$top_srcdir"/server/*.c)
	sflags=$(echo "$flags" | sed 's/-fsanitize=fuzzer,/-fsanitize=/')
	# shellcheck disable=SC2086
	if "$cc" $sflags $srvall $protosrc $libsrc -lpmem -lpthread -lm \
		-o "$out/pkv-server-asan" 2>"$out/pkv-server-asan.build.log"
	then
		n=${FUZZ_DAMAGE_IMAGES:-1000}
		if PKV_SERVER=$out/pkv-server-asan DAMAGE_IMAGES=$n SRV_TIMEOUT=36000 \
			DAMAGE_SEED=${FUZZ_DAMAGE_SEED:-$$} \
			ASAN_OPTIONS=detect_leaks=0 \
			"$top_srcdir/tests/server-damage.sh" \
			>"$out/server-damage.log" 2>&1; then
			echo "fuzz: server on damaged pools: $(grep -o \
				'[0-9]* damaged images.*' "$out/server-damage.log")"
		else
			echo "fuzz: server on damaged pools: FAILED; see" \
			     "$out/server-damage.log"
			status=1
		fi
	else
		echo "fuzz: pkv-server-asan: build failed (see" \
		     "$out/pkv-server-asan.build.log)"
		status=1
	fi
fi
exit $status
