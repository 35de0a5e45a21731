#!/bin/bash
# server-cli.sh -- pkv-server driven by redis-cli and by raw bytes on a
# socket: PING, SET/GET, binary values, MULTI/EXEC, INFO, SELECT, DBSIZE,
# protocol errors (the connection is closed, the server goes on), unknown
# commands, AUTH (--requirepass), HTTP requests, --maxclients,
# --proto-max-bulk-len, data kept across a restart, and redis-benchmark.
# An automake test: exit 0 on success, 1 on failure, 77 to skip (no
# server binary, no redis-cli).  Needs bash for /dev/tcp: run by sh, it
# runs itself again under bash.
if [ -z "$BASH_VERSION" ]; then
	command -v bash >/dev/null 2>&1 && exec bash "$0" "$@"
	echo "server-cli.sh: needs bash (for /dev/tcp); skipping"
	exit 77
fi

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

if ! command -v redis-cli >/dev/null 2>&1; then
	echo "server-cli.sh: redis-cli not found; skipping"
	exit 77
fi
srv_setup server-cli

# cli PORT ARGS -- redis-cli's output (errors included).
cli() {
	_p=$1
	shift
	redis-cli -p "$_p" "$@" 2>&1
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1"
		echo "    expected: $(printf '%s' "$2" | head -c 300 | cat -A)"
		echo "    actual:   $(printf '%s' "$3" | head -c 300 | cat -A)"
	fi
}

# raw PORT FORMAT OUT -- send printf FORMAT's bytes on a new connection and
# save everything received until the server closes it (5 s at most).
# Returns 124 if the server did not close the connection, 2 if it could
# not connect, else (0; 1 if it was reset) it was closed.
raw() {
	(
		trap '' PIPE
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 2
		printf -- "$2" >&3 2>/dev/null
		timeout 5 cat <&3 >"$3" 2>/dev/null
	)
}

# expect_raw NAME PORT SEND EXPECT [open] -- the exact reply bytes; the
# server must close the connection after them (unless "open", where the
# test sends QUIT itself and the reply ends in +OK).
expect_raw() {
	raw "$2" "$3" "$TMP/raw.out"
	_rc=$?
	printf -- "$4" >"$TMP/raw.exp"
	if ! cmp -s "$TMP/raw.exp" "$TMP/raw.out"; then
		bad "$1: reply"
		echo "    sent:     $(printf -- "$3" | head -c 200 | cat -A)"
		echo "    expected: $(head -c 300 "$TMP/raw.exp" | cat -A)"
		echo "    actual:   $(head -c 300 "$TMP/raw.out" | cat -A)"
	elif [ $_rc -eq 124 ] || [ $_rc -eq 2 ]; then
		bad "$1: the server did not close the connection (rc $_rc)"
	else
		ok "$1"
	fi
}

# ======================================================================
# Server A: the plain server.
# ======================================================================
POOL_A=$TMP/a.pool
srv_start A "$POOL_A" || { bad "server A starts"; srv_finish; }
PA=$A_port
ok "server A up on port $PA in $SRV_START_MS ms"

# --- PING, SET, GET ----------------------------------------------------
check "PING" "PONG" "$(cli $PA ping)"
check "PING message" "hello world" "$(cli $PA ping 'hello world')"
check "ECHO" "x y" "$(cli $PA echo 'x y')"
check "SET foo bar" "OK" "$(cli $PA set foo bar)"
check "GET foo" "bar" "$(cli $PA get foo)"
check "GET of a missing key is nil" "" "$(cli $PA get nosuchkey)"
check "SET foo again" "OK" "$(cli $PA set foo 'bar 2')"
check "GET foo after overwrite" "bar 2" "$(cli $PA get foo)"
check "DEL foo" "1" "$(cli $PA del foo)"
check "GET foo after DEL" "" "$(cli $PA get foo)"

# --- binary-safe values through redis-cli -x -----------------------------
printf 'a\000b\r\n\377\001end' >"$TMP/bin1"
check "SET binary value with -x" "OK" "$(cli $PA -x set bin1 <"$TMP/bin1")"
check "STRLEN of the binary value" "10" "$(cli $PA strlen bin1)"
{ cat "$TMP/bin1"; printf '\n'; } >"$TMP/bin1.exp"
cli $PA get bin1 >"$TMP/bin1.got"
if cmp -s "$TMP/bin1.exp" "$TMP/bin1.got"; then
	ok "GET returns the binary value byte for byte"
else
	bad "GET returns the binary value byte for byte"
	od -c "$TMP/bin1.got" | head -5 | sed 's/^/    /'
fi
head -c 200000 /dev/urandom >"$TMP/bin2"
check "SET a 200 kB random value with -x" "OK" \
	"$(cli $PA -x set bin2 <"$TMP/bin2")"
{ cat "$TMP/bin2"; printf '\n'; } >"$TMP/bin2.exp"
cli $PA get bin2 >"$TMP/bin2.got"
if cmp -s "$TMP/bin2.exp" "$TMP/bin2.got"; then
	ok "GET returns the 200 kB random value byte for byte"
else
	bad "GET returns the 200 kB random value byte for byte" \
	    "($(wc -c <"$TMP/bin2.got") bytes back)"
fi

# --- MULTI/EXEC through a pipe -------------------------------------------
out=$(printf 'MULTI\nSET t1 1\nINCR t1\nGET t1\nEXEC\n' | cli $PA)
check "MULTI/EXEC through a pipe" \
	"$(printf 'OK\nQUEUED\nQUEUED\nQUEUED\nOK\n2\n2')" "$out"
out=$(printf 'MULTI\nSET t2 1\nDISCARD\nEXISTS t2\n' | cli $PA)
check "MULTI/DISCARD" "$(printf 'OK\nQUEUED\nOK\n0')" "$out"
expect_raw "EXEC after an unknown command in MULTI: EXECABORT" $PA \
	'MULTI\r\nSET t3 1\r\nNOSUCHCMD\r\nEXEC\r\nEXISTS t3\r\nQUIT\r\n' \
	"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCHCMD', with args beginning with: \r\n-EXECABORT Transaction discarded because of previous errors.\r\n:0\r\n+OK\r\n"
expect_raw "EXEC without MULTI, nested MULTI" $PA \
	'EXEC\r\nMULTI\r\nMULTI\r\nDISCARD\r\nQUIT\r\n' \
	'-ERR EXEC without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n+OK\r\n+OK\r\n'

# --- SELECT, DBSIZE, INFO ------------------------------------------------
cli $PA flushall >/dev/null
for i in 1 2 3 4 5; do cli $PA set "k$i" "v$i" >/dev/null; done
check "DBSIZE after 5 SETs" "5" "$(cli $PA dbsize)"
out=$(printf 'SELECT 3\nSET k3 in-db3\nDBSIZE\nSELECT 0\nGET k3\n' | cli $PA)
check "SELECT 3 in a pipe" "$(printf 'OK\nOK\n1\nOK\nv3')" "$out"
check "redis-cli -n 3 GET k3" "in-db3" "$(cli $PA -n 3 get k3)"
check "DBSIZE of db 0 unchanged" "5" "$(cli $PA dbsize)"
check "SELECT 16 is out of range" "ERR DB index is out of range" \
	"$(printf 'SELECT 16\n' | cli $PA)"
check "SELECT x is not an integer" \
	"ERR value is not an integer or out of range" \
	"$(printf 'SELECT x\n' | cli $PA)"
info=$(cli $PA info | tr -d '\r')
for want in '# Server' 'redis_version:' '# Clients' '# Keyspace' '# Pkv' \
	    'pool_size:67108864' 'db0:keys=5,expires=0' 'db3:keys=1,expires=0'; do
	if printf '%s\n' "$info" | grep -q "^$want"; then
		ok "INFO has '$want'"
	else
		bad "INFO has '$want'"
	fi
done
info=$(cli $PA info keyspace | tr -d '\r')
check "INFO keyspace" "$(printf '# Keyspace\ndb0:keys=5,expires=0,avg_ttl=0\ndb3:keys=1,expires=0,avg_ttl=0')" "$info"
info=$(cli $PA info pkv | tr -d '\r')
if printf '%s\n' "$info" | head -1 | grep -q '^# Pkv$' &&
   ! printf '%s\n' "$info" | grep -q '^# Server'; then
	ok "INFO pkv gives the Pkv section only"
else
	bad "INFO pkv gives the Pkv section only"
fi

# --- errors ----------------------------------------------------------------
check "unknown command" \
	"ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b c' " \
	"$(cli $PA nosuchcmd a 'b c')"
check "GET with no argument" \
	"ERR wrong number of arguments for 'get' command" "$(cli $PA get)"
check "SET with one argument" \
	"ERR wrong number of arguments for 'set' command" "$(cli $PA set x)"
check "INCR of a non-integer" \
	"ERR value is not an integer or out of range" \
	"$(cli $PA set nint abc >/dev/null; cli $PA incr nint)"
check "SET with a bad option" "ERR syntax error" \
	"$(cli $PA set x y nosuchoption)"

# --- a write that cannot fit fails alone ------------------------------------
# A 100 MB value in a 64 MB pool: that SET fails (OOM, as Redis words a
# full memory), and the writes pipelined around it are done, as in Redis.
{
	printf '*3\r\n$3\r\nSET\r\n$6\r\nbefore\r\n$1\r\n1\r\n'
	printf '*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$100000000\r\n'
	head -c 100000000 /dev/zero
	printf '\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n2\r\n'
	printf '*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n*1\r\n$4\r\nQUIT\r\n'
} >"$TMP/oom.req"
(
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$PA" || exit 2
	cat "$TMP/oom.req" >&3 2>/dev/null &
	timeout 20 cat <&3 >"$TMP/oom.out"
	wait
)
rm -f "$TMP/oom.req"
check "a SET too big for the pool fails alone, not its neighbours" \
	"$(printf "+OK\r\n-OOM command not allowed when used memory > 'maxmemory'.\r\n+OK\r\n:1\r\n+OK\r\n" | cat -A)" \
	"$(cat -A "$TMP/oom.out")"
check "after the failed SET: MGET before after counter big" \
	"$(printf '1\n2\n1\n')" "$(cli $PA mget before after counter big)"
cli $PA del before after counter >/dev/null

# --- protocol errors, sent raw: error, closed, the server goes on -------
expect_raw 'invalid bulk length: *1 $x' $PA '*1\r\n$x\r\n' \
	'-ERR Protocol error: invalid bulk length\r\n'
expect_raw 'negative bulk length' $PA '*1\r\n$-5\r\n' \
	'-ERR Protocol error: invalid bulk length\r\n'
expect_raw 'invalid multibulk length: *abc' $PA '*abc\r\n' \
	'-ERR Protocol error: invalid multibulk length\r\n'
expect_raw "expected '\$', got '+'" $PA '*1\r\n+foo\r\n' \
	"-ERR Protocol error: expected '\$', got '+'\r\n"
expect_raw 'unbalanced quotes in an inline request' $PA 'SET "a b\r\n' \
	'-ERR Protocol error: unbalanced quotes in request\r\n'
expect_raw 'replies before a protocol error are sent' $PA \
	'PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n' \
	'+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n'
check "the server still answers after protocol errors" "PONG" \
	"$(cli $PA ping)"
srv_alive A && ok "server A still running" || bad "server A still running"

# --- raw pipelines, inline commands, empty lines ---------------------------
expect_raw 'inline and multibulk pipeline, empty lines skipped' $PA \
	'PING\r\n\r\n\n*0\r\n*2\r\n$4\r\nECHO\r\n$5\r\na\r\nbc\r\nECHO "x\\ty"\r\nQUIT\r\n' \
	'+PONG\r\n$5\r\na\r\nbc\r\n$3\r\nx\ty\r\n+OK\r\n'
# a request split over several writes
(
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$PA" || exit 2
	printf '*2\r\n$4\r\nEC' >&3; sleep 0.1
	printf 'HO\r\n$10\r\n01234' >&3; sleep 0.1
	printf '56789\r\n*1\r\n$4\r\nQUIT\r\n' >&3
	timeout 5 cat <&3 >"$TMP/split.out"
)
check "a request split over three writes" \
	"$(printf '$10\r\n0123456789\r\n+OK\r\n' | cat -A)" \
	"$(cat -A "$TMP/split.out")"

# --- HTTP requests: closed without a reply --------------------------------
expect_raw 'POST / HTTP/1.1: closed, no reply' $PA \
	'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n' ''
# Redis answers the GET line (3 arguments: an arity error) before it sees
# "Host:" and closes; dropping that reply too is as good.
raw $PA 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' "$TMP/raw.out"
rc=$?
out=$(cat -A "$TMP/raw.out")
if [ $rc -ne 124 ] && [ $rc -ne 2 ] && { [ -z "$out" ] ||
   [ "$out" = "-ERR wrong number of arguments for 'get' command^M\$" ]; }
then
	ok "GET / HTTP/1.1 then Host: closed (reply: '$out')"
else
	bad "GET / HTTP/1.1 then Host: closed (rc $rc, reply: '$out')"
fi
check "the server still answers after HTTP requests" "PONG" \
	"$(cli $PA ping)"

# --- data kept across a restart -------------------------------------------
cli $PA set persist:a 'value a' >/dev/null
cli $PA -n 5 set persist:b 'value b in db 5' >/dev/null
cli $PA -x set persist:bin <"$TMP/bin2" >/dev/null
cli $PA set persist:counter 41 >/dev/null
cli $PA incr persist:counter >/dev/null
before=$(cli $PA dbsize)
out=$(cli $PA shutdown)
if srv_wait_exit A; then
	ok "SHUTDOWN: server A exited with status 0 (redis-cli said '$out')"
else
	bad "SHUTDOWN: server A exited with status 0 (status $srv_rc)"
fi
if srv_start A "$POOL_A"; then
	PA=$A_port
	ok "server A restarted on its pool in $SRV_START_MS ms"
	check "after restart: DBSIZE" "$before" "$(cli $PA dbsize)"
	check "after restart: GET persist:a" "value a" \
		"$(cli $PA get persist:a)"
	check "after restart: db 5" "value b in db 5" \
		"$(cli $PA -n 5 get persist:b)"
	check "after restart: counter" "42" "$(cli $PA get persist:counter)"
	check "after restart: db 3 (set before)" "in-db3" \
		"$(cli $PA -n 3 get k3)"
	cli $PA get persist:bin >"$TMP/bin2.got"
	if cmp -s "$TMP/bin2.exp" "$TMP/bin2.got"; then
		ok "after restart: the 200 kB binary value"
	else
		bad "after restart: the 200 kB binary value"
	fi
	check "INFO says the shutdown was clean" \
		"clean_shutdown_before_start:1" \
		"$(cli $PA info pkv | tr -d '\r' | grep '^clean_shutdown')"
else
	bad "server A restarted on its pool"
fi

# --- a second server on the same pool is refused --------------------------
if [ -n "$A_pid" ]; then
	# (were it to start, it would be stopped after 10 s)
	# (port 0: any free port, so only the pool can stop it)
	timeout -k 2 10 "$PKV_SERVER" --port 0 --pool "$POOL_A" \
		--logfile "$TMP/dup.log" >"$TMP/dup.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -ne 124 ] &&
	   grep -qi "already open\|locked" "$TMP/dup.log" "$TMP/dup.out"; then
		ok "a second server on the same pool is refused (exit $rc)"
	else
		bad "a second server on the same pool is refused (exit $rc)"
		sed 's/^/    /' "$TMP/dup.log" "$TMP/dup.out" | tail -5
	fi
	check "server A unharmed by the refused second server" "value a" \
		"$(cli $PA get persist:a)"
fi

# ======================================================================
# Server B: --requirepass secret.
# ======================================================================
SRV_AUTH=secret srv_start B "$TMP/b.pool" --requirepass secret ||
	{ bad "server B (requirepass) starts"; srv_finish; }
PB=$B_port
ok "server B (--requirepass secret) up on port $PB"
expect_raw "AUTH: NOAUTH before, WRONGPASS, then success" $PB \
	'ECHO hi\r\nGET x\r\nDBSIZE\r\nAUTH wrong\r\nAUTH default wrong\r\nAUTH nobody secret\r\nECHO still\r\nAUTH secret\r\nECHO hi\r\nSET x 1\r\nGET x\r\nQUIT\r\n' \
	'-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n+OK\r\n$2\r\nhi\r\n+OK\r\n$1\r\n1\r\n+OK\r\n'
# Redis 7 answers PING before AUTH with NOAUTH too.
expect_raw "PING before AUTH: NOAUTH (as Redis 7)" $PB 'PING\r\nQUIT\r\n' \
	'-NOAUTH Authentication required.\r\n+OK\r\n'
expect_raw "AUTH default secret (user and password)" $PB \
	'AUTH default secret\r\nECHO ok\r\nQUIT\r\n' '+OK\r\n$2\r\nok\r\n+OK\r\n'
expect_raw "unauthenticated multibulk length: *100" $PB '*100\r\n' \
	'-ERR Protocol error: unauthenticated multibulk length\r\n'
expect_raw "unauthenticated bulk length: \$100000" $PB \
	'*2\r\n$100000\r\n' \
	'-ERR Protocol error: unauthenticated bulk length\r\n'
# 20 arguments are fine once authenticated.
req='*20\r\n$4\r\nECHO\r\n'
for i in $(seq 19); do req="$req\$1\\r\\nx\\r\\n"; done
expect_raw "a 20-argument request after AUTH" $PB \
	"AUTH secret\r\n$req""QUIT\r\n" \
	"+OK\r\n-ERR wrong number of arguments for 'echo' command\r\n+OK\r\n"
check "redis-cli with REDISCLI_AUTH" "OK" \
	"$(REDISCLI_AUTH=secret redis-cli -p $PB set y 2 2>&1)"
check "redis-cli without the password" "NOAUTH Authentication required." \
	"$(cli $PB get y)"
srv_stop B || bad "server B stopped with status $srv_rc"

# ======================================================================
# Server C: --maxclients 2 --proto-max-bulk-len 1mb.
# ======================================================================
srv_start C "$TMP/c.pool" --maxclients 2 --proto-max-bulk-len 1mb ||
	{ bad "server C (maxclients 2) starts"; srv_finish; }
PC=$C_port
ok "server C (--maxclients 2 --proto-max-bulk-len 1mb) up on port $PC"
check "CONFIG GET proto-max-bulk-len" "$(printf 'proto-max-bulk-len\n1048576')" \
	"$(cli $PC config get proto-max-bulk-len)"
# 1 MiB exactly is allowed, one byte more is not.
head -c 1048576 /dev/zero | tr '\0' 'a' >"$TMP/1m"
n=$(cli $PC -x echo <"$TMP/1m" | wc -c | tr -d ' ')
check "a bulk of exactly proto-max-bulk-len bytes" "1048577" "$n"
expect_raw "a bulk one byte over proto-max-bulk-len" $PC \
	'*2\r\n$4\r\nECHO\r\n$1048577\r\n' \
	'-ERR Protocol error: invalid bulk length\r\n'
# Two connections held open ...
exec 3<>"/dev/tcp/127.0.0.1/$PC" 4<>"/dev/tcp/127.0.0.1/$PC"
printf 'PING\r\n' >&3
printf 'PING\r\n' >&4
read -r -t 5 l3 <&3
read -r -t 5 l4 <&4
check "two clients connected" "+PONG +PONG" "${l3%$'\r'} ${l4%$'\r'}"
# ... then a third is refused.
check "a third client: max number of clients reached" \
	"ERR max number of clients reached" "$(cli $PC ping)"
expect_raw "a third client, raw: the error and the close" $PC '' \
	'-ERR max number of clients reached\r\n'
exec 4>&-
out=
for i in $(seq 50); do
	out=$(cli $PC ping)
	[ "$out" = PONG ] && break
	nap 0.05
done
check "after one client left, a new one is served" "PONG" "$out"
# (2 refused above, and maybe more while the close was not yet seen)
n=$(cli $PC info stats | tr -d '\r' | sed -n 's/^rejected_connections://p')
if [ "${n:-0}" -ge 2 ] 2>/dev/null; then
	ok "INFO: rejected_connections:$n"
else
	bad "INFO: rejected_connections:$n (expected 2 or more)"
fi
check "CONFIG SET maxclients 3" "OK" \
	"$(printf 'CONFIG SET maxclients 3\n' | cli $PC)"
exec 4<>"/dev/tcp/127.0.0.1/$PC"
printf 'PING\r\n' >&4
read -r -t 5 l4 <&4
check "with maxclients 3: 3 clients" "+PONG PONG" \
	"${l4%$'\r'} $(cli $PC ping)"
exec 3>&- 4>&-
srv_stop C || bad "server C stopped with status $srv_rc"

# ======================================================================
# Server D: --timeout 1 --max-args 4 --client-query-buffer-limit 1mb.
# ======================================================================
srv_start D "$TMP/d.pool" --timeout 1 --max-args 4 \
	--client-query-buffer-limit 1mb ||
	{ bad "server D (timeout, max-args, query buffer) starts"; srv_finish; }
PD=$D_port
ok "server D (--timeout 1 --max-args 4 --client-query-buffer-limit 1mb)" \
   "up on port $PD"
expect_raw "--max-args 4: a request of 4 arguments" $PD \
	'*4\r\n$4\r\nECHO\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\nQUIT\r\n' \
	"-ERR wrong number of arguments for 'echo' command\r\n+OK\r\n"
expect_raw "--max-args 4: a request of 5 arguments" $PD '*5\r\n' \
	'-ERR Protocol error: invalid multibulk length\r\n'
# More than 1 MB of a request not yet whole: closed, no reply (as Redis).
(
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$PD" || exit 2
	printf '*2\r\n$4\r\nECHO\r\n$2000000\r\n' >&3
	head -c 1500000 /dev/zero >&3 2>/dev/null
	timeout 5 cat <&3 >"$TMP/qbuf.out" 2>/dev/null
)
rc=$?
if [ $rc -ne 124 ] && [ $rc -ne 2 ] && [ ! -s "$TMP/qbuf.out" ]; then
	ok "a query buffer over the limit: closed without a reply"
else
	bad "a query buffer over the limit: closed without a reply (rc $rc," \
	    "$(wc -c <"$TMP/qbuf.out") bytes back)"
fi
# An idle client is closed after --timeout seconds, an active one is not.
(
	exec 3<>"/dev/tcp/127.0.0.1/$PD" || exit 2
	timeout 5 cat <&3 >/dev/null
)
rc=$?
[ $rc -eq 0 ] && ok "--timeout 1: an idle client is closed" ||
	bad "--timeout 1: an idle client is closed (rc $rc)"
(
	exec 3<>"/dev/tcp/127.0.0.1/$PD" || exit 2
	for i in 1 2 3 4 5 6; do
		printf 'PING\r\n' >&3
		read -r -t 2 l <&3 || exit 1
		[ "$l" = $'+PONG\r' ] || exit 1
		nap 0.3
	done
)
rc=$?
[ $rc -eq 0 ] && ok "--timeout 1: a client active every 0.3 s stays" ||
	bad "--timeout 1: a client active every 0.3 s stays (rc $rc)"
# SHUTDOWN is refused inside MULTI, as Redis 7 does (and the EXEC aborts).
expect_raw "SHUTDOWN inside MULTI is refused" $PD \
	'MULTI\r\nSHUTDOWN NOSAVE\r\nEXEC\r\nQUIT\r\n' \
	'+OK\r\n-ERR Command not allowed inside a transaction\r\n-EXECABORT Transaction discarded because of previous errors.\r\n+OK\r\n'
check "server D still answers" "PONG" "$(cli $PD ping)"
srv_stop D || bad "server D stopped with status $srv_rc"

# ======================================================================
# Server E: a 500 MB value in a 1200 MB pool, one atomic commit, kept
# across a restart (Redis takes values up to proto-max-bulk-len, 512 MB).
# ======================================================================
BIGV=500000000
srv_start E "$TMP/e.pool" --pool-size 1200mb ||
	{ bad "server E (a 1200 MB pool) starts"; srv_finish; }
PE=$E_port
(
	trap '' PIPE
	exec 3<>"/dev/tcp/127.0.0.1/$PE" || exit 2
	{
		printf '*3\r\n$3\r\nSET\r\n$4\r\nhuge\r\n$%s\r\n' $BIGV
		head -c $BIGV /dev/zero
		printf '\r\n*1\r\n$4\r\nQUIT\r\n'
	} >&3 2>/dev/null &
	timeout 120 cat <&3 >"$TMP/huge.out"
	wait
)
check "a 500 MB SET" "$(printf '+OK\r\n+OK\r\n' | cat -A)" \
	"$(cat -A "$TMP/huge.out")"
srv_stop E || bad "server E stopped with status $srv_rc"
srv_start E "$TMP/e.pool" --pool-size 1200mb ||
	{ bad "server E starts again"; srv_finish; }
PE=$E_port
check "the 500 MB value after a restart: STRLEN" "$BIGV" \
	"$(cli $PE strlen huge)"
check "the 500 MB value after a restart: its last bytes" \
	"$(printf '\0\0\0\0' | od -An -c)" \
	"$(cli $PE getrange huge -4 -1 | head -c 4 | od -An -c)"
check "DEL of the 500 MB value" "1" "$(cli $PE del huge)"
srv_stop E || bad "server E stopped with status $srv_rc"
rm -f "$TMP/e.pool" "$TMP/huge.out"

# ======================================================================
# redis-benchmark against server A.
# ======================================================================
if ! command -v redis-benchmark >/dev/null 2>&1; then
	echo "redis-benchmark not found: benchmark checks skipped"
elif [ -z "$A_pid" ]; then
	bad "redis-benchmark: server A is not running"
else
	for P in 1 16; do
		timeout 60 redis-benchmark -p $PA -t set,get,incr,mset \
			-n 20000 -q -P $P >"$TMP/bench.out" 2>&1
		rc=$?
		tr '\r' '\n' <"$TMP/bench.out" |
			grep 'requests per second, ' >"$TMP/bench.sum"
		n=$(wc -l <"$TMP/bench.sum" | tr -d ' ')
		if [ $rc -eq 0 ] && [ "$n" = 4 ] &&
		   ! grep -qi 'error\|ERR ' "$TMP/bench.out"; then
			ok "redis-benchmark -t set,get,incr,mset -n 20000 -P $P"
			sed 's/^/    /' "$TMP/bench.sum"
		else
			bad "redis-benchmark -P $P (exit $rc, $n results)"
			tr '\r' '\n' <"$TMP/bench.out" | grep -v '^ *$' |
				grep -v 'rps=' | head -10 | sed 's/^/    /'
		fi
		check "after redis-benchmark -P $P: PING" "PONG" \
			"$(cli $PA ping)"
	done
	check "after redis-benchmark: GET persist:a" "value a" \
		"$(cli $PA get persist:a)"
	n=$(cli $PA dbsize)
	if [ "$n" -gt 3 ] 2>/dev/null; then
		ok "after redis-benchmark: DBSIZE $n"
	else
		bad "after redis-benchmark: DBSIZE '$n'"
	fi
	srv_stop A && ok "server A stopped cleanly" ||
		bad "server A stopped with status $srv_rc"
fi

srv_finish
