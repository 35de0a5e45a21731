#!/usr/bin/env python3
"""server_obuf.py -- client-output-buffer-limit and the output-buffer
accounting of pkv-server, through raw sockets (a client that never reads
must be one we control byte for byte).

    PKV_TEST_PORT=PORT [PKV_TEST_LOG=server.log] server_obuf.py

server-obuf.sh starts the server and runs this.  PKV_TEST_TARGET=redis runs
the same checks against a real redis-server 7.0 (to check the test
itself): the checks of what Redis 7.0 lacks (the disconnection counter,
pkv's log) are then skipped.  The expected error texts were recorded from
redis-server 7.0.15.

Nothing here depends on the machine's speed: waits are for an event, with
timeouts that only catch a hang, and the one sleep (the soft limit's
seconds) is a lower bound.  Exit 0 if every check passes, 1 if any fails.
"""
import os
import sys
import time

import resp_client
from resp_client import Err

PORT = int(os.environ.get("PKV_TEST_PORT") or sys.argv[1])
TARGET = os.environ.get("PKV_TEST_TARGET", "pkv")
PKV = TARGET == "pkv"
LOG = os.environ.get("PKV_TEST_LOG", "")
HOST = "127.0.0.1"
HANG = 120          # seconds: only a hang takes this long

MB = 1024 * 1024
BIG = 10 * MB       # the testers' value
check = resp_client.Checks()


def Conn(small_window=False):
    """A raw connection (resp_client.Conn) that waits HANG for replies."""
    return resp_client.Conn(PORT, HOST, HANG, small_window)


def text(v):
    return v.decode() if isinstance(v, bytes) else v


def info(c, section):
    """INFO section as a dict of strings."""
    d = {}
    for line in text(c.call("INFO", section)).split("\r\n"):
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            d[k] = v
    return d


def client_fields(c, name):
    """CLIENT LIST fields of the client called name, or None."""
    for line in text(c.call("CLIENT", "LIST")).splitlines():
        f = dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
        if f.get("name") == name:
            return f
    return None


def wait_gone(c, name):
    """Wait (HANG at most) until no client is called name; True if so."""
    end = time.monotonic() + HANG
    while time.monotonic() < end:
        if client_fields(c, name) is None:
            return True
        time.sleep(0.05)
    return False


def proc_kb(pid, field):
    """VmRSS or VmHWM of pid, in kB; None where /proc does not say."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def disconnections(c):
    v = info(c, "stats").get("client_output_buffer_limit_disconnections")
    return None if v is None else int(v)


OBL = "client-output-buffer-limit"
DEFAULT = ("normal 0 0 0 slave 268435456 67108864 60 "
           "pubsub 33554432 8388608 60")
E_PREFIX = ("ERR CONFIG SET failed (possibly related to argument "
            "'client-output-buffer-limit') - ")
E_COUNT = E_PREFIX + ("Wrong number of arguments in buffer limit "
                      "configuration.")
E_CLASS = E_PREFIX + ("Invalid client class specified in buffer limit "
                      "configuration.")
E_VALUE = E_PREFIX + ("Error in hard, soft or soft_seconds setting in "
                      "buffer limit configuration.")
M_PREFIX = ("ERR CONFIG SET failed (possibly related to argument "
            "'maxmemory-clients') - ")


def obl(c):
    return text(c.call("CONFIG", "GET", OBL)[1])


def test_config(c):
    """CONFIG GET and SET, every answer as Redis 7.0.15 gives it."""
    check("CONFIG GET client-output-buffer-limit: Redis 7's defaults",
          c.call("CONFIG", "GET", OBL) == [OBL.encode(), DEFAULT.encode()],
          repr(c.call("CONFIG", "GET", OBL)))
    check("CONFIG GET *output-buffer*",
          c.call("CONFIG", "GET", "*output-buffer*") ==
          [OBL.encode(), DEFAULT.encode()])
    # (value, the error or None, CONFIG GET afterwards)
    cases = [
        ("wrong number", E_COUNT, DEFAULT),
        ("normal 1 2", E_COUNT, DEFAULT),
        ("normal 1 2 3 replica", E_COUNT, DEFAULT),
        ("invalid_class 10mb 10mb 60", E_CLASS, DEFAULT),
        ("master 10mb 10mb 60", E_CLASS, DEFAULT),
        ("normal 10mbs 10mb 60", E_VALUE, DEFAULT),
        ("normal 10mb 10mbs 60", E_VALUE, DEFAULT),
        ("normal 10mb 10mb 60s", E_VALUE, DEFAULT),
        ("normal 10mb 10mb -1", E_VALUE, DEFAULT),
        ("normal -1 10mb 60", E_VALUE, DEFAULT),
        ("normal +5 2 3", E_VALUE, DEFAULT),
        ("normal 1.5mb 2 3", E_VALUE, DEFAULT),
        ("normal 1 2 3.5", E_VALUE, DEFAULT),
        ("normal 1 2 99999999999999999999", E_VALUE, DEFAULT),
        # checked whole before anything changes
        ("normal 5 6 7 bogus 1 2 3", E_CLASS, DEFAULT),
        ("normal 5 6 7 pubsub 1 2 x", E_VALUE, DEFAULT),
        # CONFIG SET splits on each space: "  " holds an empty word
        ("normal  1   2   3 ", E_COUNT, DEFAULT),
        (" normal 1 2", E_CLASS, DEFAULT),
        ("", None, DEFAULT),
        ("NORMAL 1k 2kb 3", None, "normal 1000 2048 3 slave 268435456 "
         "67108864 60 pubsub 33554432 8388608 60"),
        ("replica 1mb 2MB 4", None, "normal 1000 2048 3 slave 1048576 "
         "2097152 4 pubsub 33554432 8388608 60"),
        ("pubsub 1 2 3 slave 4g 5gb 6", None, "normal 1000 2048 3 slave "
         "4000000000 5368709120 6 pubsub 1 2 3"),
        ("normal 1b 2 +3", None, "normal 1 2 3 slave 4000000000 "
         "5368709120 6 pubsub 1 2 3"),
        ("normal  1 2", None, "normal 0 1 2 slave 4000000000 5368709120 6 "
         "pubsub 1 2 3"),
        ("normal 1 2 4294967297", None, "normal 1 2 1 slave 4000000000 "
         "5368709120 6 pubsub 1 2 3"),
        ("normal 0 0 0 normal 7 8 9", None, "normal 7 8 9 slave "
         "4000000000 5368709120 6 pubsub 1 2 3"),
        (DEFAULT, None, DEFAULT),
    ]
    for value, err, after in cases:
        got = c.call("CONFIG", "SET", OBL, value)
        want = Err(err) if err else "OK"
        check("CONFIG SET %s %r: %s" % (OBL, value, err or "OK"),
              got == want and isinstance(got, Err) == bool(err),
              "got %r" % got)
        got = obl(c)
        check("  then CONFIG GET: %s" % after, got == after, "got %r" % got)
    # maxmemory-clients: accepted and reported as Redis 7 does
    check("CONFIG GET maxmemory-clients: 0",
          c.call("CONFIG", "GET", "maxmemory-clients") ==
          [b"maxmemory-clients", b"0"])
    for value, err, after in [
            ("10%", None, "10%"), ("1mb", None, "1048576"),
            ("101%", "percentage argument must be less or equal to 100",
             "1048576"),
            ("-5", "argument must be a memory or percent value", "1048576"),
            ("10.5%", "argument must be a memory or percent value",
             "1048576"),
            ("0", None, "0")]:
        got = c.call("CONFIG", "SET", "maxmemory-clients", value)
        want = Err(M_PREFIX + err) if err else "OK"
        check("CONFIG SET maxmemory-clients %r: %s" % (value, err or "OK"),
              got == want, "got %r" % got)
        got = text(c.call("CONFIG", "GET", "maxmemory-clients")[1])
        check("  then CONFIG GET: %s" % after, got == after, "got %r" % got)


def test_small_limit(c):
    """A limit of 1 byte still lets a client have its small replies (they
    fit in the 16 KiB Redis's limits do not count); a bigger one closes
    it, unsent."""
    c.call("SET", "obuf:20k", b"z" * 20000)
    k = Conn()
    k.call("CLIENT", "SETNAME", "tiny")
    check("CONFIG SET normal 1 1 0: answered +OK to the client itself",
          k.call("CONFIG", "SET", OBL, "normal 1 1 0") == "OK")
    check("  small replies still come", k.call("PING") == "PONG" and
          k.call("GET", "obuf:none") is None)
    k.send_commands(("GET", "obuf:20k"))
    got = k.drain_to_eof()
    check("  a 20000-byte reply closes the client, the reply unsent",
          got is not None and got < 20000, "received %r bytes" % got)
    k.close()
    c.call("CONFIG", "SET", OBL, "normal 0 0 0")
    check("  the client is gone, the others are served",
          wait_gone(c, "tiny") and c.call("PING") == "PONG")


def test_accounting_and_soft_limit(c):
    """A client that does not read: CLIENT LIST's obl/oll/omem/tot-mem,
    INFO's client_recent_max_output_buffer and mem_clients_normal; then
    the soft limit closes it, but only when it stays over the limit for
    more than soft-seconds."""
    c.call("SET", "obuf:1m", b"m" * MB)
    before = disconnections(c)
    k = Conn(small_window=True)
    k.call("CLIENT", "SETNAME", "stuck")
    k.send_commands(*[("GET", "obuf:1m")] * 20)
    end = time.monotonic() + HANG
    f = client_fields(c, "stuck")
    while f and int(f["omem"]) == 0 and time.monotonic() < end:
        time.sleep(0.05)
        f = client_fields(c, "stuck")
    check("CLIENT LIST: a client behind on 20 MB shows omem > 0",
          f and int(f["omem"]) > 0, repr(f))
    if not f or int(f["omem"]) == 0:
        return
    omem = int(f["omem"])
    if PKV:   # one buffer: its first 16 KiB as obl, the rest as omem
        check("  obl=16384 oll=1", f["obl"] == "16384" and
              f["oll"] == "1", repr(f))
    else:     # Redis may have sent its fixed buffer already
        check("  obl<=16384 oll>=1", int(f["obl"]) <= 16384 and
              int(f["oll"]) >= 1, repr(f))
    check("  tot-mem >= omem + obl",
          int(f["tot-mem"]) >= omem + int(f["obl"]), repr(f))
    # pkv notes the peak when output is appended, Redis samples it (and
    # mem_clients_normal) from its cron: a PING from the stuck client
    # appends again, and a slow machine or a late cron gets another turn.
    peak = mem = 0
    for _ in range(50):
        k.send_commands(("PING",))
        i = info(c, "clients")
        i.update(info(c, "memory"))
        peak = int(i.get("client_recent_max_output_buffer", 0))
        mem = int(i.get("mem_clients_normal", 0))
        if peak >= MB and mem >= MB:
            break
        time.sleep(0.1)
    check("INFO client_recent_max_output_buffer: at least 1 MB",
          peak >= MB, "got %d" % peak)
    check("INFO mem_clients_normal: at least 1 MB", mem >= MB,
          "got %d" % mem)
    check("INFO mem_clients_slaves:0", i.get("mem_clients_slaves") == "0")

    # Over the soft limit with no hard limit: not closed at the first
    # append seen over it, closed at one more than 2 seconds later.
    c.call("CONFIG", "SET", OBL, "normal 0 4mb 2")
    k.send_commands(("ECHO", "soft"))
    end = time.monotonic() + HANG
    f = client_fields(c, "stuck")
    while f and f.get("cmd") != "echo" and time.monotonic() < end:
        time.sleep(0.05)   # until its ECHO has run: the clock started
        f = client_fields(c, "stuck")
    check("soft limit: still connected after an append over it",
          f is not None and f.get("cmd") == "echo", repr(f))
    time.sleep(3.2)   # a lower bound: whole seconds, more than 2 apart
    k.send_commands(("PING",))
    check("  closed at an append more than soft-seconds later",
          wait_gone(c, "stuck"))
    k.close()
    if before is not None:
        check("  client_output_buffer_limit_disconnections +1",
              disconnections(c) == before + 1)
    c.call("CONFIG", "SET", OBL, "normal 0 0 0")


def flood_log_lines():
    """Lines of the log on closing the client called flood."""
    with open(LOG, errors="replace") as f:
        return sum(1 for ln in f if "name=flood " in ln and
                   ln.rstrip().endswith("scheduled to be closed ASAP for "
                                        "overcoming of output buffer "
                                        "limits."))


def test_flood(c):
    """The testers' case: 150 pipelined GETs of a 10 MB value from a
    client that never reads, under normal 8mb 4mb 10.  It is closed at
    its limit, the server's memory stays within the limit plus 64 MB
    (over what it held before, and the value), and another client is
    served meanwhile."""
    pid = int(info(c, "server")["process_id"])
    c.call("SET", "obuf:big", b"x" * BIG)
    check("CONFIG SET %s \"normal 8mb 4mb 10\"" % OBL,
          c.call("CONFIG", "SET", OBL, "normal 8mb 4mb 10") == "OK")
    before = disconnections(c)
    logged = flood_log_lines() if PKV and LOG else 0
    # The high-water mark from here on, where the kernel lets us reset
    # it; else since the start, which only makes the bound looser.
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass
    base = proc_kb(pid, "VmHWM") or proc_kb(pid, "VmRSS")
    k = Conn(small_window=True)
    k.call("CLIENT", "SETNAME", "flood")
    k.send_commands(*[("GET", "obuf:big")] * 150)
    check("another client is served meanwhile (PING answered)",
          c.call("PING") == "PONG")
    gone = wait_gone(c, "flood")
    check("the flooding client is closed", gone)
    if gone:
        got = k.drain_to_eof()
        check("  it got less than its 150 replies (%r bytes)" % got,
              got is not None and got < 150 * BIG)
    k.close()
    peak = proc_kb(pid, "VmHWM")
    if base is not None and peak is not None:
        bound = base + (8 * MB + 64 * MB + BIG) // 1024
        check("server memory: peak %d kB <= %d kB (before %d kB + limit "
              "8 MB + 64 MB + the 10 MB value)" % (peak, bound, base),
              peak <= bound)
    else:
        print("skip: no /proc/%d/status VmHWM" % pid)
    if before is not None:
        check("INFO client_output_buffer_limit_disconnections +1",
              disconnections(c) == before + 1,
              "%s -> %s" % (before, disconnections(c)))
    elif PKV:
        check("INFO has client_output_buffer_limit_disconnections", False)
    if PKV and LOG:
        lines = flood_log_lines() - logged
        check("the log says so, as Redis: Client id=... name=flood ... "
              "scheduled to be closed ASAP ...", lines == 1,
              "%d such lines" % lines)
    check("the server still serves: GET of the 10 MB value's length",
          c.call("STRLEN", "obuf:big") == BIG)
    c.call("CONFIG", "SET", OBL, DEFAULT)


def main():
    c = Conn()
    c.call("CONFIG", "SET", OBL, DEFAULT)
    test_config(c)
    test_small_limit(c)
    test_accounting_and_soft_limit(c)
    test_flood(c)
    c.call("DEL", "obuf:big", "obuf:1m", "obuf:20k")
    c.close()
    print("%d of %d checks failed" % (check.failures, check.checks)
          if check.failures else "all %d checks passed" % check.checks)
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
