#!/bin/sh
# server-full.sh -- a full pool under load.  pkv-server runs on a small
# pool (16 MiB); CLIENTS client processes SET fresh keys with 1-4 KiB
# random values, one at a time, logging each reply (an acknowledged SET:
# its key and the SHA-1 of its value; a refused one: its key), until every
# client has had the OOM error many times.  Checked:
#   - a refused write gets exactly Redis's "OOM command not allowed when
#     used memory > 'maxmemory'." and nothing else ever comes back;
#   - while the pool is full, and the others keep writing, each client
#     GETs every key it got acknowledged: the value is the one written,
#     and never an OOM error (only the command that did not fit fails,
#     not the others of its turn); PING, INFO and DBSIZE answer normally;
#     one pipeline of a 1 MiB SET (refused), a 10-byte SET, PING and a GET
#     -- all in one turn of the server -- gets OOM, OK, PONG and the value;
#   - a third of the acknowledged keys are deleted, 4096 DELs to a
#     pipeline (DEL answers 1, never
#     OOM), and after that new SETs succeed again;
#   - everything (GET of every acknowledged key not deleted, deleted and
#     refused keys absent, DBSIZE exact) before and after a SHUTDOWN and a
#     restart; `pkv check` of the stopped pool is clean (0, or 3: garbage
#     only);
#   - then the pool grows under the same server: CONFIG SET pool-size to
#     a smaller size is refused, to twice the size makes room for more
#     SETs (database 1, to OOM again), CONFIG SET pool-auto-grow yes lets
#     writes grow it to its maximum (--pool-max-size); after a restart
#     the pool keeps that size and every key of both databases; on that
#     full pool FLUSHDB of database 1 answers OK and SETs fit again at
#     once, database 0 untouched;
#   - the server process stays the same, alive, throughout, and its log
#     has no crash.
# Uses redis-py when /usr/bin/python3 can import it, else a small RESP
# client of python's standard library.  An automake test: exit 0 on
# success, 1 on failure, 77 to skip.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-full.sh
srv_setup server-full

CLIENTS=${CLIENTS:-4}
POOL_SIZE=${FULL_POOL_SIZE:-16mb}
POOL_MAX=${FULL_POOL_MAX:-64mb}   # what section 4 grows it to at most
MIN_OOM=${FULL_MIN_OOM:-25}     # OOM errors each client must see
REFILL=${FULL_REFILL:-150}      # SETs each client must get through after
POOL=$TMP/full.pool

cat >"$TMP/full.py" <<'EOF'
import glob, hashlib, os, random, sys, time

OOM = "OOM command not allowed when used memory > 'maxmemory'."

class Err(str):
    """An error reply, with its whole text."""

try:
    import redis
    import redis.exceptions as rx
    CLIENT = "redis-py %s" % redis.__version__

    def full_text(e):
        t = str(e)
        # newer redis-py strips the "OOM " of an OutOfMemoryError
        if type(e).__name__ == "OutOfMemoryError" and \
           not t.startswith("OOM"):
            t = "OOM " + t
        return Err(t)

    class Conn:
        def __init__(self, port):
            self.r = redis.Redis(host="127.0.0.1", port=port,
                                 socket_timeout=30)

        def fix(self, v):
            if v is True:
                return b"OK"
            if isinstance(v, rx.ResponseError):
                return full_text(v)
            return v

        def cmd(self, *a):
            try:
                return self.fix(self.r.execute_command(*a))
            except rx.ResponseError as e:
                return full_text(e)

        def pipe(self, cmds):
            p = self.r.pipeline(transaction=False)
            for c in cmds:
                p.execute_command(*c)
            return [self.fix(v) for v in p.execute(raise_on_error=False)]
except ImportError:
    CLIENT = "python sockets"

    sys.path.insert(0, os.environ["PKV_TESTS_DIR"])
    import resp_client

    class Conn(resp_client.Conn):
        """The tests' raw client, status replies as bytes (b"OK"), as
        the redis-py branch gives them."""

        def reply(self):
            v = super().reply()
            if isinstance(v, resp_client.Err):
                return Err(v)
            return v.encode() if isinstance(v, resp_client.Simple) else v

        cmd = resp_client.Conn.call

def sha(v):
    return hashlib.sha1(v).hexdigest()

def load_acks(tmp):
    """{key: sha} of acknowledged SETs, [refused keys], {deleted keys}."""
    acked, refused = {}, []
    for fn in sorted(glob.glob(tmp + "/acks.*")):
        for line in open(fn):
            w = line.split()
            if w[0] == "A":
                acked[w[1]] = w[2]
            elif w[0] == "R":
                refused.append(w[1])
    deleted = set()
    if os.path.exists(tmp + "/deleted"):
        deleted = set(open(tmp + "/deleted").read().split())
    return acked, refused, deleted

class Stats:
    def __init__(self):
        self.bad = 0
    def fail(self, msg):
        self.bad += 1
        if self.bad <= 20:
            print("    FAIL:", msg, flush=True)

def get_checked(c, st, pairs, counts):
    """GET each (key, sha) in pairs, pipelined: the value written, never
    an error (another client's refused write is not this GET's)."""
    res = c.pipe([("GET", k) for k, _ in pairs])
    for (k, h), v in zip(pairs, res):
        if isinstance(v, Err):
            if v == OOM:
                counts["get_oom"] += 1
            st.fail("GET %s: error %r" % (k, v))
        elif v is None:
            st.fail("GET %s: acknowledged key missing" % k)
        elif sha(v) != h:
            st.fail("GET %s: wrong value (%d bytes, sha1 %s, want %s)"
                    % (k, len(v), sha(v), h))
        else:
            counts["get_ok"] += 1

def do_set(c, st, log, key, counts):
    """One SET of a random 1-4 KiB value: the value's sha1 if it was
    acknowledged, else None (logged either way)."""
    v = os.urandom(random.randint(1024, 4096))
    r = c.cmd("SET", key, v)
    if r == b"OK":
        log.write("A %s %s\n" % (key, sha(v)))
        counts["acked"] += 1
        return sha(v)
    if isinstance(r, Err) and r == OOM:
        log.write("R %s\n" % key)
        counts["oom"] += 1
        return None
    log.write("E %s %r\n" % (key, r))
    st.fail("SET %s: unexpected reply %r" % (key, r))
    return None

def fill(port, cid, tmp, min_oom, deadline):
    """Fill, then read back while full, until told to stop."""
    st, c = Stats(), Conn(port)
    counts = dict(acked=0, oom=0, get_ok=0, get_oom=0)
    log = open("%s/acks.f.%s" % (tmp, cid), "w", buffering=1)
    mine = []                        # (key, sha) acknowledged
    end = time.time() + deadline
    i = 0
    # 1. SET until the pool has refused min_oom of ours; a GET of an
    #    earlier key now and then.
    while counts["oom"] < min_oom and time.time() < end and not st.bad:
        key = "f:%s:%d" % (cid, i)
        i += 1
        h = do_set(c, st, log, key, counts)
        if h:
            mine.append((key, h))
        if i % 8 == 0 and mine:
            get_checked(c, st, [random.choice(mine)], counts)
    filled = counts["acked"]
    if counts["oom"] < min_oom:
        st.fail("client %s: only %d OOM errors in %d s (%d SETs "
                "acknowledged)" % (cid, counts["oom"], deadline, filled))
    open("%s/full.%s" % (tmp, cid), "w").close()
    # 2. Full: GET every key acknowledged, 32 at a time, with a SET
    #    (refused, mostly) between, while the other clients write too.
    for j in range(0, len(mine), 32):
        get_checked(c, st, mine[j:j + 32], counts)
        key = "f:%s:%d" % (cid, i)
        i += 1
        h = do_set(c, st, log, key, counts)
        if h:
            mine.append((key, h))
    # 3. Until the test says stop: random GETs and SETs.
    while not os.path.exists(tmp + "/stop") and time.time() < end:
        get_checked(c, st, random.sample(mine, min(8, len(mine))), counts)
        key = "f:%s:%d" % (cid, i)
        i += 1
        h = do_set(c, st, log, key, counts)
        if h:
            mine.append((key, h))
    print("client %s: %d SETs acknowledged while filling, %d more while "
          "full; %d refused with OOM; %d GETs verified, %d GETs answered "
          "OOM" % (cid, filled, counts["acked"] - filled,
                   counts["oom"], counts["get_ok"], counts["get_oom"]))
    return 1 if st.bad else 0

def probe(port, tmp):
    """While the pool is full: INFO, DBSIZE and PING answer normally, and
    one turn with a write that does not fit and one that does fails only
    the first."""
    st, c = Stats(), Conn(port)
    out = {}
    for name, args in (("INFO", ("INFO",)), ("DBSIZE", ("DBSIZE",)),
                       ("PING", ("PING",))):
        r = c.cmd(*args)
        if isinstance(r, Err):
            st.fail("%s: error %r" % (name, r))
        out[name] = (r, 0)
    acked, _, _ = load_acks(tmp)
    known = sorted(acked)[0] if acked else None
    ok_small = 0
    for n in range(20):
        small = "s:probe:%d" % n
        res = c.pipe([("SET", "s:big:%d" % n, os.urandom(1 << 20)),
                      ("SET", small, b"0123456789"), ("PING",)] +
                     ([("GET", known)] if known else []))
        if not (isinstance(res[0], Err) and res[0] == OOM):
            st.fail("1 MiB SET in a full pool: %r, want OOM" % (res[0],))
        with open(tmp + "/acks.p", "a") as f:
            if isinstance(res[0], Err) and res[0] == OOM:
                f.write("R s:big:%d\n" % n)
            if res[1] != b"OK":
                st.fail("10-byte SET in the same turn as a refused one: "
                        "%r" % (res[1],))
            else:
                ok_small += 1
                f.write("A %s %s\n" % (small, sha(b"0123456789")))
        # (redis-py answers PING with True, which Conn shows as OK)
        if res[2] not in (b"PONG", "PONG", True, b"OK"):
            st.fail("PING in the same turn as a refused SET: %r"
                    % (res[2],))
        if known and (isinstance(res[3], Err) or
                      sha(res[3]) != acked[known]):
            st.fail("GET %s in the same turn as a refused SET: %r"
                    % (known, res[3] if isinstance(res[3], Err) else
                       "wrong value"))
    print("same turn, 20 times: a 1 MiB SET refused with OOM, a 10-byte "
          "SET acknowledged %d times, PING and GET answered" % ok_small)
    info, n1 = out["INFO"]
    dbsize, n2 = out["DBSIZE"]
    if isinstance(info, dict):        # redis-py parses INFO
        d = info
    elif isinstance(info, bytes):
        d = dict(l.split(":", 1) for l in info.decode().split("\r\n")
                 if ":" in l)
    else:
        d = {}
    used, heap = d.get("used_memory"), d.get("maxmemory")
    if used is None or heap is None:
        st.fail("INFO: no used_memory/maxmemory: %r" % (info,)[:200])
    if not isinstance(dbsize, int) or dbsize <= 0:
        st.fail("DBSIZE: %r" % (dbsize,))
    print("INFO while full: used_memory:%s maxmemory:%s (%.1f%%); "
          "DBSIZE %s (no OOM answer: %d+%d)"
          % (used, heap, 100.0 * int(used or 0) / max(int(heap or 1), 1),
             dbsize, n1, n2))
    return 1 if st.bad else 0

def delete(port, tmp, every):
    """DEL every `every`-th acknowledged key, 4096 per pipeline: a turn of
    the server holds thousands of them, more than a log ring's record,
    and none may answer OOM (one group's record too big for a ring once
    needed heap space to commit, and every DEL of the group failed)."""
    st, c = Stats(), Conn(port)
    acked, _, _ = load_acks(tmp)
    keys = sorted(acked)[::every]
    oom = 0
    with open(tmp + "/deleted", "w") as out:
        for j in range(0, len(keys), 4096):
            chunk = keys[j:j + 4096]
            for k, r in zip(chunk, c.pipe([("DEL", k) for k in chunk])):
                if r == 1:
                    out.write(k + "\n")
                else:
                    if isinstance(r, Err) and r == OOM:
                        oom += 1
                    st.fail("DEL %s: %r" % (k, r))
    print("deleted %d of %d acknowledged keys (%d DELs answered OOM)"
          % (len(keys), len(acked), oom))
    return 1 if st.bad else 0

def refill(port, cid, tmp, n, deadline):
    """After the deletes: n more SETs must get through."""
    st, c = Stats(), Conn(port)
    counts = dict(acked=0, oom=0, get_ok=0, get_oom=0)
    log = open("%s/acks.g.%s" % (tmp, cid), "w", buffering=1)
    t0 = time.time()
    end = t0 + deadline
    first = None
    oom_before = 0
    i = 0
    while counts["acked"] < n and time.time() < end and not st.bad:
        ok = do_set(c, st, log, "g:%s:%d" % (cid, i), counts) is not None
        i += 1
        if ok and first is None:
            first = time.time() - t0
            oom_before = counts["oom"]
        elif not ok:
            time.sleep(0.01)
    if counts["acked"] < n:
        st.fail("client %s: only %d of %d SETs acknowledged after the "
                "deletes in %d s (%d OOM)" % (cid, counts["acked"], n,
                                              deadline, counts["oom"]))
    print("client %s: %d SETs acknowledged after the deletes (first after "
          "%.3f s and %d OOM answers; %d OOM answers after it)"
          % (cid, counts["acked"], first if first is not None else -1,
             oom_before, counts["oom"] - oom_before))
    return 1 if st.bad else 0

def verify(port, tmp, when):
    """Every acknowledged key not deleted, with its value; the deleted
    and the refused absent; DBSIZE exact."""
    st, c = Stats(), Conn(port)
    acked, refused, deleted = load_acks(tmp)
    live = [(k, h) for k, h in sorted(acked.items()) if k not in deleted]
    counts = dict(get_ok=0, get_oom=0)
    for j in range(0, len(live), 256):
        get_checked(c, st, live[j:j + 256], counts)
    gone = sorted(deleted) + refused
    present = 0
    for j in range(0, len(gone), 256):
        chunk = gone[j:j + 256]
        for k, r in zip(chunk, c.pipe([("EXISTS", k) for k in chunk])):
            if r != 0:
                present += 1
                st.fail("%s: %s %s is there (EXISTS %r)"
                        % (when, "deleted" if k in deleted else
                           "refused (OOM)", k, r))
    r = c.cmd("DBSIZE")
    if r != len(live):
        st.fail("%s: DBSIZE %r, expected %d" % (when, r, len(live)))
    print("%s: %d acknowledged keys verified by value, %d deleted and %d "
          "refused keys absent, DBSIZE %r; %d GETs answered OOM; "
          "%d problems" % (when, counts["get_ok"], len(deleted),
                           len(refused), r, counts["get_oom"], st.bad))
    return 1 if st.bad else 0

def fill_db1(c, tmp, prefix, size):
    """SETs of `size`-byte values in database 1, 16 to a pipeline, until
    a pipeline meets OOM; each acknowledged key and its SHA-1 to
    grow.log.  The count."""
    n = 0
    with open(os.path.join(tmp, "grow.log"), "a") as log:
        while True:
            cmds, vals = [], []
            for j in range(16):
                v = os.urandom(size)
                cmds.append(("SET", "%s:%d" % (prefix, n + j), v))
                vals.append(v)
            rs = c.pipe(cmds)
            full = False
            # a SET after a refused one may fit (a smaller need, room
            # freed meanwhile): every reply counts
            for (cmd, k, v), r in zip(cmds, rs):
                if r == b"OK":
                    log.write("%s %s\n" % (k, sha(v)))
                    n += 1
                elif isinstance(r, Err) and r == OOM:
                    full = True
                else:
                    raise RuntimeError("SET %s answered %r" % (k, r))
            if full:
                return n

def info_pool(c):
    """The pool_* numbers of INFO pkv (redis-py parses INFO itself)."""
    r = c.cmd("INFO", "pkv")
    if isinstance(r, bytes):
        r = r.decode()
    if isinstance(r, str):
        r = dict(l.split(":", 1) for l in r.split("\r\n") if ":" in l)
    return {k: int(v) for k, v in r.items()
            if k.startswith("pool_") and str(v).isdigit()}

def grow(port, tmp):
    """Database 1 filled to OOM; CONFIG SET pool-size a smaller size
    (refused, kept) and twice the size (grown: more fits); then
    pool-auto-grow yes: writes go on to the pool's maximum."""
    st, c = Stats(), Conn(port)
    c.cmd("SELECT", "1")
    before = info_pool(c)
    n0 = fill_db1(c, tmp, "g0", 4096)
    r = c.cmd("CONFIG", "SET", "pool-size", str(before["pool_size"] // 2))
    if not (isinstance(r, Err) and "cannot shrink" in r):
        st.fail("CONFIG SET pool-size smaller answered %r" % (r,))
    want = before["pool_size"] * 2
    r = c.cmd("CONFIG", "SET", "pool-size", str(want))
    if r != b"OK":
        st.fail("CONFIG SET pool-size %d answered %r" % (want, r))
    mid = info_pool(c)
    if mid["pool_size"] < want:
        st.fail("INFO pool_size %d after growing to %d"
                % (mid["pool_size"], want))
    n1 = fill_db1(c, tmp, "g1", 4096)
    if n1 < 100:
        st.fail("only %d SETs fit after the growth" % n1)
    r = c.cmd("CONFIG", "SET", "pool-auto-grow", "yes")
    if r != b"OK":
        st.fail("CONFIG SET pool-auto-grow yes answered %r" % (r,))
    n2 = fill_db1(c, tmp, "g2", 65536)
    end = info_pool(c)
    if end["pool_size"] != end["pool_max_size"] or end["pool_auto_grow"] != 1:
        st.fail("after auto-growth: %r" % (end,))
    if n2 < 100:
        st.fail("only %d SETs fit with pool-auto-grow" % n2)
    print("pool %d: %d SETs to OOM; CONFIG SET pool-size %d: %d more; "
          "pool-auto-grow: %d more of 64 KiB, pool %d of at most %d; "
          "%d problems" % (before["pool_size"], n0, want, n1, n2,
                           end["pool_size"], end["pool_max_size"], st.bad))
    return 1 if st.bad else 0

def grow_verify(port, tmp, when):
    """Every key grow acknowledged, with its value; DBSIZE of db 1; the
    pool at its maximum size, where the growth left it."""
    st, c = Stats(), Conn(port)
    c.cmd("SELECT", "1")
    keys = [l.split() for l in open(os.path.join(tmp, "grow.log"))]
    for j in range(0, len(keys), 64):
        chunk = keys[j:j + 64]
        for (k, h), v in zip(chunk, c.pipe([("GET", k) for k, _ in chunk])):
            if not isinstance(v, bytes) or sha(v) != h:
                st.fail("%s: %s holds %r" % (when, k, v if not
                        isinstance(v, bytes) else "another value"))
    r = c.cmd("DBSIZE")
    if r != len(keys):
        st.fail("%s: DBSIZE of db 1 %r, expected %d" % (when, r, len(keys)))
    pool = info_pool(c)
    if pool["pool_size"] != pool["pool_max_size"]:
        st.fail("%s: the pool is %d bytes, it had grown to %d"
                % (when, pool["pool_size"], pool["pool_max_size"]))
    print("%s: %d keys written while growing verified, pool %d bytes, "
          "%d problems" % (when, len(keys), pool["pool_size"], st.bad))
    return 1 if st.bad else 0

def flush(port, tmp):
    """On the full pool: a 64 KiB SET in database 1 is refused; FLUSHDB
    answers OK, DBSIZE 0, and SETs fit again at once."""
    st, c = Stats(), Conn(port)
    c.cmd("SELECT", "1")
    r = c.cmd("SET", "flush:probe", os.urandom(65536))
    if not (isinstance(r, Err) and r == OOM):
        st.fail("the pool is not full: a 64 KiB SET answered %r" % (r,))
    r = c.cmd("FLUSHDB")
    if r != b"OK":
        st.fail("FLUSHDB on the full pool answered %r" % (r,))
    r = c.cmd("DBSIZE")
    if r != 0:
        st.fail("DBSIZE after FLUSHDB: %r" % (r,))
    n = 0
    for j in range(200):
        r = c.cmd("SET", "after:%d" % j, os.urandom(4096))
        if r == b"OK":
            n += 1
        else:
            st.fail("SET after FLUSHDB answered %r" % (r,))
            break
    print("full pool: FLUSHDB of database 1 answered OK; %d SETs of 4 KiB "
          "after it; %d problems" % (n, st.bad))
    return 1 if st.bad else 0

def shutdown(port):
    c = Conn(port)
    try:
        r = c.cmd("SHUTDOWN")
    except Exception:
        return 0                     # the connection closed: as Redis
    print("SHUTDOWN answered %r" % (r,))
    return 1 if isinstance(r, Err) else 0

random.seed()
cmd, a = sys.argv[1], sys.argv[2:]
try:
    if cmd == "client":
        print("client library:", CLIENT)
        sys.exit(0)
    if cmd == "fill":
        sys.exit(fill(int(a[0]), a[1], a[2], int(a[3]), int(a[4])))
    if cmd == "probe":
        sys.exit(probe(int(a[0]), a[1]))
    if cmd == "delete":
        sys.exit(delete(int(a[0]), a[1], int(a[2])))
    if cmd == "refill":
        sys.exit(refill(int(a[0]), a[1], a[2], int(a[3]), int(a[4])))
    if cmd == "verify":
        sys.exit(verify(int(a[0]), a[1], a[2]))
    if cmd == "shutdown":
        sys.exit(shutdown(int(a[0])))
    if cmd == "grow":
        sys.exit(grow(int(a[0]), a[1]))
    if cmd == "grow_verify":
        sys.exit(grow_verify(int(a[0]), a[1], a[2]))
    if cmd == "flush":
        sys.exit(flush(int(a[0]), a[1]))
except Exception as e:              # a connection lost, a timeout...
    print("    FAIL: %s: %s: %r" % (cmd, type(e).__name__, e))
    sys.exit(2)
sys.exit(99)
EOF

# run_py ARGS -- a step of full.py, never left running (90 s at most).
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout -k 5 90"
PKV_TESTS_DIR=$(cd "$top_srcdir/tests" && pwd); export PKV_TESTS_DIR
run_py() { $TIMEOUT "$PY" "$TMP/full.py" "$@"; }

"$PY" "$TMP/full.py" client | sed 's/^/      /'
srv_start F "$POOL" --pool-size "$POOL_SIZE" --pool-max-size "$POOL_MAX" ||
	{ bad "the server starts"; srv_finish; }
PID=$F_pid
ok "server up on port $F_port, pool of $POOL_SIZE"

# alive PHASE -- the same server process still runs.
alive() {
	if srv_alive F && [ "$(srv_get F pid)" = "$PID" ]; then
		ok "$1: the server (pid $PID) is alive"
	else
		bad "$1: the server (pid $PID) is gone"
		srv_log_tail F 20
		srv_finish
	fi
}

# 1. Fill, and keep going while full.
t0=$(now_ms)
pids=
c=0
while [ $c -lt "$CLIENTS" ]; do
	run_py fill "$F_port" $c "$TMP" "$MIN_OOM" 40 >"$TMP/fill.$c.out" 2>&1 &
	pids="$pids $!"
	c=$((c + 1))
done
# Until every client has seen its OOM errors (or is done).
n=0
while [ $n -lt 2250 ]; do
	nfull=$(ls "$TMP"/full.* 2>/dev/null | wc -l | tr -d ' ')
	[ "$nfull" -ge "$CLIENTS" ] && break
	nap 0.02
	n=$((n + 1))
done
echo "      every client full after $(( $(now_ms) - t0 )) ms"
[ "$nfull" -ge "$CLIENTS" ] && ok "every client got OOM errors" \
	"$MIN_OOM times or more" ||
	bad "only $nfull of $CLIENTS clients filled the pool"
# INFO and DBSIZE while they hammer the full pool.
for i in 1 2 3; do
	run_py probe "$F_port" "$TMP" >"$TMP/probe.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/probe.out"
	[ $rc -eq 0 ] && ok "full ($i): INFO and DBSIZE answer" ||
		bad "full ($i): INFO and DBSIZE (exit $rc)"
	nap 0.3
done
# Stop them (each reads all its own keys back first).
touch "$TMP/stop"
c=0
for p in $pids; do
	wait "$p"
	rc=$?
	sed 's/^/      /' "$TMP/fill.$c.out"
	[ $rc -eq 0 ] && ok "client $c: refused only with the OOM error;" \
		"every GET of its acknowledged keys right while full" ||
		bad "client $c (exit $rc)"
	c=$((c + 1))
done
echo "      phase 1 took $(( $(now_ms) - t0 )) ms"
alive "full"

# 2. Delete a third of the keys; SETs get through again.
run_py delete "$F_port" "$TMP" 3 >"$TMP/del.out" 2>&1
rc=$?
sed 's/^/      /' "$TMP/del.out"
[ $rc -eq 0 ] && ok "DEL works on the full pool" || bad "DEL (exit $rc)"
pids=
c=0
while [ $c -lt "$CLIENTS" ]; do
	run_py refill "$F_port" $c "$TMP" "$REFILL" 20 >"$TMP/refill.$c.out" \
		2>&1 &
	pids="$pids $!"
	c=$((c + 1))
done
c=0
for p in $pids; do
	wait "$p"
	rc=$?
	sed 's/^/      /' "$TMP/refill.$c.out"
	[ $rc -eq 0 ] && ok "client $c: $REFILL SETs succeed after the deletes" ||
		bad "client $c: SETs after the deletes (exit $rc)"
	c=$((c + 1))
done
alive "after the deletes"
run_py verify "$F_port" "$TMP" "before the restart" >"$TMP/v.out" 2>&1
rc=$?
sed 's/^/      /' "$TMP/v.out"
[ $rc -eq 0 ] && ok "before the restart: every acknowledged write is there" ||
	bad "before the restart: writes lost or wrong (exit $rc)"

# 3. SHUTDOWN, check the pool, start again, everything once more.
alive "before SHUTDOWN"
run_py shutdown "$F_port" >"$TMP/sd.out" 2>&1 || bad "SHUTDOWN: $(cat "$TMP/sd.out")"
if srv_wait_exit F; then
	ok "SHUTDOWN: the server exited with status 0"
else
	bad "SHUTDOWN: exit status $srv_rc"
	srv_kill9 F
fi
srv_pkv_check "$POOL" "pkv check after SHUTDOWN"
[ -n "$SRV_PKV_RC" ] && tail -n 1 "$TMP/check.out" | sed 's/^/      /'
if srv_start F "$POOL"; then
	PID=$F_pid
	ok "restarted in $SRV_START_MS ms"
	run_py verify "$F_port" "$TMP" "after the restart" >"$TMP/v.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/v.out"
	[ $rc -eq 0 ] &&
		ok "after the restart: every acknowledged write is there" ||
		bad "after the restart: writes lost or wrong (exit $rc)"
else
	bad "restart after SHUTDOWN"
fi

# 4. Growth, on the same server: CONFIG SET pool-size, then
# pool-auto-grow, filling database 1 to OOM each time; then a restart
# keeps the size and every key of both databases.
run_py grow "$F_port" "$TMP" >"$TMP/grow.out" 2>&1
rc=$?
sed 's/^/      /' "$TMP/grow.out"
[ $rc -eq 0 ] && ok "growth: CONFIG SET pool-size and pool-auto-grow" ||
	bad "growth (exit $rc)"
run_py grow_verify "$F_port" "$TMP" "grown" >"$TMP/gv.out" 2>&1 ||
	bad "grown: writes lost or wrong: $(cat "$TMP/gv.out")"
alive "after growing"
srv_stop F || bad "stop after growing (status $srv_rc)"
if srv_start F "$POOL"; then
	run_py grow_verify "$F_port" "$TMP" "grown, restarted" \
		>"$TMP/gv.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/gv.out"
	[ $rc -eq 0 ] && ok "after a restart: the grown pool has every key" ||
		bad "after a restart: keys written while growing lost"
	run_py verify "$F_port" "$TMP" "grown, restarted" >"$TMP/v.out" 2>&1 ||
		bad "after a restart: database 0 changed: $(cat "$TMP/v.out")"
	# 4b. FLUSHDB empties the full pool's database 1; database 0 stays.
	run_py flush "$F_port" "$TMP" >"$TMP/fl.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/fl.out"
	[ $rc -eq 0 ] && ok "FLUSHDB on the full pool, and SETs after it" ||
		bad "FLUSHDB on the full pool (exit $rc)"
	run_py verify "$F_port" "$TMP" "after FLUSHDB of db 1" \
		>"$TMP/v.out" 2>&1 ||
		bad "FLUSHDB of db 1 changed database 0: $(cat "$TMP/v.out")"
	srv_stop F || bad "final stop (status $srv_rc)"
else
	bad "restart after growing"
fi

# 5. The log: no crash, and every run ended by its own exit.
if grep -Eiq 'segmentation|sigsegv|sigabrt|assert|abort|sanitizer|runtime error|panic|core dump|killed' "$TMP/F.log"; then
	bad "the server log tells of a crash"
	grep -Ei 'segmentation|sigsegv|sigabrt|assert|abort|sanitizer|runtime error|panic|core dump|killed' "$TMP/F.log" | head -5 | sed 's/^/      /'
else
	ok "the server log has no crash"
fi
# Starts that served (a start that found its port taken is retried on
# the next one and never opens the pool).
starts=$(grep -c 'Ready to accept connections' "$TMP/F.log")
byes=$(grep -c 'ready to exit, bye bye' "$TMP/F.log")
[ "$starts" = "$byes" ] && ok "both runs ended cleanly ($byes clean exits)" ||
	bad "$starts starts but $byes clean exits in the log"
srv_finish
