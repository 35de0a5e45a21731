"""server_damage.py -- pkv-server on damaged pools: never a crash or a hang.

Usage: server_damage.py SERVER TMPDIR IMAGES SEED [PKV]

1. A base pool: a server on a fresh 32 MiB pool takes 30,000 keys (some
   with an expiry, a few deleted) in pipelined batches, so its table is
   resized while it fills, and is killed with SIGKILL right after the
   last reply: an unclean pool, likely in the middle of a resize.
2. IMAGES times: a copy of it with one to three of its pointer words
   (8-byte aligned words whose value is an offset inside the pool)
   replaced -- by another offset in the pool, one a few bytes off, a
   flipped bit, or garbage -- drawn from SEED and the image's number, so
   the same images every run.  A server starts on it and either refuses
   it (exit status 1 and a "Cannot open pool" log line naming the
   problem) or serves: DBSIZE, a full SCAN, KEYS, GETs, 2,000 new SETs
   (which move buckets of a resize and wake the background threads),
   DELs, INFO, a pause for its threads, PING, SHUTDOWN NOSAVE.  Replies
   may be errors; the server must answer every command within 20 s, never
   die of a signal, and leave no sanitizer report in its log.
3. A flipped value byte: one byte of a key's value changed in a copy of
   the base pool, closed cleanly first.  `pkv check` (PKV, when given) exits 1 naming a
   checksum mismatch; a server started with --verify-checksums yes
   answers that key's GET with an error, serves the other keys, counts
   the damage in INFO (damage_events, damage_first) and logs it.
Prints one line per image that failed and a summary; exit 0 or 1.
"""
import os, random, shutil, signal, socket, struct, subprocess, sys, time

from resp_client import Conn, Err

server, tmp, images, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4])
pkv_tool = sys.argv[5] if len(sys.argv) > 5 else None
POOL_SIZE = 32 << 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(pool, log, *extra):
    port = free_port()
    p = subprocess.Popen([server, "--port", str(port), "--pool", pool,
                          "--pool-size", str(POOL_SIZE), "--logfile", log,
                          "--loglevel", "notice"] + list(extra),
                         stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
    t0 = time.time()
    while time.time() - t0 < 20:
        if p.poll() is not None:
            return p, None
        try:
            c = Conn(port)
            if c.pipe([("PING",)]) == ["PONG"]:
                return p, port
        except OSError:
            pass
        time.sleep(0.02)
    return p, None


def make_base(path):
    log = os.path.join(tmp, "base.log")
    p, port = start(path, log)
    if not port:
        sys.exit("server_damage: the base server did not start; see " + log)
    c = Conn(port)
    for i in range(0, 30000, 500):
        cmds = []
        for k in range(i, i + 500):
            if k % 7 == 0:
                cmds.append(("SET", "k:%d" % k, "v%d" % k * 3, "EX", 100000))
            else:
                cmds.append(("SET", "k:%d" % k, "v%d" % k * (1 + k % 5)))
        c.pipe(cmds)
    c.pipe([("DEL", "k:%d" % k) for k in range(0, 30000, 97)])
    p.send_signal(signal.SIGKILL)
    p.wait()


def pointer_words(img):
    """Offsets of 8-byte words that hold an offset inside the pool."""
    n = len(img) // 8
    words = struct.unpack("<%dQ" % n, img)
    return [i * 8 for i, w in enumerate(words)
            if 4096 <= w < len(img) and w % 8 == 0 and i * 8 >= 4096]


def damage(img, ptrs, rng):
    b = bytearray(img)
    how = []
    for _ in range(rng.randint(1, 3)):
        off = rng.choice(ptrs)
        old = struct.unpack_from("<Q", b, off)[0]
        kind = rng.randrange(4)
        if kind == 0:
            new = rng.randrange(0, len(b) // 8) * 8
        elif kind == 1:
            new = old + rng.choice((-64, -16, -8, 8, 16, 24, 64))
        elif kind == 2:
            new = old ^ (1 << rng.randrange(64))
        else:
            new = rng.getrandbits(64)
        new &= (1 << 64) - 1
        struct.pack_into("<Q", b, off, new)
        how.append("word at %#x: %#x -> %#x" % (off, old, new))
    return bytes(b), how


def exercise(port, rng):
    c = Conn(port)
    c.pipe([("DBSIZE",)])
    cur = b"0"
    for _ in range(10000):
        r = c.pipe([("SCAN", cur, "COUNT", 1000)])[0]
        if not isinstance(r, list):
            break
        cur = r[0]
        if cur == b"0":
            break
    c.pipe([("KEYS", "k:1*")])
    c.pipe([("GET", "k:%d" % rng.randrange(30000)) for _ in range(200)])
    for i in range(0, 2000, 250):
        c.pipe([("SET", "n:%d" % k, "x" * (k % 50)) for k in
                range(i, i + 250)])
    c.pipe([("DEL", "k:%d" % rng.randrange(30000)) for _ in range(100)])
    c.pipe([("EXISTS", "k:5"), ("TTL", "k:7"), ("INFO",)])
    time.sleep(0.25)
    c.pipe([("PING",)])
    try:
        c.pipe([("SHUTDOWN", "NOSAVE")])
    except OSError:
        pass


def flipped_value(base):
    """A copy with one byte of k:12346's value changed: the number of
    problems found (printed).  The copy is closed cleanly first (pkv gc),
    so no committed record is left to replay over the changed byte (on a
    disk a record carries the block's bytes), and every copy of the
    value in the file is changed: the entry, and stale copies in old
    records, which are harmless."""
    bad = 0
    key, val = b"k:12346", b"v12346" * (1 + 12346 % 5)
    pool = os.path.join(tmp, "flip.pool")
    log = os.path.join(tmp, "flip.log")
    shutil.copy(base, pool)
    if pkv_tool:
        r = subprocess.run([pkv_tool, "gc", pool], capture_output=True,
                           text=True)
        if r.returncode != 0:
            print("FAIL: pkv gc of the copy: exit %d, %r"
                  % (r.returncode, (r.stdout + r.stderr)[-300:]))
            return 1
    b = bytearray(open(pool, "rb").read())
    at = b.find(key + val)
    if at < 0:
        print("FAIL: k:12346 and its value not found in the base image")
        return 1
    while at >= 0:
        b[at + len(key) + 3] ^= 0x20
        at = b.find(key + val, at + 1)
    with open(pool, "wb") as f:
        f.write(bytes(b))
    if pkv_tool:
        r = subprocess.run([pkv_tool, "check", pool], capture_output=True,
                           text=True)
        if r.returncode != 1 or "checksum mismatch" not in r.stdout + \
                r.stderr:
            print("FAIL: pkv check of a flipped value byte: exit %d, %r"
                  % (r.returncode, (r.stdout + r.stderr)[-300:]))
            bad += 1
        else:
            print("pkv check of a flipped value byte: exit 1, "
                  "\"checksum mismatch\"")
    p, port = start(pool, log, "--verify-checksums", "yes")
    if not port:
        print("FAIL: the server did not start on the flipped image")
        p.kill()
        p.wait()
        return bad + 1
    c = Conn(port)
    r = c.pipe([("GET", "k:12346"), ("GET", "k:12345"), ("GET", "k:12347")])
    info = c.pipe([("INFO", "pkv")])[0].decode()
    time.sleep(0.3)                   # the cron logs the damage
    p.send_signal(signal.SIGTERM)
    p.wait()
    text = open(log, errors="replace").read()
    if not (isinstance(r[0], Err) and r[0].startswith("ERR")):
        print("FAIL: GET of the damaged key with verify-checksums: %r"
              % (r[0],))
        bad += 1
    if r[1] != b"v12345" * (1 + 12345 % 5) or \
            r[2] != b"v12347" * (1 + 12347 % 5):
        print("FAIL: the other keys: %r %r" % (r[1], r[2]))
        bad += 1
    if "damage_events:1" not in info or "damage_first:" not in info:
        print("FAIL: INFO pkv after the damaged read: %r" % info[-400:])
        bad += 1
    if "Damage found in the pool" not in text:
        print("FAIL: no damage line in the log")
        bad += 1
    if not bad:
        print("verify-checksums: the damaged key's GET answered %r, its "
              "neighbours served, INFO damage_events:1, the log says so"
              % str(r[0]))
    return bad


def main():
    base = os.path.join(tmp, "base.pool")
    make_base(base)
    img = open(base, "rb").read()
    ptrs = pointer_words(img)
    bad = refused = served = 0
    for n in range(images):
        rng = random.Random(seed * 1000003 + n)
        dimg, how = damage(img, ptrs, rng)
        pool = os.path.join(tmp, "img.pool")
        log = os.path.join(tmp, "img.log")
        with open(pool, "wb") as f:
            f.write(dimg)
        if os.path.exists(log):
            os.unlink(log)
        p, port = start(pool, log)
        problem = None
        if port is None:
            if p.poll() is None:
                problem = "no PING answer within 20 s of the start"
                p.kill()
            p.wait()
            text = open(log, errors="replace").read()
            if p.returncode is None or p.returncode < 0:
                problem = problem or "died of signal %d" % -p.returncode
            elif "Cannot open pool" not in text:
                problem = "exit %d without saying why" % p.returncode
            else:
                refused += 1
        else:
            try:
                exercise(port, rng)
                p.wait(timeout=20)
            except (OSError, EOFError, ValueError,
                    subprocess.TimeoutExpired) as e:
                problem = "while serving: %s" % (e,)
                p.kill()
                p.wait()
            if not problem and p.returncode != 0:
                problem = "exit status %d" % p.returncode
            if not problem:
                served += 1
        text = open(log, errors="replace").read() if os.path.exists(log) \
            else ""
        if not problem and ("ERROR: AddressSanitizer" in text or
                            "runtime error:" in text):
            problem = "a sanitizer report in the log"
        if problem:
            bad += 1
            keep = os.path.join(tmp, "..", "server-damage-%d.pool" % n)
            shutil.copy(pool, keep)
            print("FAIL: image %d (%s): %s; kept as tests/tmp/%s"
                  % (n, "; ".join(how), problem, os.path.basename(keep)))
            print("      " + "\n      ".join(text.strip().split("\n")[-5:]))
    bad += flipped_value(base)
    print("%d damaged images (seed %d, %d pointer words to choose from): "
          "%d refused at start with a message, %d served and shut down "
          "cleanly, %d failed" % (images, seed, len(ptrs), refused, served,
                                  bad))
    return 1 if bad else 0


sys.exit(main())
