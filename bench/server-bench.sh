#!/bin/sh
# server-bench.sh -- redis-benchmark against pkv-server and redis-server in
# the same run: SET and GET at pipeline 1 and 16, the figures of both and
# their ratio.
#
# Usage: bench/server-bench.sh [-n REQUESTS] [-c CLIENTS] [--aof]
#   PKV_SERVER   the pkv-server binary (default: server/pkv-server)
#   POOL_DIR     where the pool goes (default /dev/shm, with
#                PMEM_IS_PMEM_FORCE=1 so cache flushes make it durable)
# --aof also runs redis-server with appendonly yes, appendfsync always
# (every write on disk before its reply, like pkv) in a scratch directory.
#
# Both servers run on 127.0.0.1, on ports from 21000 up, and are stopped
# at exit.  Workload as in TARGETS.md: -r 1000000 -d 100, 50 clients.
set -u
n=200000
clients=50
aof=0
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-c) clients=$2; shift 2 ;;
	--aof) aof=1; shift ;;
	*) echo "usage: $0 [-n REQUESTS] [-c CLIENTS] [--aof]" >&2; exit 2 ;;
	esac
done
pkvsrv=${PKV_SERVER:-server/pkv-server}
pooldir=${POOL_DIR:-/dev/shm}
for tool in redis-benchmark redis-server redis-cli; do
	command -v $tool >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
done
[ -x "$pkvsrv" ] || { echo "$0: $pkvsrv not found (build it, or set PKV_SERVER)" >&2; exit 2; }

tmp=$(mktemp -d)
pool="$pooldir/pkv-bench-$$.pool"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp" "$pool"
}
trap cleanup EXIT INT TERM

wait_up() {
	i=0
	while ! redis-cli -p "$1" ping >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "$0: server on port $1 did not start" >&2; exit 1; }
		sleep 0.1
	done
}

port_pkv=$((21000 + $$ % 1000))
port_redis=$((port_pkv + 1000))
port_aof=$((port_pkv + 2000))
PMEM_IS_PMEM_FORCE=1 "$pkvsrv" --port $port_pkv --pool "$pool" \
	--pool-size 2gb --loglevel warning &
pids="$pids $!"
redis-server --port $port_redis --save '' --appendonly no \
	--dir "$tmp" --loglevel warning >/dev/null &
pids="$pids $!"
if [ $aof = 1 ]; then
	mkdir -p "$tmp/aof"
	redis-server --port $port_aof --save '' --appendonly yes \
		--appendfsync always --dir "$tmp/aof" --loglevel warning \
		>/dev/null &
	pids="$pids $!"
fi
wait_up $port_pkv
wait_up $port_redis
[ $aof = 1 ] && wait_up $port_aof

# rps PORT TEST PIPELINE -- requests per second from redis-benchmark's CSV
rps() {
	redis-benchmark -p "$1" -t "$2" -n "$n" -c "$clients" -P "$3" \
		-r 1000000 -d 100 --csv 2>/dev/null |
		awk -F'"' 'NR > 1 && $2 != "" { print $4; exit }'
}

echo "pkv-server vs redis-server: redis-benchmark -n $n -c $clients -r 1000000 -d 100"
echo "machine: $(nproc) cores, $(uname -sr); pkv pool on $pooldir (PMEM_IS_PMEM_FORCE=1)"
echo "redis: $(redis-server --version | sed 's/ sha=.*//')"
printf '%-8s %4s %14s %14s %8s' test P pkv-server redis-nosave ratio
[ $aof = 1 ] && printf ' %14s %8s' redis-aof ratio
printf '\n'
for t in set get; do
	for p in 1 16; do
		a=$(rps $port_pkv $t $p)
		b=$(rps $port_redis $t $p)
		printf '%-8s %4s %14s %14s %8s' $t $p "$a" "$b" \
			"$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')"
		if [ $aof = 1 ]; then
			c=$(rps $port_aof $t $p)
			printf ' %14s %8s' "$c" \
				"$(awk -v a="$a" -v b="$c" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')"
		fi
		printf '\n'
	done
done
