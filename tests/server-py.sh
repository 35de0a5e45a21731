#!/bin/sh
# server-py.sh -- run tests/server_test.py (redis-py, the Debian package
# python3-redis, and a raw RESP2/RESP3 client) against a pkv-server on a
# fresh pool: strings, keys, expiry, transactions, WATCH, CLIENT, CONFIG,
# COMMAND, INFO, GC, exact error texts, 1 MB and 20 MB values; then
# tests/server_hash.py, the hash commands, tests/server_list.py, the list
# commands and blocking pops, tests/server_set.py, the set commands,
# tests/server_zset.py, the sorted set commands, and
# tests/server_pubsub.py, publish/subscribe.  Then
# checks the server is still up and stops cleanly.  An automake test: exit
# 0 on success, 1 on failure, 77 to skip (no server binary, no python3 or
# no redis-py).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_redis_py server-py.sh
test_py=$(srv_test_py server_test.py)
srv_setup server-py

# Room for the 20 MB value, its old versions and the rest.
srv_start P "$TMP/p.pool" --pool-size 256mb ||
	{ bad "the server starts"; srv_finish; }
ok "server up on port $P_port in $SRV_START_MS ms"

# Each script in turn on the same server (the others import
# server_test.py's helpers).
for script in server_test.py server_hash.py server_list.py server_set.py \
	      server_zset.py server_pubsub.py; do
	PKV_TEST_PORT=$P_port PKV_TEST_TARGET=pkv \
		PYTHONPATH=$(dirname "$test_py") \
		timeout 240 "$PY" "$(srv_test_py "$script")"
	rc=$?
	case $rc in
	0) ok "$script" ;;
	124) bad "$script timed out" ;;
	*) bad "$script (exit $rc)" ;;
	esac
done

if srv_alive P && srv_ping "$P_port"; then
	ok "the server still answers"
else
	bad "the server still answers (crashed?)"
fi
if srv_stop P; then
	ok "the server stopped cleanly"
else
	bad "the server stopped cleanly (status $srv_rc)"
fi
srv_finish
