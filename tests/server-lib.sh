# server-lib.sh -- helpers for the pkv-server tests, sourced by them:
#
#     . "$top_srcdir/tests/server-lib.sh"
#     srv_setup NAME           scratch dir $TMP, traps; exit 77 if no server
#     srv_start S POOL [--option value ...]
#                              start server S on a free port; sets S_port,
#                              S_pid, S_tpid, and SRV_PORT, SRV_START_MS;
#                              with SRV_CONF=FILE, FILE is its config file
#     srv_stop S               SHUTDOWN-like stop (SIGTERM); 0 if it exited 0
#     srv_kill9 S              kill -9 the server
#     srv_alive S              whether the server process is still running
#     srv_ping PORT            whether PING answers PONG (redis-cli, or python)
#     srv_test_py NAME         the path of tests/NAME (a Python test script)
#     srv_need_python TEST     PY=python3, or skip TEST (exit 77)
#     srv_start_failwrite S POOL
#                              srv_start with tests/libfailwrite.so
#                              preloaded (skip if not the file backend)
#     srv_pkv_check POOL WHAT  `pkv check` of POOL, reported as WHAT
#     ok TEXT / bad TEXT       report a check; bad counts $failures
#     srv_finish               print the summary; exit 0 or 1
#
# Every server runs under `timeout`, so none outlives a test that is killed
# (even by SIGKILL); the EXIT trap stops those still running.  Scratch
# files go under tests/tmp/ of the current (build) directory only.
#
# The server binary is $top_builddir/server/pkv-server; PKV_SERVER
# overrides it.  A server started with --requirepass needs SRV_AUTH set to
# the password (for the readiness PING).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
PKV_SERVER=${PKV_SERVER:-$top_builddir/server/pkv-server}
SRV_TIMEOUT=${SRV_TIMEOUT:-300}     # seconds any one server may live
SRV_NAMES=
failures=0
checks=0

# now_ms -- a clock in milliseconds (GNU date; else whole seconds).
now_ms() {
	_t=$(date +%s%N 2>/dev/null)
	case $_t in
	*N|'') echo $(( $(date +%s) * 1000 )) ;;
	*) echo $(( _t / 1000000 )) ;;
	esac
}

# nap -- a short sleep (fractions where sleep takes them).
nap() { sleep "${1:-0.02}" 2>/dev/null || sleep 1; }

ok() { checks=$((checks + 1)); echo "ok:   $*"; }
bad() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*"
}

# srv_python -- a python3 interpreter (the Debian one first), or empty.
srv_python() {
	if [ -x /usr/bin/python3 ]; then
		echo /usr/bin/python3
	elif command -v python3 >/dev/null 2>&1; then
		command -v python3
	fi
}

# srv_need_python TEST -- PY is a python3; without one, TEST is skipped
# (exit 77).
srv_need_python() {
	PY=$(srv_python)
	if [ -z "$PY" ]; then
		echo "$1: python3 not found; skipping"
		exit 77
	fi
}

# srv_need_redis_py NAME -- srv_need_python, and redis-py (Debian's
# python3-redis) importable by it, or the test NAME is skipped.
srv_need_redis_py() {
	srv_need_python "$1"
	if ! "$PY" -c 'import redis' 2>/dev/null; then
		echo "$1: $PY cannot import redis (python3-redis); skipping"
		exit 77
	fi
}

# srv_test_py NAME -- tests/NAME in the source tree (or beside this test).
srv_test_py() {
	if [ -f "$top_srcdir/tests/$1" ]; then
		echo "$top_srcdir/tests/$1"
	else
		echo "$(dirname "$0")/$1"
	fi
}

# srv_setup NAME -- scratch directory and traps.
srv_setup() {
	SRV_TEST=$1
	if [ ! -x "$PKV_SERVER" ]; then
		echo "$1: $PKV_SERVER not built; skipping"
		exit 77
	fi
	SRV_TIMEOUT_CMD=
	if command -v timeout >/dev/null 2>&1; then
		SRV_TIMEOUT_CMD="timeout -k 5 $SRV_TIMEOUT"
	fi
	mkdir -p tests/tmp || exit 99
	TMP=$(mktemp -d "$PWD/tests/tmp/$1.XXXXXX") || exit 99
	# tests/tmp stays (a test running beside this one may be about to
	# make its directory in it); make clean removes it.
	trap 'srv_cleanup; rm -rf "$TMP"' EXIT
	trap 'exit 1' HUP INT TERM
	# A port range of our own: from the pid, so parallel tests differ.
	SRV_NEXT_PORT=$((20000 + ($$ * 37) % 30000))
}

# srv_ping PORT -- 0 if the server on PORT answers PONG.
srv_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		if [ -n "$SRV_AUTH" ]; then
			REDISCLI_AUTH=$SRV_AUTH redis-cli -p "$1" ping 2>/dev/null
		else
			redis-cli -p "$1" ping 2>/dev/null
		fi | grep -q '^PONG$'
		return $?
	fi
	"$(srv_python)" - "$1" "$SRV_AUTH" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.settimeout(2)
msg = b""
if sys.argv[2]:
    msg += b"AUTH " + sys.argv[2].encode() + b"\r\n"
s.sendall(msg + b"PING\r\n")
data = b""
while b"PONG" not in data:
    chunk = s.recv(256)
    if not chunk:
        break
    data += chunk
sys.exit(0 if b"+PONG\r\n" in data else 1)
EOF
}

# srv_get S FIELD -- the value of S_FIELD.
srv_get() { eval "echo \"\${$1_$2}\""; }

# srv_start S POOL [options] -- start (or restart) server S.  Retries
# other ports if the one tried is taken.  Returns 1 if it did not come up.
srv_start() {
	_s=$1 _pool=$2
	shift 2
	case " $SRV_NAMES " in
	*" $_s "*) ;;
	*) SRV_NAMES="$SRV_NAMES $_s" ;;
	esac
	_log=$TMP/$_s.log _pidf=$TMP/$_s.pid
	_try=0
	while [ $_try -lt 20 ]; do
		_try=$((_try + 1))
		_port=$SRV_NEXT_PORT
		SRV_NEXT_PORT=$((SRV_NEXT_PORT + 1))
		[ $SRV_NEXT_PORT -gt 60000 ] && SRV_NEXT_PORT=20000
		rm -f "$_pidf"
		echo "=== start $(date '+%H:%M:%S') port $_port" >>"$_log"
		_t0=$(now_ms)
		$SRV_TIMEOUT_CMD "$PKV_SERVER" ${SRV_CONF:+"$SRV_CONF"} \
			--port "$_port" \
			--bind 127.0.0.1 --pool "$_pool" --pool-size 64mb \
			--pidfile "$_pidf" --logfile "$_log" "$@" \
			</dev/null >>"$_log" 2>&1 &
		_tpid=$!
		eval "${_s}_tpid=$_tpid"
		# The pid file is written once the port is bound.
		_n=0
		while [ ! -s "$_pidf" ] && kill -0 $_tpid 2>/dev/null &&
		      [ $_n -lt 1500 ]; do
			nap 0.01
			_n=$((_n + 1))
		done
		if [ ! -s "$_pidf" ]; then
			if kill -0 $_tpid 2>/dev/null; then
				echo "srv_start $_s: no pid file after 15 s"
				kill -9 $_tpid 2>/dev/null
				wait $_tpid 2>/dev/null
				return 1
			fi
			wait $_tpid 2>/dev/null
			if grep -q "listening socket" "$_log"; then
				continue     # port taken: the next one
			fi
			echo "srv_start $_s: the server exited:"
			tail -n 5 "$_log" | sed 's/^/    /'
			return 1
		fi
		_pid=$(cat "$_pidf")
		_n=0
		until srv_ping $_port; do
			_n=$((_n + 1))
			if [ $_n -gt 1000 ] || ! kill -0 "$_pid" 2>/dev/null; then
				echo "srv_start $_s: no PONG on port $_port"
				tail -n 5 "$_log" | sed 's/^/    /'
				return 1
			fi
			nap 0.01
		done
		SRV_START_MS=$(( $(now_ms) - _t0 ))
		SRV_PORT=$_port
		eval "${_s}_port=$_port ${_s}_pid=$_pid ${_s}_pool=\"\$_pool\""
		return 0
	done
	echo "srv_start $_s: no free port found"
	return 1
}

# srv_start_failwrite S POOL -- start server S on POOL with
# tests/libfailwrite.so preloaded (what it fails: the FAILWRITE_* the
# caller exported), and only it: the tools run later do not get the
# shim.  Skips the test (exit 77) without the shim or when the pool is
# not on the file backend; ends it (srv_finish) if the server does not
# start.
srv_start_failwrite() {
	_shim=$top_builddir/tests/.libs/libfailwrite.so
	if [ ! -f "$_shim" ]; then
		echo "$SRV_TEST.sh: $_shim not built; skipping"
		exit 77
	fi
	LD_PRELOAD=$(cd "$(dirname "$_shim")" && pwd)/libfailwrite.so
	# (in a sanitizer build the shim comes before ASan's runtime in
	# the list of libraries, which ASan would otherwise refuse)
	_asan=${ASAN_OPTIONS-}
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
	export LD_PRELOAD ASAN_OPTIONS
	srv_start "$1" "$2"
	_up=$?
	unset LD_PRELOAD
	ASAN_OPTIONS=$_asan
	[ $_up -eq 0 ] || { bad "the server starts"; srv_finish; }
	if ! grep -q 'Persistence: file backend' "$TMP/$1.log"; then
		echo "$SRV_TEST.sh: the pool is not on the file backend here" \
		     "($(grep -o 'Persistence: [a-z]* backend' "$TMP/$1.log" |
			 head -1)); skipping"
		srv_kill9 "$1"
		exit 77
	fi
}

# srv_pkv_check POOL WHAT -- `pkv check` of a pool no server holds,
# reported as WHAT: exit 0 (clean) or 3 (only reclaimable garbage)
# passes, anything else fails with the start of its output.  Its exit
# status to SRV_PKV_RC (empty: no pkv tool built, nothing checked), its
# output to $TMP/check.out.
srv_pkv_check() {
	SRV_PKV_RC=
	[ -x "$top_builddir/cli/pkv" ] || return 0
	"$top_builddir/cli/pkv" check "$1" >"$TMP/check.out" 2>&1
	SRV_PKV_RC=$?
	case $SRV_PKV_RC in
	0) ok "$2: clean (exit 0)" ;;
	3) ok "$2: only reclaimable garbage (exit 3)" ;;
	*) bad "$2: exit $SRV_PKV_RC"
	   head -n 30 "$TMP/check.out" | sed 's/^/      /' ;;
	esac
}

# srv_alive S -- whether the server process runs.
srv_alive() {
	_pid=$(srv_get "$1" pid)
	[ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null
}

# srv_wait S -- reap the server's timeout wrapper; its status in srv_rc.
srv_wait() {
	_tpid=$(srv_get "$1" tpid)
	srv_rc=0
	[ -n "$_tpid" ] && { wait "$_tpid" 2>/dev/null; srv_rc=$?; }
	eval "$1_pid= $1_tpid="
}

# srv_stop S -- SIGTERM (a clean shutdown), 10 s grace, then SIGKILL.
# Returns 0 if the server exited with status 0.
srv_stop() {
	_pid=$(srv_get "$1" pid)
	[ -z "$_pid" ] && return 0
	kill -TERM "$_pid" 2>/dev/null
	_n=0
	while kill -0 "$_pid" 2>/dev/null && [ $_n -lt 500 ]; do
		nap 0.02
		_n=$((_n + 1))
	done
	if kill -0 "$_pid" 2>/dev/null; then
		echo "srv_stop $1: still running 10 s after SIGTERM; SIGKILL"
		kill -9 "$_pid" 2>/dev/null
	fi
	srv_wait "$1"
	return $srv_rc
}

# srv_wait_exit S -- wait (10 s) for a server told to stop otherwise.
srv_wait_exit() {
	_pid=$(srv_get "$1" pid)
	[ -z "$_pid" ] && return 0
	_n=0
	while kill -0 "$_pid" 2>/dev/null && [ $_n -lt 500 ]; do
		nap 0.02
		_n=$((_n + 1))
	done
	kill -0 "$_pid" 2>/dev/null && return 1
	srv_wait "$1"
	return $srv_rc
}

# srv_kill9 S -- SIGKILL, as a crash.
srv_kill9() {
	_pid=$(srv_get "$1" pid)
	[ -n "$_pid" ] && kill -9 "$_pid" 2>/dev/null
	srv_wait "$1"
}

# srv_log_tail S [N] -- the end of a server's log, indented.
srv_log_tail() {
	[ -f "$TMP/$1.log" ] && tail -n "${2:-15}" "$TMP/$1.log" |
		sed "s/^/    $1.log: /"
}

# srv_cleanup -- stop every server still running (the EXIT trap).
srv_cleanup() {
	for _s in $SRV_NAMES; do
		if srv_alive "$_s"; then
			kill -TERM "$(srv_get "$_s" pid)" 2>/dev/null
		fi
	done
	for _s in $SRV_NAMES; do
		_pid=$(srv_get "$_s" pid)
		_n=0
		while [ -n "$_pid" ] && kill -0 "$_pid" 2>/dev/null &&
		      [ $_n -lt 250 ]; do
			nap 0.02
			_n=$((_n + 1))
		done
		[ -n "$_pid" ] && kill -9 "$_pid" 2>/dev/null
		_tpid=$(srv_get "$_s" tpid)
		[ -n "$_tpid" ] && kill -9 "$_tpid" 2>/dev/null
	done
}

# srv_finish -- summary and exit status.
srv_finish() {
	if [ $failures -ne 0 ]; then
		for _s in $SRV_NAMES; do
			srv_log_tail "$_s"
		done
		echo "$failures of $checks checks FAILED"
		exit 1
	fi
	echo "all $checks checks passed"
	exit 0
}
