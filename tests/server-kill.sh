#!/bin/sh
# server-kill.sh -- every acknowledged write survives a SIGKILL of the
# server.  Each of 3 rounds (SOAK_ROUNDS of them: `make soak` runs 50):
# 4 client processes write SET k:R:C:I vI, INCR cnt:R:C, HSET h:R:C
# f:I vI, RPUSH l:R:C vI, SADD s:R:C mI and ZADD z:R:C I.5 mI in turn
# (and LPOP l:R:C after every third ZADD),
# logging each reply they receive; the server is killed with SIGKILL at a
# moment drawn from SOAK_SEED (default 1: the same draws every run; the
# kill still lands wherever the writers are at that instant), 0.3 to 2 s
# after each has had a first write acknowledged, while they write;
# `pkv check` of the pool, not held by any server now, must find it
# consistent (exit 0, or 3: only garbage the collector reclaims); the
# server is restarted on the same pool (the time from exec to the first
# PONG is printed), and every acknowledged write of every round so far is
# checked:
#   - each acknowledged SET is there with its value;
#   - each counter equals its last acknowledged value, or one more if an
#     INCR was in flight; a SET in flight may or may not be there; nothing
#     past the one in flight is;
#   - each acknowledged HSET's field is in its hash with its value, and
#     no field past the one in flight;
#   - each list holds exactly the values pushed and not popped, in order
#     (give or take the push or pop in flight);
#   - each set holds every member acknowledged, and at most the one in
#     flight; each sorted set likewise, with every score, in order.
# A fifth client overwrites three keys with one MSET, and two keys and a
# counter with one MULTI/EXEC, again and again: after the kill each group
# is whole (never half applied) and not older than its last acknowledgment.
# A sixth sends SETs of 1000 keys over and over, 100 at a time,
# pipelined: a turn that big is submitted and synced while the next turns
# run (the others' turns are committed in the loop); after the kill each
# key holds its last acknowledged value or a later one sent.
# The pool starts at 8 MiB (256 MiB at most) with pool-auto-grow, and a
# seventh client grows it by a chunk every 10 ms (CONFIG SET pool-size), so
# kills land during growth as well: after each, the pool is at least as
# big as the last growth acknowledged.
# A last clean SHUTDOWN and restart checks everything once more.  Needs
# python3 (its standard library only).  An automake test: exit 0 on
# success, 1 on failure, 77 to skip.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}
lib=$top_srcdir/tests/server-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/server-lib.sh
. "$lib" || exit 99

srv_need_python server-kill.sh
srv_setup server-kill

ROUNDS=${SOAK_ROUNDS:-${ROUNDS:-3}}
SEED=${SOAK_SEED:-1}
pkv_clean=0 pkv_garbage=0 survived=0 checked_total=0
echo "      $ROUNDS rounds, SOAK_SEED=$SEED"
# soak_summary -- one line for `make soak`.
soak_summary() {
	_n=$(sed -n 's/.*checked \([0-9]*\) acknowledged.*/\1/p' \
		"$TMP/check.out" 2>/dev/null)
	echo "soak: $survived of $ROUNDS rounds survived (SIGKILL, pkv" \
	     "check, restart, every write there); ${_n:-0} acknowledged" \
	     "writes at the end, $checked_total checked over the rounds;" \
	     "pkv check after the kills: $pkv_clean clean, $pkv_garbage" \
	     "garbage only (SOAK_SEED=$SEED)"
}
CLIENTS=${CLIENTS:-4}
POOL=$TMP/kill.pool

# The writer: SET and INCR in turn, one at a time; a line per reply.
cat >"$TMP/writer.py" <<'EOF'
import socket, sys, time
port, rnd, cid, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def enc(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)

log = open(out, "w", buffering=1)
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(20)
f = s.makefile("rb")
deadline = time.time() + 30          # in case the kill never comes
i = 0
try:
    if cid == "grow":
        # The pool a chunk bigger every 10 ms (CONFIG SET pool-size), up
        # to its maximum; a line per acknowledged growth.
        s.sendall(enc("CONFIG", "GET", "pool-size"))
        for _ in range(4):           # *2, $9, pool-size, $n
            f.readline()
        size = int(f.readline())
        while time.time() < deadline:
            size += 256 * 1024
            s.sendall(enc("CONFIG", "SET", "pool-size", str(size)))
            line = f.readline()
            if not line or line.startswith(b"-"):
                break                # killed, or at its maximum
            if line != b"+OK\r\n":
                log.write("BAD CONFIG SET %d %r\n" % (size, line))
                sys.exit(1)
            log.write("G %d\n" % size)
            time.sleep(0.01)
        sys.exit(0)
    while cid == "pipe" and time.time() < deadline:
        # SETs pipelined 100 at a time (what a turn the server submits
        # without waiting for its sync is made of); a line per reply.
        s.sendall(b"".join(enc("SET", "p:%s:%d" % (rnd, j % 1000),
                               "pv%d-%s" % (j, "x" * (j % 200)))
                           for j in range(i, i + 100)))
        for j in range(i, i + 100):
            line = f.readline()
            if not line:
                raise OSError("closed")
            if line != b"+OK\r\n":
                log.write("BAD PIPE %d %r\n" % (j, line))
                sys.exit(1)
            log.write("Q %d\n" % j)
        i += 100
    while cid == "tx" and time.time() < deadline:
        # Atomic groups: MSET of three keys, then MULTI/EXEC of two SETs
        # and an INCR, each overwriting the same keys with i.
        s.sendall(enc("MSET", "ma:%s" % rnd, str(i), "mb:%s" % rnd, str(i),
                      "mc:%s" % rnd, str(i)))
        line = f.readline()
        if not line:
            break
        if line != b"+OK\r\n":
            log.write("BAD MSET %d %r\n" % (i, line))
            sys.exit(1)
        log.write("M %d\n" % i)
        s.sendall(enc("MULTI") + enc("SET", "tx:%s" % rnd, str(i)) +
                  enc("SET", "ty:%s" % rnd, str(i)) +
                  enc("INCR", "tn:%s" % rnd) + enc("EXEC"))
        lines = [f.readline() for _ in range(5)]
        if not lines[-1]:
            break
        want = [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
                b"+QUEUED\r\n", b"*3\r\n"]
        if lines != want:
            log.write("BAD MULTI %d %r\n" % (i, lines))
            sys.exit(1)
        lines = [f.readline() for _ in range(3)]
        if not lines[-1]:
            break
        if lines[:2] != [b"+OK\r\n", b"+OK\r\n"] or \
           lines[2] != b":%d\r\n" % (i + 1):
            log.write("BAD EXEC %d %r\n" % (i, lines))
            sys.exit(1)
        log.write("T %d\n" % i)
        i += 1
    popped = 0
    while time.time() < deadline:
        val = "v%d-%s" % (i, "x" * (i % 97))
        s.sendall(enc("SET", "k:%s:%s:%d" % (rnd, cid, i), val))
        line = f.readline()
        if not line:
            break
        if line != b"+OK\r\n":
            log.write("BAD SET %d %r\n" % (i, line))
            sys.exit(1)
        log.write("S %d\n" % i)
        s.sendall(enc("INCR", "cnt:%s:%s" % (rnd, cid)))
        line = f.readline()
        if not line:
            break
        if not line.startswith(b":"):
            log.write("BAD INCR %d %r\n" % (i, line))
            sys.exit(1)
        log.write("C %d\n" % int(line[1:]))
        s.sendall(enc("HSET", "h:%s:%s" % (rnd, cid), "f:%d" % i, val))
        line = f.readline()
        if not line:
            break
        if line != b":1\r\n":
            log.write("BAD HSET %d %r\n" % (i, line))
            sys.exit(1)
        log.write("H %d\n" % i)
        # a queue: RPUSH every value, LPOP one every third turn
        s.sendall(enc("RPUSH", "l:%s:%s" % (rnd, cid), val))
        line = f.readline()
        if not line:
            break
        if not line.startswith(b":"):
            log.write("BAD RPUSH %d %r\n" % (i, line))
            sys.exit(1)
        log.write("L %d\n" % i)
        s.sendall(enc("SADD", "s:%s:%s" % (rnd, cid), "m%d" % i))
        line = f.readline()
        if not line:
            break
        if line != b":1\r\n":
            log.write("BAD SADD %d %r\n" % (i, line))
            sys.exit(1)
        log.write("A %d\n" % i)
        s.sendall(enc("ZADD", "z:%s:%s" % (rnd, cid), "%d.5" % i,
                      "m%d" % i))
        line = f.readline()
        if not line:
            break
        if line != b":1\r\n":
            log.write("BAD ZADD %d %r\n" % (i, line))
            sys.exit(1)
        log.write("Z %d\n" % i)
        if i % 3 == 2:
            s.sendall(enc("LPOP", "l:%s:%s" % (rnd, cid)))
            head = f.readline()
            if not head:
                break
            body = f.readline()
            if not body:
                break
            want = "v%d-%s" % (popped, "x" * (popped % 97))
            if body != want.encode() + b"\r\n":
                log.write("BAD LPOP %d %r %r\n" % (i, head, body))
                sys.exit(1)
            log.write("P %d\n" % popped)
            popped += 1
        i += 1
except (OSError, ValueError):
    pass                             # the server was killed
log.close()
EOF

# The checker: every round's logs against the server's contents.
cat >"$TMP/check.py" <<'EOF'
import socket, sys
port, tmp, rounds, clients = (int(sys.argv[1]), sys.argv[2],
                              int(sys.argv[3]), int(sys.argv[4]))
clean = sys.argv[5]       # what INFO's clean_shutdown_before_start must say
s = socket.create_connection(("127.0.0.1", port), 5)
s.settimeout(60)
f = s.makefile("rb")

def enc(*args):
    b = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        b.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(b)

def reply():
    line = f.readline()
    if not line:
        raise SystemExit("connection closed")
    t, rest = line[:1], line[1:-2]
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2]
    if t == b"*":
        return [reply() for _ in range(int(rest))]
    if t == b":":
        return int(rest)
    if t == b"-":
        raise SystemExit("error reply: %r" % line)
    return rest

def mget(keys):
    out = []
    for k in range(0, len(keys), 500):
        s.sendall(enc("MGET", *keys[k:k + 500]))
        out += reply()
    return out

errors = checked = nsets = nincr = ntx = nhset = nlist = nsadd = 0
nzadd = 0
def bad(msg):
    global errors
    errors += 1
    if errors <= 20:
        print("    FAIL:", msg)

for r in range(1, rounds + 1):
    for c in range(clients):
        sets, cnt, last, hs, ls, ps, adds = [], None, None, [], [], [], []
        zs = []
        for line in open("%s/acks.%d.%d" % (tmp, r, c)):
            w = line.split()
            if w[0] == "S":
                sets.append(int(w[1]))
                last = "S"
            elif w[0] == "C":
                cnt = int(w[1])
                last = "C"
            elif w[0] == "H":
                hs.append(int(w[1]))
                last = "H"
            elif w[0] == "L":
                ls.append(int(w[1]))
                last = "L"
            elif w[0] == "P":
                ps.append(int(w[1]))
                last = "P"
            elif w[0] == "A":
                adds.append(int(w[1]))
                last = "A"
            elif w[0] == "Z":
                zs.append(int(w[1]))
                last = "Z"
            else:
                bad("client %d.%d: %s" % (r, c, line.strip()))
        if sets != list(range(len(sets))):
            bad("client %d.%d: acknowledged SETs not in order" % (r, c))
        n = len(sets)
        keys = ["k:%d:%d:%d" % (r, c, i) for i in range(n + 2)]
        vals = mget(keys)
        for i in range(n):
            want = ("v%d-%s" % (i, "x" * (i % 97))).encode()
            if vals[i] != want:
                bad("round %d client %d: acknowledged SET %s lost: got %r"
                    % (r, c, keys[i], vals[i]))
            checked += 1
        nsets += n
        inflight = ("v%d-%s" % (n, "x" * (n % 97))).encode()
        if last in ("S", "C") and vals[n] is not None:
            bad("round %d client %d: %s exists but was never sent"
                % (r, c, keys[n]))
        if vals[n] not in (None, inflight):
            bad("round %d client %d: %s = %r" % (r, c, keys[n], vals[n]))
        if vals[n + 1] is not None:
            bad("round %d client %d: %s exists but was never sent"
                % (r, c, keys[n + 1]))
        s.sendall(enc("GET", "cnt:%d:%d" % (r, c)))
        got = reply()
        got = int(got) if got is not None else 0
        base = cnt or 0
        ok = (got == base) if last in ("C", "H", "L", "P", "A", "Z", None) \
            else \
            got in (base, base + 1)
        if not ok:
            bad("round %d client %d: counter %d, last acknowledged %d "
                "(last reply: %s)" % (r, c, got, base, last))
        nincr += (n if last in ("C", "H", "L", "P", "A", "Z")
                  else max(n - 1, 0))
        # The counter of a fresh round counts the SETs acknowledged.
        if (cnt or 0) != (n if last in ("C", "H", "L", "P", "A", "Z")
                          else max(n - 1, 0)):
            bad("round %d client %d: INCR replies (%s) out of step with "
                "the SETs (%d)" % (r, c, cnt, n))
        # The hash: every acknowledged field, nothing past the one in
        # flight (HSET i follows INCR i).
        if hs != list(range(len(hs))):
            bad("client %d.%d: acknowledged HSETs not in order" % (r, c))
        nh = len(hs)
        s.sendall(enc("HMGET", "h:%d:%d" % (r, c),
                      *["f:%d" % i for i in range(nh + 2)]))
        hv = reply()
        for i in range(nh):
            want = ("v%d-%s" % (i, "x" * (i % 97))).encode()
            if hv[i] != want:
                bad("round %d client %d: acknowledged HSET f:%d lost: got "
                    "%r" % (r, c, i, hv[i]))
        inflight = ("v%d-%s" % (nh, "x" * (nh % 97))).encode()
        if hv[nh] not in (None, inflight) or hv[nh + 1] is not None:
            bad("round %d client %d: fields past the last acknowledged "
                "HSET: %r %r" % (r, c, hv[nh], hv[nh + 1]))
        nhset += nh
        # The queue: every value pushed and not popped, in order; the
        # push in flight (after HSET) may be at the tail, the pop in
        # flight (after every third push) may have taken the head.
        if ls != list(range(len(ls))) or ps != list(range(len(ps))):
            bad("client %d.%d: acknowledged RPUSH/LPOP not in order"
                % (r, c))
        nl, np = len(ls), len(ps)
        s.sendall(enc("LRANGE", "l:%d:%d" % (r, c), "0", "-1"))
        got = reply()
        val = lambda i: ("v%d-%s" % (i, "x" * (i % 97))).encode()
        fits = False
        pop_flight = last == "Z" and (nl - 1) % 3 == 2
        for head in ([np, np + 1] if pop_flight else [np]):
            for tail in ([nl, nl + 1] if last == "H" else [nl]):
                if got == [val(i) for i in range(head, tail)]:
                    fits = True
        if not fits:
            bad("round %d client %d: the queue holds %d values from %r, "
                "%d pushes and %d pops acknowledged (last %s)"
                % (r, c, len(got), got[:1], nl, np, last))
        nlist += nl + np
        # The set: every member acknowledged, and at most the one in
        # flight (SADD i follows RPUSH i).
        if adds != list(range(len(adds))):
            bad("client %d.%d: acknowledged SADDs not in order" % (r, c))
        na = len(adds)
        s.sendall(enc("SMEMBERS", "s:%d:%d" % (r, c)))
        got = set(reply())
        want = {b"m%d" % i for i in range(na)}
        if not (got == want or (last == "L" and got == want | {b"m%d" % na})):
            bad("round %d client %d: the set holds %d members, %d SADDs "
                "acknowledged (last %s)" % (r, c, len(got), na, last))
        nsadd += na
        # The sorted set: every member acknowledged with its score, in
        # order, and at most the one in flight (ZADD i follows SADD i).
        if zs != list(range(len(zs))):
            bad("client %d.%d: acknowledged ZADDs not in order" % (r, c))
        nz = len(zs)
        s.sendall(enc("ZRANGE", "z:%d:%d" % (r, c), "0", "-1",
                      "WITHSCORES"))
        got = reply()
        want = []
        for i in range(nz + (1 if last == "A" else 0)):
            want += [b"m%d" % i, b"%d.5" % i]
        if not (got == want[:2 * nz] or got == want):
            bad("round %d client %d: the sorted set holds %d entries, %d "
                "ZADDs acknowledged (last %s)" % (r, c, len(got) // 2, nz,
                                                  last))
        nzadd += nz
# The pipelining writer (1000 keys, SET p:R:(j % 1000) for j = 0, 1, ...):
# each key holds its last acknowledged value or a later one, sent before
# the kill.
npipe = 0
for r in range(1, rounds + 1):
    acked = [int(l.split()[1]) for l in open("%s/acks.%d.pipe" % (tmp, r))]
    if acked != list(range(len(acked))):
        bad("pipe writer %d: acknowledged SETs not in order" % r)
    n = len(acked)
    sent = (n // 100 + 1) * 100          # the batch in flight ends here
    vals = mget(["p:%d:%d" % (r, k) for k in range(1000)])
    for k in range(1000):
        last = max([j for j in range(k, n, 1000)], default=-1)
        got = -1
        if vals[k] is not None:
            got = int(vals[k].split(b"-")[0][2:])
            if vals[k] != ("pv%d-%s" % (got, "x" * (got % 200))).encode() \
               or got % 1000 != k:
                bad("round %d: p:%d:%d = %r" % (r, r, k, vals[k]))
        if got < last or got >= sent:
            bad("round %d: p:%d:%d holds SET %d; acknowledged %d, sent "
                "below %d" % (r, r, k, got, last, sent))
    npipe += n
# The transactional writer: all or nothing, and nothing acknowledged lost.
for r in range(1, rounds + 1):
    m = t = -1
    for line in open("%s/acks.%d.tx" % (tmp, r)):
        w = line.split()
        if w[0] == "M":
            m = int(w[1])
        elif w[0] == "T":
            t = int(w[1])
        else:
            bad("tx writer %d: %s" % (r, line.strip()))
    ma, mb, mc, tx, ty, tn = mget(["ma:%d" % r, "mb:%d" % r, "mc:%d" % r,
                                   "tx:%d" % r, "ty:%d" % r, "tn:%d" % r])
    if not (ma == mb == mc):
        bad("round %d: MSET half applied: %r %r %r" % (r, ma, mb, mc))
    elif m >= 0 and (ma is None or int(ma) not in (m, m + 1)):
        bad("round %d: MSET acknowledged %d, found %r" % (r, m, ma))
    if not (tx == ty) or (tx is None) != (tn is None) or \
       (tx is not None and int(tn) != int(tx) + 1):
        bad("round %d: EXEC half applied: x=%r y=%r n=%r" % (r, tx, ty, tn))
    elif t >= 0 and (tx is None or int(tx) not in (t, t + 1)):
        bad("round %d: EXEC acknowledged %d, found x=%r" % (r, t, tx))
    ntx += (m + 1) + (t + 1)
s.sendall(enc("INFO", "pkv"))
info = dict(l.split(":", 1) for l in reply().decode().split("\r\n")
            if ":" in l)
print("INFO pkv: clean_shutdown_before_start:%s recovery_time_ms:%s "
      "open_time_ms:%s" % (info.get("clean_shutdown_before_start"),
                           info.get("recovery_time_ms"),
                           info.get("open_time_ms")))
if info.get("clean_shutdown_before_start") != clean:
    bad("INFO pkv: clean_shutdown_before_start:%s, expected %s"
        % (info.get("clean_shutdown_before_start"), clean))
grown = 0
for r in range(1, rounds + 1):
    for line in open("%s/grow.%d" % (tmp, r)):
        grown = max(grown, int(line.split()[1]))
if int(info.get("pool_size", 0)) < grown:
    bad("the pool was grown to %d bytes (acknowledged), it is %s"
        % (grown, info.get("pool_size")))
print("pool_size:%s, at least the last growth acknowledged (%d)"
      % (info.get("pool_size"), grown))
print("checked %d acknowledged writes: %d SETs one by one, %d INCRs "
      "through their counters, %d HSETs through their hashes, %d RPUSHes "
      "and LPOPs through their lists, %d SADDs through their sets, %d "
      "ZADDs through their sorted sets, %d MSETs and EXECs through their "
      "keys, %d pipelined SETs; %d problems"
      % (nsets + nincr + nhset + nlist + nsadd + nzadd + ntx + npipe, nsets,
         nincr, nhset, nlist, nsadd, nzadd, ntx, npipe, errors))
sys.exit(1 if errors else 0)
EOF

# The pool starts at its smallest and grows as the writers fill it
# (pool-auto-grow), so kills land while it grows too.
srv_start K "$POOL" --pool-size 8mb --pool-max-size 256mb --pool-auto-grow yes ||
	{ bad "the server starts"; srv_finish; }
ok "server up on port $K_port in $SRV_START_MS ms (new pool of 8 MiB)"
# Where the pool lives decides what a kill tests: on a disk (the file
# backend) every acknowledged write went through a sync of the log.
BACKEND=$(grep -o 'Persistence: [a-z]* backend' "$TMP/K.log" 2>/dev/null |
	  head -1)
echo "      ${BACKEND:-Persistence: backend not logged} ($POOL)"

round=1
while [ $round -le "$ROUNDS" ]; do
	pids= acks="$TMP/acks.$round.tx"
	c=0
	while [ $c -lt "$CLIENTS" ]; do
		timeout 60 "$PY" "$TMP/writer.py" "$K_port" $round $c \
			"$TMP/acks.$round.$c" &
		pids="$pids $!"
		acks="$acks $TMP/acks.$round.$c"
		c=$((c + 1))
	done
	# and one writer of MSETs and MULTI/EXEC transactions, and one that
	# grows the pool
	timeout 60 "$PY" "$TMP/writer.py" "$K_port" $round tx \
		"$TMP/acks.$round.tx" &
	pids="$pids $!"
	timeout 60 "$PY" "$TMP/writer.py" "$K_port" $round pipe \
		"$TMP/acks.$round.pipe" &
	pids="$pids $!"
	acks="$acks $TMP/acks.$round.pipe"
	timeout 60 "$PY" "$TMP/writer.py" "$K_port" $round grow \
		"$TMP/grow.$round" &
	pids="$pids $!"
	# Until every writer has had a write acknowledged (30 s at most:
	# longer is a hang); the server may stall for a while, as when a
	# table resize holds the writes back.
	t0=$(now_ms)
	w=0
	while [ $w -lt 1500 ]; do
		all=1
		for f in $acks; do
			[ -s "$f" ] || all=0
		done
		[ $all -eq 1 ] && break
		nap 0.02
		w=$((w + 1))
	done
	w=$(( $(now_ms) - t0 ))
	if [ $all -eq 0 ]; then
		bad "round $round: some writer had no write acknowledged" \
		    "in $w ms"
	elif [ $w -gt 1000 ]; then
		echo "      round $round: the first writes were acknowledged" \
		     "only after $w ms"
	fi
	# Kill after 0.3 to 2 s more of writing (a pseudo-random moment).
	ms=$(( (SEED * 7919 + round * 104729) % 1000003 ))
	ms=$(( 300 + ms * 2654435761 % 1700 ))
	nap "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	if srv_alive K; then
		srv_kill9 K
		# 137 = 128 + SIGKILL: it did not exit by itself first
		if [ "$srv_rc" = 137 ]; then
			ok "round $round: server killed with SIGKILL while" \
			   "writing"
		else
			bad "round $round: server killed with SIGKILL" \
			    "(exit status $srv_rc, not 137)"
		fi
	else
		bad "round $round: the server died before the kill"
		srv_wait K
	fi
	for p in $pids; do
		wait "$p" || bad "round $round: a writer failed (exit $?)"
	done
	n=$(cat "$TMP"/acks.$round.* | wc -l | tr -d ' ')
	ntx=$(wc -l <"$TMP/acks.$round.tx" | tr -d ' ')
	echo "      round $round: $n writes acknowledged before the kill" \
	     "($ntx of them MSETs and EXECs)"
	[ "$n" -gt 0 ] || bad "round $round: no write was acknowledged"
	# The pool as the crash left it: consistent, garbage at most.
	healthy=1
	srv_pkv_check "$POOL" "round $round: pkv check after the kill"
	case $SRV_PKV_RC in
	'') ;;
	0) pkv_clean=$((pkv_clean + 1)) ;;
	3) pkv_garbage=$((pkv_garbage + 1)) ;;
	*) healthy=0
	   cp "$POOL" "$TMP/../server-kill-round$round.pool" 2>/dev/null &&
		echo "      the pool is kept in" \
		     "tests/tmp/server-kill-round$round.pool" ;;
	esac
	if srv_start K "$POOL" --pool-auto-grow yes; then
		ok "round $round: restarted after SIGKILL; exec to first PONG:" \
		   "$SRV_START_MS ms, pool of $(wc -c <"$POOL" | tr -d ' ') bytes"
	else
		bad "round $round: restart after SIGKILL"
		soak_summary
		srv_finish
	fi
	"$PY" "$TMP/check.py" "$K_port" "$TMP" $round "$CLIENTS" 0 \
		>"$TMP/check.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/check.out"
	if [ $rc -eq 0 ]; then
		ok "round $round: every acknowledged write of rounds 1-$round" \
		   "is there"
		[ $healthy -eq 1 ] && survived=$((survived + 1))
		n=$(sed -n 's/.*checked \([0-9]*\) acknowledged.*/\1/p' \
			"$TMP/check.out")
		checked_total=$((checked_total + ${n:-0}))
	else
		bad "round $round: acknowledged writes lost (exit $rc)"
	fi
	round=$((round + 1))
done

# A clean stop and start, and everything once more.
if srv_stop K; then
	ok "clean stop after the rounds"
else
	bad "clean stop after the rounds (status $srv_rc)"
fi
if srv_start K "$POOL" --pool-auto-grow yes; then
	ok "restarted after a clean stop in $SRV_START_MS ms"
	"$PY" "$TMP/check.py" "$K_port" "$TMP" "$ROUNDS" "$CLIENTS" 1 \
		>"$TMP/check.out" 2>&1
	rc=$?
	sed 's/^/      /' "$TMP/check.out"
	[ $rc -eq 0 ] && ok "after the clean restart: every write is there" ||
		bad "after the clean restart: writes lost (exit $rc)"
	srv_stop K || bad "final stop (status $srv_rc)"
else
	bad "restart after a clean stop"
fi
soak_summary
srv_finish
