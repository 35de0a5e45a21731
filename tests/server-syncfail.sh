#!/bin/sh
# server-syncfail.sh -- when the disk fails under the server, no write is
# acknowledged that is not durable, and the server stays up.
#
# The server runs on a pool in the build tree (a disk: the file backend)
# with tests/libfailwrite.so preloaded, which fails every pwritev2 (the
# write and sync of a commit's log record) while a trigger file exists.
# A client pipelines SETs 300 at a time, so its turns are submitted and
# held until their sync (the server's pipelined group commit), and a
# second client sends one SET at a time (committed in the loop).  Before
# the trigger every reply is +OK; after it every reply is an error (a
# write's, a read's and PING's: memory may hold what is not durable, so
# nothing is answered from it; MISCONF, as Redis's failed AOF write),
# the server stays up, and writes keep failing once the trigger is gone
# (a failed write-back is sticky: the server does not pretend).  Then SIGKILL, `pkv check`, a restart without the preload,
# and every acknowledged SET must be there.  An automake test: exit 0 on
# success, 1 on failure, 77 to skip (no python3, or not the file
# backend).

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-syncfail.sh
srv_setup server-syncfail
POOL=$TMP/sf.pool
TRIGGER=$TMP/fail-now

FAILWRITE_TRIGGER=$TRIGGER
export FAILWRITE_TRIGGER
srv_start_failwrite F "$POOL"
ok "server up on port $F_port, file backend, failing writes preloaded"

cat >"$TMP/client.py" <<'PYEOF'
import os, sys
port, trigger, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.path.insert(0, os.environ["PKV_TESTS_DIR"])
from resp_client import Checks, Conn, Err

a, b = Conn(port), Conn(port)
log = open(out, "w")
check = Checks()
MISCONF = "MISCONF Errors writing to the pool: Input/output error"

# Before: every write acknowledged.
got = a.pipe([("SET", "k:%d" % i, "v%d" % i) for i in range(300)])
for i, r in enumerate(got):
    if r == "OK" and not isinstance(r, Err):
        log.write("k:%d v%d\n" % (i, i))
check("300 pipelined SETs before the failure: all +OK", got == ["OK"] * 300)
r = b.call("SET", "s:0", "one")
if r == "OK" and not isinstance(r, Err):
    log.write("s:0 one\n")
check("a single SET before the failure: +OK (%r)" % r, r == "OK")
log.flush()

# The disk fails.
open(trigger, "w").close()
got = a.pipe([("SET", "p:%d" % i, "w%d" % i) for i in range(300)])
errs = [r for r in got if isinstance(r, Err)]
check("300 pipelined SETs after the failure: all errors (%d errors, "
      "first %r)" % (len(errs), errs[:1]),
      len(errs) == 300 and errs[0].startswith(MISCONF))
r = b.call("SET", "s:1", "two")
check("a single SET after the failure: an error (%r)" % r,
      isinstance(r, Err))
# Memory may hold a write that is not durable: nothing is answered from
# it, nor anything else, but with an error that says why.
r = b.pipe([("PING",), ("GET", "k:7")])
check("PING and GET answer MISCONF, the server up (%r)" % r[1],
      all(isinstance(x, Err) and x.startswith(MISCONF) for x in r))

# The failure is sticky: the disk is back, the server does not pretend.
os.unlink(trigger)
r = b.call("SET", "s:2", "three")
check("a SET once the disk is back: still an error (%r)" % r,
      isinstance(r, Err))
log.close()
sys.exit(1 if check.failures else 0)
PYEOF

PKV_TESTS_DIR=$(dirname "$(srv_test_py resp_client.py)")
export PKV_TESTS_DIR
"$PY" "$TMP/client.py" "$F_port" "$TRIGGER" "$TMP/acked" >"$TMP/client.out" 2>&1
rc=$?
sed 's/^/      /' "$TMP/client.out"
[ $rc -eq 0 ] && ok "the writes failed, none acknowledged" ||
	bad "client checks (exit $rc)"
if grep -q "Group commit failed" "$TMP/F.log"; then
	ok "the failure is in the server's log"
else
	bad "no 'Group commit failed' in the server's log"
fi
srv_alive F && ok "the server is still up" || bad "the server died"
srv_kill9 F

srv_pkv_check "$POOL" "pkv check after the kill"

srv_start F "$POOL" || { bad "restart without the failing writes"; srv_finish; }
ok "restarted without the failing writes"
"$PY" - "$F_port" "$TMP/acked" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["PKV_TESTS_DIR"])
from resp_client import Conn
c = Conn(int(sys.argv[1]))
want = [l.split() for l in open(sys.argv[2])]
got = c.pipe([("GET", k) for k, v in want])
lost = [(k, v, g) for (k, v), g in zip(want, got) if g != v.encode()]
for k, v, g in lost[:5]:
    print("FAIL: acknowledged %s = %s, found %r" % (k, v, g))
print("checked %d acknowledged SETs, %d lost" % (len(want), len(lost)))
sys.exit(1 if lost or len(want) != 301 else 0)
PYEOF
[ $? -eq 0 ] && ok "every acknowledged SET is there after the restart" ||
	bad "acknowledged SETs lost (or not 301 acknowledged)"
srv_stop F || bad "clean stop"
srv_finish
