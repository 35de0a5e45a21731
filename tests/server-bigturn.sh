#!/bin/sh
# server-bigturn.sh -- turns of thousands of writes on a full pool.
# pkv-server gathers a turn's commands in one batch and commits them
# together; a batch whose log record outgrew a log ring needed heap space
# to commit, which a full pool does not have, so every command of the
# turn answered OOM, even DELs (all but 2,201 of 348,421 pipelined DELs
# on a full 64 MB pool).  Here: a 32 MiB pool filled with 64-byte values
# (pipelines of 1000 SETs until OOM), then three keys of every four
# deleted in pipelines of 50,000 DELs: every DEL answers 1, DBSIZE is
# exact, the keys kept have their values, and SETs fit again.  An
# automake test: exit 0 on success, 1 on failure, 77 to skip.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_redis_py server-bigturn.sh
srv_setup server-bigturn

srv_start B "$TMP/b.pool" --pool-size 32mb ||
	{ bad "the server starts"; srv_finish; }
ok "server up on port $B_port"

cat >"$TMP/bigturn.py" <<'PYEOF'
import sys
import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=120)
OOM = "OOM command not allowed when used memory > 'maxmemory'."
val = b"v" * 64
n = 0
while True:
    p = r.pipeline(transaction=False)
    for i in range(n, n + 1000):
        p.set("k:%d" % i, val)
    res = p.execute(raise_on_error=False)
    good = [x for x in res if x is True]
    n += len(good)
    bad = [x for x in res if x is not True]
    if bad:
        if str(bad[0]) != OOM:
            sys.exit("SET answered %r" % bad[0])
        break
print("      %d SETs of 64 B before OOM" % n)
dels = [i for i in range(n) if i % 4]
errors = 0
for j in range(0, len(dels), 50000):
    p = r.pipeline(transaction=False)
    for i in dels[j:j + 50000]:
        p.delete("k:%d" % i)
    for x in p.execute(raise_on_error=False):
        if x != 1:
            errors += 1
            first = x
print("      %d DELs, %d not answered 1" % (len(dels), errors))
if errors:
    sys.exit("DEL on the full pool answered %r" % first)
if r.dbsize() != n - len(dels):
    sys.exit("DBSIZE %d, expected %d" % (r.dbsize(), n - len(dels)))
kept = ["k:%d" % i for i in range(0, n, 4)]
for j in range(0, len(kept), 10000):
    for k, v in zip(kept[j:j + 10000], r.mget(kept[j:j + 10000])):
        if v != val:
            sys.exit("%s: %r" % (k, v))
p = r.pipeline(transaction=False)
for i in range(1000):
    p.set("again:%d" % i, val)
if not all(x is True for x in p.execute(raise_on_error=False)):
    sys.exit("SETs after the deletes failed")
PYEOF

timeout 300 "$PY" "$TMP/bigturn.py" "$B_port"
rc=$?
[ $rc -eq 0 ] && ok "DELs in turns of thousands on the full pool all answer 1" ||
	bad "big turns on the full pool (exit $rc)"
if srv_stop B; then
	ok "the server stopped cleanly"
else
	bad "the server stopped cleanly (status $srv_rc)"
fi
srv_finish
