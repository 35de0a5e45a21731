#!/bin/sh
# cli-redis.sh -- `pkv export POOL | redis-cli --pipe` into a real
# redis-server started by the test gives the same keys, values (binary
# ones included) and expiry times, database by database; and the same
# stream loads into another pool with the same result.  Skipped (exit 77) without redis-server or
# redis-cli.  An automake test: exit 0, 1, or 77.

top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/cli-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/cli-lib.sh
. "$lib" || exit 99
if ! command -v redis-server >/dev/null 2>&1 ||
   ! command -v redis-cli >/dev/null 2>&1; then
	echo "cli-redis: redis-server or redis-cli not found; skipping"
	exit 77
fi
cli_setup cli-redis
LC_ALL=C
export LC_ALL

REDIS_PID=
cli_cleanup() {
	if [ -n "$REDIS_PID" ]; then
		kill "$REDIS_PID" 2>/dev/null
		wait "$REDIS_PID" 2>/dev/null
	fi
}

# Start redis-server on a free port of our own.
PORT=$((20000 + ($$ * 53) % 30000))
tries=0
while :; do
	tries=$((tries + 1))
	redis-server --port "$PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --daemonize no --dir "$TMP" \
		--logfile "$TMP/redis.log" </dev/null >/dev/null 2>&1 &
	REDIS_PID=$!
	n=0
	while [ $n -lt 100 ] && kill -0 "$REDIS_PID" 2>/dev/null &&
	      [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" != PONG ]; do
		sleep 0.05 2>/dev/null || sleep 1
		n=$((n + 1))
	done
	[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
	if [ $tries -ge 5 ]; then
		echo "cli-redis: cannot start redis-server; skipping"
		exit 77
	fi
	PORT=$((PORT + 1))
done
ok "redis-server runs on port $PORT"
rcli() { redis-cli -p "$PORT" "$@"; }

# A pool with keys in three databases, expiries, and binary values.
POOL=$TMP/r.pool
"$PKV" create "$POOL" --size 16M >/dev/null || { bad "create"; cli_finish; }
now=$(date +%s)
awk -v now="$now" 'BEGIN {
	printf "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
	for (i = 0; i < 200; i++) {
		k = "key:" i; v = "value " i " " sprintf("%0" (i % 50) "d", 7)
		printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
			length(k), k, length(v), v
		if (i % 10 == 0) {
			t = sprintf("%.0f", (now + 1000 + i) * 1000)
			printf "*3\r\n$9\r\nPEXPIREAT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
				length(k), k, length(t), t
		}
	}
	printf "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n"
	for (i = 0; i < 20; i++) {
		k = "five " i       # a space in the key
		printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n%d\r\n",
			length(k), k, i % 10
	}
}' >"$TMP/load.resp"
runin "$TMP/load.resp" import "$POOL"
expect "load the pool" 0 '220 keys set' "$ERR"
printf 'bin\000val\r\n\377\001end' | "$PKV" set "$POOL" bin:a -x --db 9 >/dev/null
printf '\r\n' | "$PKV" set "$POOL" crlf -x --db 9 >/dev/null
: | "$PKV" set "$POOL" empty -x --db 9 >/dev/null

# --- export | redis-cli --pipe ---------------------------------------------------
rcli flushall >/dev/null
"$PKV" export "$POOL" | rcli --pipe >"$OUT" 2>"$ERR"
rc=$?
expect "pkv export | redis-cli --pipe" 0 'errors: 0, replies: [1-9]'
for d in 0 5 9; do
	want=$("$PKV" info "$POOL" --json --no-gc |
	       sed -n "s/.*\"db\": $d, \"keys\": \([0-9]*\).*/\1/p")
	got=$(rcli -n $d dbsize)
	[ -n "$want" ] && [ "$want" = "$got" ] &&
		ok "database $d: $got keys in Redis too" ||
		bad "database $d: $want keys in the pool, $got in Redis"
done

# Every key, every value, byte for byte (values end in a newline both
# ways: redis-cli --raw adds one, and so does pkv get).
mismatch=0 compared=0
for d in 0 5; do
	"$PKV" scan "$POOL" --db $d >"$TMP/keys.$d"
	while IFS= read -r k; do
		"$PKV" get "$POOL" "$k" --db $d >"$TMP/v.pkv"
		rcli -n $d --raw get "$k" >"$TMP/v.redis"
		compared=$((compared + 1))
		cmp -s "$TMP/v.pkv" "$TMP/v.redis" || {
			mismatch=$((mismatch + 1))
			[ $mismatch -le 3 ] && echo "    differs: db $d '$k'"
		}
	done <"$TMP/keys.$d"
done
[ $mismatch -eq 0 ] && [ $compared -eq 220 ] &&
	ok "all $compared values are the same in Redis" ||
	bad "$mismatch of $compared values differ"
for k in bin:a crlf empty; do
	"$PKV" get "$POOL" "$k" --db 9 >"$TMP/v.pkv"
	rcli -n 9 --raw get "$k" >"$TMP/v.redis"
	cmp -s "$TMP/v.pkv" "$TMP/v.redis" && ok "binary-safe: $k" ||
		bad "binary-safe: $k"
done
rcli -n 9 strlen bin:a | grep -qx 14 && ok "the binary value has 14 bytes in Redis" ||
	bad "the binary value has 14 bytes in Redis"

# Expiry times: within a second or two of the pool's.
ttl_ok=0
for i in 0 50 190; do
	tp=$("$PKV" ttl "$POOL" "key:$i")
	tr=$(rcli ttl "key:$i")
	[ "$tp" -gt 0 ] 2>/dev/null && [ $((tp - tr)) -le 2 ] &&
		[ $((tr - tp)) -le 2 ] && ttl_ok=$((ttl_ok + 1))
done
[ $ttl_ok -eq 3 ] && ok "expiry times are carried over" ||
	bad "expiry times are carried over"
[ "$(rcli ttl key:1)" = -1 ] && ok "keys without expiry have none in Redis" ||
	bad "keys without expiry have none in Redis"

# --- the stream Redis accepted loads into another pool, to the same data ------
B=$TMP/back.pool
"$PKV" create "$B" --size 16M >/dev/null
"$PKV" export "$POOL" >"$TMP/all.resp"
runin "$TMP/all.resp" import "$B"
expect "the same stream into a second pool" 0 '223 keys set' "$ERR"
rcli -n 5 --raw get "five 3" >"$TMP/v.redis"
"$PKV" get "$B" "five 3" --db 5 >"$TMP/v.pkv"
cmp -s "$TMP/v.pkv" "$TMP/v.redis" && ok "and agrees with Redis" ||
	bad "and agrees with Redis"

cli_finish
