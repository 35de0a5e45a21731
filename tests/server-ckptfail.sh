#!/bin/sh
# server-ckptfail.sh -- when a checkpoint's write-back fails under the
# server, every acknowledged write is still in the pool after a restart,
# and no write is acknowledged once the failure is known.
#
# A commit is durable once its log record is written and synced; a
# checkpoint later writes back the pages commits changed in place, and
# only then may their log room be reused (lib/redo.c).  Here the server
# runs on a pool in the build tree (a disk: the file backend) with
# tests/libfailwrite.so preloaded, failing every pwrite of the
# checkpointer thread (its page write-backs; the commits' writes still
# succeed) while a trigger file exists.  A client overwrites 1000 keys in pipelines of 500 SETs with
# 100-byte values until the rings fill and the background checkpoint
# runs into the failure: from the first error on, every reply must be an
# error (MISCONF, sticky, the server up).  Then SIGKILL, `pkv check`, a
# restart without the preload, and each key must hold its last
# acknowledged value or one sent after it.  An automake test: exit 0 on
# success, 1 on failure, 77 to skip (no python3, or not the file
# backend).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-ckptfail.sh
srv_setup server-ckptfail
POOL=$TMP/cf.pool
TRIGGER=$TMP/fail-now

FAILWRITE_TRIGGER=$TRIGGER
FAILWRITE_CALLS=pwrite
FAILWRITE_THREAD=pkv-ckpt
export FAILWRITE_TRIGGER FAILWRITE_CALLS FAILWRITE_THREAD
srv_start_failwrite F "$POOL"
ok "server up on port $F_port, file backend, failing write-backs preloaded"

cat >"$TMP/client.py" <<'PYEOF'
import os, sys
port, trigger, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.path.insert(0, os.environ["PKV_TESTS_DIR"])
from resp_client import Checks, Conn, Err

KEYS, PIPE, ROUNDS = 1000, 500, 400
c = Conn(port)
acked = {}                      # key -> last acknowledged n
sent = {}                       # key -> last n sent
check = Checks()
MISCONF = "MISCONF Errors writing to the pool: Input/output error"
pad = "x" * 90

def round_of(n):
    """PIPE SETs, the n-th write of their keys; the replies."""
    cmds = []
    for i in range(PIPE):
        k = "k:%d" % ((n * PIPE + i) % KEYS)
        cmds.append(("SET", k, "%d:%s" % (n, pad)))
        sent[k] = n
    got = c.pipe(cmds)
    for (_, k, _), r in zip(cmds, got):
        if r == "OK" and not isinstance(r, Err):
            acked[k] = n
    return got

got = [r for n in range(4) for r in round_of(n)]
check("2000 SETs before the failure: all +OK", len(got) == 2000 and
      all(r == "OK" and not isinstance(r, Err) for r in got))

# The disk fails for write-backs; records still reach it.
open(trigger, "w").close()
first = None
for n in range(4, ROUNDS):
    got = round_of(n)
    errs = [i for i, r in enumerate(got) if isinstance(r, Err)]
    if errs:
        first = (n, errs[0], got[errs[0]])
        tail = got[errs[0]:]
        check("from the first error on, every reply of its round is "
              "MISCONF (%r)" % first[2],
              all(isinstance(r, Err) and r.startswith(MISCONF)
                  for r in tail))
        break
check("a checkpoint ran into the failure within %d rounds (%r)" %
      (ROUNDS, first), first is not None)
if first:
    got = round_of(first[0] + 1)
    check("the round after it: all errors (sticky)",
          all(isinstance(r, Err) for r in got))
    r = c.pipe([("PING",), ("GET", "k:7")])
    check("PING and GET answer MISCONF, the server up (%r)" % r[0],
          all(isinstance(x, Err) and x.startswith(MISCONF) for x in r))
with open(out, "w") as f:
    for k in sorted(acked):
        f.write("%s %d %d\n" % (k, acked[k], sent[k]))
print("%d keys acknowledged, %d sent" % (len(acked), len(sent)))
sys.exit(1 if check.failures else 0)
PYEOF

PKV_TESTS_DIR=$(dirname "$(srv_test_py resp_client.py)")
export PKV_TESTS_DIR
"$PY" "$TMP/client.py" "$F_port" "$TRIGGER" "$TMP/acked" >"$TMP/client.out" 2>&1
rc=$?
sed 's/^/      /' "$TMP/client.out"
[ $rc -eq 0 ] && ok "the write-back failed; no write acknowledged after it" ||
	bad "client checks (exit $rc)"
srv_alive F && ok "the server is still up" || bad "the server died"
srv_kill9 F
rm -f "$TRIGGER"

srv_pkv_check "$POOL" "pkv check after the kill"

srv_start F "$POOL" || { bad "restart without the failing writes"; srv_finish; }
ok "restarted without the failing writes"
"$PY" - "$F_port" "$TMP/acked" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["PKV_TESTS_DIR"])
from resp_client import Conn
c = Conn(int(sys.argv[1]))
want = [l.split() for l in open(sys.argv[2])]
got = c.pipe([("GET", k) for k, a, s in want])
bad = []
for (k, a, s), g in zip(want, got):
    n = int(g.split(b":")[0]) if isinstance(g, bytes) else -1
    if not int(a) <= n <= int(s):
        bad.append((k, a, s, g[:12] if g else g))
for b in bad[:5]:
    print("FAIL: %s acknowledged write %s (last sent %s), found %r" % b)
print("checked %d keys, %d without their acknowledged write" %
      (len(want), len(bad)))
sys.exit(1 if bad or len(want) != 1000 else 0)
PYEOF
[ $? -eq 0 ] && ok "every key holds its acknowledged write after the restart" ||
	bad "acknowledged writes lost"
srv_stop F || bad "clean stop"
srv_finish
