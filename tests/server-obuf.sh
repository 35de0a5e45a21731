#!/bin/sh
# server-obuf.sh -- client-output-buffer-limit: no client can freeze the
# server or hurt another by not reading.  Runs tests/server_obuf.py
# against a pkv-server on a fresh pool: CONFIG GET/SET of the limits and
# of maxmemory-clients with Redis 7's exact answers; a 1-byte limit still
# lets a client have its small replies; CLIENT LIST's obl/oll/omem and
# INFO's client_recent_max_output_buffer and mem_clients_normal for a
# client that does not read; the soft limit; and the testers' case -- 150
# pipelined GETs of a 10 MB value from a client that never reads, under
# "normal 8mb 4mb 10": that client is closed, the server's peak RSS stays
# within the limit plus 64 MB of what it was, another client is answered
# meanwhile, INFO counts the disconnection and the log says so.  Then the
# limits from a config file and from --client-output-buffer-limit flags,
# and a bad one refused at start.  An automake test: exit 0 on success, 1
# on failure, 77 to skip (no server binary, no python3).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-obuf.sh
test_py=$(srv_test_py server_obuf.py)
srv_setup server-obuf

# cfg_get PORT NAME -- CONFIG GET's value, through python's sockets.
cfg_get() {
	"$PY" - "$1" "$2" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10)
s.settimeout(60)
name = sys.argv[2].encode()
s.sendall(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" %
          (len(name), name))
f = s.makefile("rb")
f.readline()                      # *2
for _ in range(2):
    n = int(f.readline()[1:])
    v = f.read(n + 2)[:-2]
print(v.decode())
EOF
}

# check NAME EXPECTED ACTUAL
check() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1"
		echo "    expected: $2"
		echo "    actual:   $3"
	fi
}

# ---- the limits at work ------------------------------------------------
# Room for the 10 MB value, its old versions and the rest.
srv_start S "$TMP/s.pool" --pool-size 128mb ||
	{ bad "the server starts"; srv_finish; }
ok "server up on port $S_port"
PKV_TEST_PORT=$S_port PKV_TEST_LOG=$TMP/S.log timeout 600 "$PY" "$test_py"
rc=$?
case $rc in
0) ok "server_obuf.py" ;;
124) bad "server_obuf.py timed out" ;;
*) bad "server_obuf.py (exit $rc)" ;;
esac
if srv_alive S && srv_ping "$S_port"; then
	ok "the server still answers"
else
	bad "the server still answers (crashed?)"
fi
if srv_stop S; then
	ok "the server stopped cleanly"
else
	bad "the server stopped cleanly (status $srv_rc)"
fi

# ---- the limits from a config file and flags ---------------------------
# Lines add up, class by class, as in redis.conf; flags come after the
# file, one class or several, the words as separate arguments or one.
cat >"$TMP/obuf.conf" <<'EOF'
client-output-buffer-limit normal 4k 2k 1
client-output-buffer-limit pubsub 3mb 2mb 9
client-output-buffer-limit "replica 5 6 7"
maxmemory-clients 10%
EOF
SRV_CONF=$TMP/obuf.conf srv_start C "$TMP/c.pool" \
	--client-output-buffer-limit normal 1mb 512kb 5 slave 2mb 1mb 8 ||
	{ bad "a server with a config file and flags starts"; srv_finish; }
check "config file, then --client-output-buffer-limit" \
	"normal 1048576 524288 5 slave 2097152 1048576 8 pubsub 3145728 2097152 9" \
	"$(cfg_get "$C_port" client-output-buffer-limit)"
check "config file: maxmemory-clients 10%" "10%" \
	"$(cfg_get "$C_port" maxmemory-clients)"
srv_stop C || bad "the server stopped cleanly (status $srv_rc)"
SRV_CONF=$TMP/obuf.conf srv_start D "$TMP/d.pool" \
	--client-output-buffer-limit "pubsub 0 0 0" ||
	{ bad "a server with a quoted flag starts"; srv_finish; }
check "--client-output-buffer-limit \"pubsub 0 0 0\"" \
	"normal 4000 2000 1 slave 5 6 7 pubsub 0 0 0" \
	"$(cfg_get "$D_port" client-output-buffer-limit)"
srv_stop D || bad "the server stopped cleanly (status $srv_rc)"

# A bad limit is refused at start, with Redis's words, before the pool
# is opened.  (Under timeout: a server that took it would serve on.)
T=
command -v timeout >/dev/null 2>&1 && T="timeout -k 5 60"
out=$($T "$PKV_SERVER" --port "$SRV_NEXT_PORT" --pool "$TMP/never.pool" \
	--client-output-buffer-limit normal 1mb 2mb 2>&1)
rc=$?
case $rc:$out in
1:*"Wrong number of arguments in buffer limit configuration."*)
	ok "--client-output-buffer-limit normal 1mb 2mb: refused" ;;
*)	bad "--client-output-buffer-limit normal 1mb 2mb: refused (rc $rc)"
	echo "$out" | sed 's/^/    /' ;;
esac
printf 'client-output-buffer-limit master 1 2 3\n' >"$TMP/bad.conf"
out=$($T "$PKV_SERVER" "$TMP/bad.conf" --port "$SRV_NEXT_PORT" \
	--pool "$TMP/never.pool" 2>&1)
rc=$?
case $rc:$out in
1:*bad.conf:1:*"Invalid client class specified in buffer limit"*)
	ok "a config file line with class master: refused, file and line" ;;
*)	bad "a config file line with class master: refused (rc $rc)"
	echo "$out" | sed 's/^/    /' ;;
esac
if [ -e "$TMP/never.pool" ]; then
	bad "no pool was created by the refused starts"
else
	ok "no pool was created by the refused starts"
fi
srv_finish
