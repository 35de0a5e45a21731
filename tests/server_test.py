#!/usr/bin/env python3
"""server_test.py -- pkv-server through redis-py (the Debian python3-redis)
and through a small raw RESP2/RESP3 client of our own, for exact replies.

    server_test.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh starts the server and runs this.  PKV_TEST_TARGET=redis runs
the same tests against a real redis-server (to check the tests
themselves): the pkv-only checks (INFO pkv, GC) are then skipped.  Every
test empties the server first (FLUSHALL).  Exit 0 if all pass, 1 if any
fails, 77 if redis-py is missing.
"""
import os
import random
import sys
import time
import unittest

from resp_client import (Conn, Double, Err, Map, RespSet, Simple,
                         Verbatim)

try:
    import redis
except ImportError:
    print("server_test.py: python3-redis (import redis) not available; "
          "skipping")
    sys.exit(77)

PORT = int(os.environ.get("PKV_TEST_PORT") or
           (sys.argv.pop(1) if len(sys.argv) > 1 else 0))
TARGET = os.environ.get("PKV_TEST_TARGET", "pkv")
PKV = TARGET == "pkv"
HOST = "127.0.0.1"


def client(db=0, **kw):
    """A redis-py client speaking RESP2."""
    return redis.Redis(host=HOST, port=PORT, db=db, socket_timeout=60, **kw)


# ---- a raw RESP client: exact replies, RESP3 types kept apart ------------

def Raw():
    """A raw connection to the server under test (resp_client.Conn)."""
    return Conn(PORT, HOST)


class Base(unittest.TestCase):
    def setUp(self):
        self.r = client()
        self.r.flushall()
        self.others = []

    def tearDown(self):
        for o in self.others:
            try:
                o.close()
            except Exception:
                pass
        self.r.close()

    def raw(self):
        c = Raw()
        self.others.append(c)
        return c

    def client(self, db=0):
        c = client(db)
        self.others.append(c)
        return c

    def assertErr(self, text, *args, conn=None):
        """The command's reply is exactly the error text."""
        c = conn or self.raw()
        got = c.call(*args)
        self.assertIsInstance(got, Err, "%r gave %r, not an error" %
                              (args, got))
        self.assertEqual(text, got, "error text of %r" % (args,))


# ---- strings ---------------------------------------------------------------

class Strings(Base):
    def test_set_get(self):
        r = self.r
        self.assertTrue(r.set("k", "v"))
        self.assertEqual(b"v", r.get("k"))
        self.assertIsNone(r.get("missing"))
        self.assertTrue(r.set("k", b"\x00\xff\r\n binary"))
        self.assertEqual(b"\x00\xff\r\n binary", r.get("k"))
        self.assertTrue(r.set("empty", ""))
        self.assertEqual(b"", r.get("empty"))
        self.assertEqual(1, r.exists("empty"))
        self.assertTrue(r.set("n", 12345))
        self.assertEqual(b"12345", r.get("n"))

    def test_set_ex_px(self):
        r = self.r
        self.assertTrue(r.set("k", "v", ex=100))
        self.assertTrue(70 <= r.ttl("k") <= 100, r.ttl("k"))
        self.assertTrue(r.set("k", "v", px=50000))
        self.assertTrue(20000 <= r.pttl("k") <= 50000, r.pttl("k"))
        self.assertTrue(r.set("k", "v", exat=int(time.time()) + 1000))
        self.assertTrue(970 <= r.ttl("k") <= 1000, r.ttl("k"))
        self.assertTrue(r.set("k", "v",
                              pxat=int(time.time() * 1000) + 200000))
        self.assertTrue(170 <= r.ttl("k") <= 200, r.ttl("k"))
        self.assertTrue(r.set("k", "v"))
        self.assertEqual(-1, r.ttl("k"))

    def test_set_expires(self):
        r = self.r
        r.set("short", "v", px=100)
        r.set("long", "v", ex=100)
        time.sleep(0.35)
        self.assertIsNone(r.get("short"))
        self.assertEqual(0, r.exists("short"))
        self.assertEqual(-2, r.ttl("short"))
        self.assertEqual(b"v", r.get("long"))

    def test_set_nx_xx(self):
        r = self.r
        self.assertIsNone(r.set("k", "v", xx=True))
        self.assertIsNone(r.get("k"))
        self.assertTrue(r.set("k", "v1", nx=True))
        self.assertIsNone(r.set("k", "v2", nx=True))
        self.assertEqual(b"v1", r.get("k"))
        self.assertTrue(r.set("k", "v3", xx=True))
        self.assertEqual(b"v3", r.get("k"))

    def test_set_keepttl_get(self):
        r = self.r
        r.set("k", "v1", ex=100)
        self.assertTrue(r.set("k", "v2", keepttl=True))
        self.assertTrue(70 <= r.ttl("k") <= 100)
        self.assertEqual(b"v2", r.get("k"))
        self.assertEqual(b"v2", r.set("k", "v3", get=True))
        self.assertEqual(-1, r.ttl("k"))      # plain SET drops the TTL
        self.assertIsNone(r.set("new", "x", get=True))
        self.assertEqual(b"x", r.get("new"))
        # NX with GET (allowed since Redis 7.0)
        self.assertEqual(b"x", r.set("new", "y", nx=True, get=True))
        self.assertEqual(b"x", r.get("new"))

    def test_set_errors(self):
        c = self.raw()
        self.assertErr("ERR syntax error", "SET", "k", "v", "NX", "XX",
                       conn=c)
        self.assertErr("ERR syntax error", "SET", "k", "v", "EX", "10",
                       "PX", "100", conn=c)
        self.assertErr("ERR syntax error", "SET", "k", "v", "EX", "10",
                       "KEEPTTL", conn=c)
        self.assertErr("ERR syntax error", "SET", "k", "v", "BOGUS", conn=c)
        self.assertErr("ERR syntax error", "SET", "k", "v", "EX", conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "SET", "k", "v", "EX", "abc", conn=c)
        self.assertErr("ERR invalid expire time in 'set' command",
                       "SET", "k", "v", "EX", "0", conn=c)
        self.assertErr("ERR invalid expire time in 'set' command",
                       "SET", "k", "v", "PX", "-5", conn=c)
        self.assertErr("ERR wrong number of arguments for 'set' command",
                       "SET", "k", conn=c)
        self.assertEqual(0, c.call("EXISTS", "k"))

    def test_getset_getdel(self):
        r = self.r
        self.assertIsNone(r.getset("k", "v1"))
        self.assertEqual(b"v1", r.getset("k", "v2"))
        self.assertEqual(b"v2", r.get("k"))
        r.expire("k", 100)
        r.getset("k", "v3")
        self.assertEqual(-1, r.ttl("k"))
        self.assertEqual(b"v3", r.getdel("k"))
        self.assertEqual(0, r.exists("k"))
        self.assertIsNone(r.getdel("k"))

    def test_getex(self):
        r = self.r
        self.assertIsNone(r.getex("missing", ex=10))
        self.assertEqual(0, r.exists("missing"))
        r.set("k", "v")
        self.assertEqual(b"v", r.getex("k"))
        self.assertEqual(-1, r.ttl("k"))
        self.assertEqual(b"v", r.getex("k", ex=100))
        self.assertTrue(70 <= r.ttl("k") <= 100)
        self.assertEqual(b"v", r.getex("k", px=200000))
        self.assertTrue(170 <= r.ttl("k") <= 200)
        self.assertEqual(b"v", r.getex("k", exat=int(time.time()) + 300))
        self.assertTrue(270 <= r.ttl("k") <= 300)
        self.assertEqual(b"v", r.getex("k", persist=True))
        self.assertEqual(-1, r.ttl("k"))
        c = self.raw()
        self.assertErr("ERR invalid expire time in 'getex' command",
                       "GETEX", "k", "EX", "0", conn=c)
        self.assertErr("ERR syntax error", "GETEX", "k", "EX", "10",
                       "PERSIST", conn=c)

    def test_mget_mset_msetnx(self):
        r = self.r
        self.assertTrue(r.mset({"a": "1", "b": "2", "c": "3"}))
        self.assertEqual([b"1", None, b"3"], r.mget("a", "nope", "c"))
        self.assertEqual([b"2", b"2"], r.mget(["b", "b"]))
        self.assertFalse(r.msetnx({"c": "x", "d": "4"}))
        self.assertEqual(b"3", r.get("c"))
        self.assertEqual(0, r.exists("d"))
        self.assertTrue(r.msetnx({"d": "4", "e": "5"}))
        self.assertEqual([b"4", b"5"], r.mget("d", "e"))
        # the same key twice: the last value wins
        r.mset({"a": "old"})
        self.raw().call("MSET", "dup", "1", "dup", "2")
        self.assertEqual(b"2", r.get("dup"))
        self.assertErr("ERR wrong number of arguments for 'mset' command",
                       "MSET", "a", "1", "b")
        self.assertErr("ERR wrong number of arguments for 'mget' command",
                       "MGET")

    def test_mset_many(self):
        r = self.r
        m = {"many:%d" % i: "v%d" % i for i in range(150)}
        self.assertTrue(r.mset(m))
        self.assertEqual(150, r.dbsize())
        self.assertEqual([v.encode() for v in m.values()],
                         r.mget(list(m.keys())))

    def test_mset_1000_keys(self):
        """One MSET of 1000 new keys (Redis has no limit but the
        query buffer)."""
        r = self.r
        m = {"big:%d" % i: "value %d" % i for i in range(1000)}
        self.assertTrue(r.mset(m))
        self.assertEqual(1000, r.dbsize())
        self.assertEqual([v.encode() for v in m.values()],
                         r.mget(list(m.keys())))
        self.assertEqual(1000, r.delete(*m.keys()))

    def test_incr_decr(self):
        r = self.r
        self.assertEqual(1, r.incr("n"))
        self.assertEqual(11, r.incrby("n", 10))
        self.assertEqual(10, r.decr("n"))
        self.assertEqual(-5, r.decrby("n", 15))
        self.assertEqual(b"-5", r.get("n"))
        self.assertEqual(-1, r.decr("m"))
        r.set("n", "100", ex=100)
        r.incr("n")
        self.assertTrue(70 <= r.ttl("n") <= 100, "INCR keeps the TTL")
        c = self.raw()
        c.call("SET", "s", "abc")
        self.assertErr("ERR value is not an integer or out of range",
                       "INCR", "s", conn=c)
        c.call("SET", "s", " 1")
        self.assertErr("ERR value is not an integer or out of range",
                       "INCR", "s", conn=c)
        c.call("SET", "s", "01")
        self.assertErr("ERR value is not an integer or out of range",
                       "INCR", "s", conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "INCRBY", "n", "x", conn=c)
        c.call("SET", "big", "9223372036854775807")
        self.assertErr("ERR increment or decrement would overflow",
                       "INCR", "big", conn=c)
        c.call("SET", "small", "-9223372036854775808")
        self.assertErr("ERR increment or decrement would overflow",
                       "DECR", "small", conn=c)
        self.assertErr("ERR decrement would overflow",
                       "DECRBY", "x", "-9223372036854775808", conn=c)
        self.assertErr("ERR wrong number of arguments for 'incr' command",
                       "INCR", conn=c)
        # the sum reads as its text everywhere, and keeps counting
        self.assertEqual(5, r.incrby("i", 5))
        self.assertEqual(1, r.strlen("i"))
        self.assertIn(r.object("encoding", "i"), ("int", b"int"))
        self.assertEqual(2, r.append("i", "7"))
        self.assertEqual(b"57", r.get("i"))
        self.assertEqual(58, r.incr("i"))
        self.assertEqual(b"5", r.getrange("i", 0, 0))
        self.assertTrue(r.copy("i", "i2"))
        self.assertEqual(59, r.incr("i2"))
        r.rename("i2", "i3")
        self.assertEqual([b"58", None, b"59"], r.mget("i", "i2", "i3"))
        self.assertEqual([b"i", b"i3"], sorted(r.keys("i*")))
        r.hset("h", "f", "1")
        self.assertErr("WRONGTYPE Operation against a key holding the "
                       "wrong kind of value", "INCR", "h", conn=c)

    def test_incrbyfloat(self):
        r = self.r
        # the examples of Redis's documentation
        r.set("f", "10.50")
        self.assertEqual(10.6, r.incrbyfloat("f", 0.1))
        self.assertEqual(b"10.6", r.get("f"))
        self.assertEqual(b"5.6", self.raw().call("INCRBYFLOAT", "f", "-5"))
        r.set("f", "5.0e3")
        self.assertEqual(b"5200", self.raw().call("INCRBYFLOAT", "f",
                                                   "2.0e2"))
        self.assertEqual(b"1.5", self.raw().call("INCRBYFLOAT", "g", "1.5"))
        r.set("i", "3")
        self.assertEqual(b"3.25", self.raw().call("INCRBYFLOAT", "i",
                                                   "0.25"))
        c = self.raw()
        c.call("SET", "s", "abc")
        self.assertErr("ERR value is not a valid float",
                       "INCRBYFLOAT", "s", "1", conn=c)
        self.assertErr("ERR value is not a valid float",
                       "INCRBYFLOAT", "f", "abc", conn=c)
        c.call("SET", "h", "1")
        self.assertErr("ERR increment would produce NaN or Infinity",
                       "INCRBYFLOAT", "h", "inf", conn=c)
        self.assertEqual(b"1", r.get("h"))
        # Redis computes in long double and prints %.17Lf, trimmed: no
        # exponent, and 0.1 + 0.2 gives 0.3.
        r.set("h", "0.1")
        self.assertEqual(b"0.3", c.call("INCRBYFLOAT", "h", "0.2"))
        r.set("h", "1")
        self.assertEqual(b"100000000000000000000",
                         c.call("INCRBYFLOAT", "h", "1e20"))

    def test_append_strlen(self):
        r = self.r
        self.assertEqual(0, r.strlen("k"))
        self.assertEqual(5, r.append("k", "Hello"))
        self.assertEqual(11, r.append("k", " World"))
        self.assertEqual(b"Hello World", r.get("k"))
        self.assertEqual(11, r.strlen("k"))
        r.set("t", "x", ex=100)
        r.append("t", "y")
        self.assertTrue(70 <= r.ttl("t") <= 100, "APPEND keeps the TTL")

    def test_getrange_setrange(self):
        r = self.r
        r.set("k", "This is a string")
        self.assertEqual(b"This", r.getrange("k", 0, 3))
        self.assertEqual(b"ing", r.getrange("k", -3, -1))
        self.assertEqual(b"This is a string", r.getrange("k", 0, -1))
        self.assertEqual(b"string", r.getrange("k", 10, 100))
        self.assertEqual(b"", r.getrange("k", 5, 2))
        self.assertEqual(b"", r.getrange("missing", 0, -1))
        r.set("h", "Hello World")
        self.assertEqual(11, r.setrange("h", 6, "Redis"))
        self.assertEqual(b"Hello Redis", r.get("h"))
        self.assertEqual(6, r.setrange("z", 5, "x"))
        self.assertEqual(b"\x00" * 5 + b"x", r.get("z"))
        self.assertEqual(0, r.setrange("none", 3, ""))
        self.assertEqual(0, r.exists("none"))
        self.assertErr("ERR offset is out of range", "SETRANGE", "h", "-1",
                       "x")
        self.assertErr("ERR value is not an integer or out of range",
                       "GETRANGE", "h", "a", "1")

    def test_large_values(self):
        r = self.r
        rnd = random.Random(7)
        for size in (1 << 20, 20 << 20):
            v = rnd.getrandbits(8 * size).to_bytes(size, "little")
            self.assertTrue(r.set("big", v))
            self.assertEqual(size, r.strlen("big"))
            got = r.get("big")
            self.assertEqual(len(v), len(got))
            self.assertTrue(v == got, "the %d-byte value came back" % size)
            self.assertEqual(v[size // 2:size // 2 + 100],
                             r.getrange("big", size // 2,
                                        size // 2 + 99))
        self.assertEqual(1, r.delete("big"))


# ---- keys ------------------------------------------------------------------

class Keys(Base):
    def test_delete_unlink_exists_type(self):
        r = self.r
        r.mset({"a": 1, "b": 2, "c": 3})
        self.assertEqual(2, r.exists("a", "b"))
        self.assertEqual(2, r.exists("a", "a"))
        self.assertEqual(0, r.exists("zz"))
        self.assertEqual(2, r.delete("a", "b", "zz"))
        self.assertEqual(1, r.unlink("c", "a"))
        self.assertEqual(0, r.dbsize())
        r.set("s", "x")
        self.assertEqual(b"string", r.type("s"))
        self.assertEqual(b"none", r.type("nothing"))

    def test_keys_patterns(self):
        r = self.r
        r.mset({"user:1": 1, "user:2": 2, "user:10": 3, "other": 4,
                "hello": 5, "hallo": 6, "hxllo": 7, "a*b": 8})
        self.assertEqual({b"user:1", b"user:2", b"user:10"},
                         set(r.keys("user:*")))
        self.assertEqual({b"user:1", b"user:2"}, set(r.keys("user:?")))
        self.assertEqual({b"hello", b"hallo"}, set(r.keys("h[ae]llo")))
        self.assertEqual({b"hallo", b"hxllo"}, set(r.keys("h[^e]llo")))
        self.assertEqual({b"hello", b"hallo"}, set(r.keys("h[a-e]llo")))
        self.assertEqual({b"a*b"}, set(r.keys("a\\*b")))
        self.assertEqual(8, len(r.keys("*")))
        self.assertEqual([], r.keys("nomatch*"))

    def test_nested_patterns_do_not_stall(self):
        """Redis's regression for CVE-2022-36021: patterns of many stars
        against a long key of a's answer at once through KEYS and SCAN
        MATCH, and another client is served meanwhile.  No timing is
        checked: a matcher that hangs shows as the 30 s socket timeout."""
        key = "a" * 48
        self.r.set(key, 1)
        slow, other = self.raw(), self.raw()
        for pat in ["*a*a*a*a*a*a*a*a*a*ab",
                    "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab",
                    "a" + "*a" * 100 + "*b",
                    "*?" * 2000]:
            slow.command("KEYS", pat)
            slow.command("SCAN", "0", "MATCH", pat, "COUNT", "1000")
            self.assertEqual("PONG", other.call("PING"))
            self.assertEqual([], slow.reply(), "KEYS %s" % pat)
            cursor, keys = slow.reply()
            self.assertEqual([], keys, "SCAN MATCH %s" % pat)
        # and a pattern of as many stars that does match
        pat = "*a" * 20 + "*"
        self.assertEqual([key.encode()], self.raw().call("KEYS", pat))
        self.assertEqual([key.encode()], self.r.keys(pat))

    def test_scan(self):
        r = self.r
        names = {("scan:%d" % i).encode() for i in range(500)}
        p = r.pipeline(transaction=False)
        for n in names:
            p.set(n, "v")
        for i in range(50):
            p.set("other:%d" % i, "v")
        p.execute()
        self.assertEqual(names, set(r.scan_iter(match="scan:*",
                                                count=7)))
        self.assertEqual(550, len(set(r.scan_iter(count=100))))
        self.assertEqual(550, len(set(r.scan_iter())))
        cursor, keys = r.scan(0, count=1000)
        self.assertEqual(0, cursor)
        self.assertEqual(550, len(set(keys)))
        self.assertErr("ERR invalid cursor", "SCAN", "abc")
        self.assertErr("ERR syntax error", "SCAN", "0", "COUNT", "0")
        self.assertErr("ERR syntax error", "SCAN", "0", "BOGUS", "1")

    def test_rename(self):
        r = self.r
        r.set("a", "1", ex=100)
        self.assertTrue(r.rename("a", "b"))
        self.assertEqual(0, r.exists("a"))
        self.assertEqual(b"1", r.get("b"))
        self.assertTrue(70 <= r.ttl("b") <= 100, "RENAME keeps the TTL")
        r.set("c", "3")
        self.assertTrue(r.rename("c", "b"))
        self.assertEqual(b"3", r.get("b"))
        self.assertEqual(-1, r.ttl("b"))
        self.assertTrue(r.rename("b", "b"))
        self.assertEqual(b"3", r.get("b"))
        self.assertErr("ERR no such key", "RENAME", "nope", "x")
        r.set("d", "4")
        self.assertFalse(r.renamenx("d", "b"))
        self.assertEqual(b"4", r.get("d"))
        self.assertTrue(r.renamenx("d", "e"))
        self.assertEqual(b"4", r.get("e"))
        self.assertErr("ERR no such key", "RENAMENX", "nope", "x")

    def test_randomkey_dbsize(self):
        r = self.r
        self.assertIsNone(r.randomkey())
        self.assertEqual(0, r.dbsize())
        r.mset({"x": 1, "y": 2, "z": 3})
        self.assertEqual(3, r.dbsize())
        for _ in range(20):
            self.assertIn(r.randomkey(), (b"x", b"y", b"z"))

    def test_expire_family(self):
        r = self.r
        self.assertFalse(r.expire("missing", 10))
        r.set("k", "v")
        self.assertEqual(-1, r.ttl("k"))
        self.assertEqual(-1, r.pttl("k"))
        self.assertEqual(-2, r.ttl("missing"))
        self.assertEqual(-2, r.pttl("missing"))
        self.assertTrue(r.expire("k", 100))
        self.assertTrue(70 <= r.ttl("k") <= 100)
        self.assertTrue(r.pexpire("k", 200000))
        self.assertTrue(170000 <= r.pttl("k") <= 200000)
        at = int(time.time()) + 300
        self.assertTrue(r.expireat("k", at))
        self.assertEqual(at, r.expiretime("k"))
        self.assertEqual(at * 1000, r.pexpiretime("k"))
        pat = int(time.time() * 1000) + 400000
        self.assertTrue(r.pexpireat("k", pat))
        self.assertEqual(pat, r.pexpiretime("k"))
        # Redis rounds to the nearest second (as TTL does)
        self.assertEqual((pat + 500) // 1000, r.expiretime("k"))
        self.assertTrue(r.persist("k"))
        self.assertFalse(r.persist("k"))
        self.assertEqual(-1, r.ttl("k"))
        self.assertEqual(-1, r.expiretime("k"))
        self.assertEqual(-2, r.expiretime("missing"))
        self.assertEqual(-2, r.pexpiretime("missing"))
        # a time in the past deletes the key
        self.assertTrue(r.expire("k", -1))
        self.assertEqual(0, r.exists("k"))
        r.set("k", "v")
        self.assertTrue(r.pexpireat("k", 1000))
        self.assertEqual(0, r.exists("k"))

    def test_expire_options(self):
        r = self.r
        r.set("k", "v")
        self.assertFalse(r.expire("k", 100, xx=True))   # no TTL yet
        self.assertEqual(-1, r.ttl("k"))
        self.assertFalse(r.expire("k", 100, gt=True))   # none = infinite
        self.assertTrue(r.expire("k", 100, nx=True))
        self.assertFalse(r.expire("k", 200, nx=True))
        self.assertTrue(70 <= r.ttl("k") <= 100)
        self.assertTrue(r.expire("k", 200, xx=True))
        self.assertTrue(r.expire("k", 300, gt=True))
        self.assertFalse(r.expire("k", 250, gt=True))
        self.assertTrue(270 <= r.ttl("k") <= 300)
        self.assertFalse(r.expire("k", 400, lt=True))
        self.assertTrue(r.expire("k", 50, lt=True))
        self.assertTrue(20 <= r.ttl("k") <= 50)
        self.assertTrue(r.pexpire("k", 60000, gt=True))
        self.assertFalse(r.pexpire("k", 1000, nx=True))
        self.assertTrue(r.expireat("k", int(time.time()) + 500, xx=True))
        self.assertFalse(r.pexpireat("k", int(time.time() * 1000) + 1000,
                                     gt=True))
        r.set("p", "v")
        self.assertTrue(r.expire("p", 100, lt=True))   # none = infinite
        c = self.raw()
        self.assertErr("ERR NX and XX, GT or LT options at the same time "
                       "are not compatible", "EXPIRE", "k", "10", "NX",
                       "XX", conn=c)
        self.assertErr("ERR NX and XX, GT or LT options at the same time "
                       "are not compatible", "EXPIRE", "k", "10", "NX",
                       "GT", conn=c)
        self.assertErr("ERR GT and LT options at the same time are not "
                       "compatible", "EXPIRE", "k", "10", "GT", "LT",
                       conn=c)
        self.assertErr("ERR Unsupported option BOGUS", "EXPIRE", "k", "10",
                       "BOGUS", conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "EXPIRE", "k", "ten", conn=c)

    def test_copy(self):
        r = self.r
        r.set("src", "v", ex=100)
        self.assertTrue(r.copy("src", "dst"))
        self.assertEqual(b"v", r.get("dst"))
        self.assertTrue(70 <= r.ttl("dst") <= 100, "COPY keeps the TTL")
        r.set("src", "v2")
        self.assertFalse(r.copy("src", "dst"))
        self.assertEqual(b"v", r.get("dst"))
        self.assertTrue(r.copy("src", "dst", replace=True))
        self.assertEqual(b"v2", r.get("dst"))
        self.assertFalse(r.copy("missing", "x"))
        self.assertTrue(r.copy("src", "indb1", destination_db=1))
        self.assertEqual(b"v2", self.client(1).get("indb1"))
        self.assertEqual(0, r.exists("indb1"))
        self.assertErr("ERR source and destination objects are the same",
                       "COPY", "src", "src")

    def test_move_select(self):
        r = self.r
        r1 = self.client(1)
        r.set("k", "in0")
        self.assertTrue(r.move("k", 1))
        self.assertEqual(0, r.exists("k"))
        self.assertEqual(b"in0", r1.get("k"))
        r.set("k", "again")
        self.assertFalse(r.move("k", 1))          # exists there
        self.assertEqual(b"again", r.get("k"))
        self.assertEqual(b"in0", r1.get("k"))
        self.assertFalse(r.move("nothing", 1))
        self.assertErr("ERR source and destination objects are the same",
                       "MOVE", "k", "0")
        self.assertErr("ERR DB index is out of range", "MOVE", "k", "9999")
        self.assertEqual(1, r.dbsize())
        self.assertEqual(1, r1.dbsize())
        r1.set("only1", "x")
        self.assertIsNone(r.get("only1"))
        c = self.raw()
        self.assertEqual("OK", c.call("SELECT", "1"))
        self.assertEqual(b"x", c.call("GET", "only1"))
        self.assertEqual("OK", c.call("SELECT", "15"))
        self.assertEqual(0, c.call("DBSIZE"))
        self.assertErr("ERR DB index is out of range", "SELECT", "-1",
                       conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "SELECT", "one", conn=c)

    def test_swapdb(self):
        r = self.r
        r1 = self.client(1)
        r.set("a", "from0")
        r1.set("b", "from1")
        self.assertTrue(r.swapdb(0, 1))
        self.assertEqual(b"from1", r.get("b"))
        self.assertIsNone(r.get("a"))
        self.assertEqual(b"from0", r1.get("a"))
        self.assertTrue(r.swapdb(1, 0))
        self.assertEqual(b"from0", r.get("a"))
        self.assertErr("ERR DB index is out of range", "SWAPDB", "0",
                       "9999")
        self.assertErr("ERR invalid first DB index", "SWAPDB", "x", "1")
        self.assertErr("ERR invalid second DB index", "SWAPDB", "0", "y")

    def test_flushdb_flushall(self):
        r = self.r
        r1 = self.client(1)
        r.mset({"a": 1, "b": 2})
        r1.mset({"c": 3})
        self.assertTrue(r.flushdb())
        self.assertEqual(0, r.dbsize())
        self.assertEqual(1, r1.dbsize())
        r.set("d", 4)
        self.assertTrue(r.flushall())
        self.assertEqual(0, r.dbsize())
        self.assertEqual(0, r1.dbsize())
        self.assertEqual("OK", self.raw().call("FLUSHDB", "ASYNC"))
        self.assertEqual("OK", self.raw().call("FLUSHALL", "SYNC"))


# ---- transactions ---------------------------------------------------------

class Pipelines(Base):
    def test_pipeline_sees_its_own_writes(self):
        """One write of six commands: the reads see the writes before
        them (issue: DBSIZE, KEYS, SCAN missed a pipeline's writes)."""
        c = Raw()
        try:
            c.send(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                   b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
                   b"*1\r\n$6\r\nDBSIZE\r\n"
                   b"*2\r\n$4\r\nKEYS\r\n$1\r\n*\r\n"
                   b"*3\r\n$6\r\nEXISTS\r\n$1\r\na\r\n$1\r\nb\r\n"
                   b"*2\r\n$4\r\nSCAN\r\n$1\r\n0\r\n")
            self.assertEqual("OK", c.reply())
            self.assertEqual("OK", c.reply())
            self.assertEqual(2, c.reply())
            self.assertEqual([b"a", b"b"], sorted(c.reply()))
            self.assertEqual(2, c.reply())
            cursor, keys = c.reply()
            self.assertEqual(b"0", cursor)
            self.assertEqual([b"a", b"b"], sorted(keys))
        finally:
            c.close()

    def test_pipeline_deletes_and_randomkey(self):
        """DEL, RANDOMKEY and DBSIZE in one write with the SETs."""
        c = Raw()
        try:
            for cmd in (("SET", "x", "1"), ("DEL", "x"), ("RANDOMKEY",),
                        ("SET", "y", "2"), ("RANDOMKEY",), ("DBSIZE",),
                        ("GET", "x"), ("GET", "y")):
                c.command(*cmd)
            replies = [c.reply() for _ in range(8)]
            self.assertEqual(["OK", 1, None, "OK", b"y", 1, None, b"2"],
                             replies)
        finally:
            c.close()


class Transactions(Base):
    def test_pipeline_transaction(self):
        r = self.r
        p = r.pipeline(transaction=True)
        p.set("a", 1).incr("a").get("a").mset({"b": 2, "c": 3}).mget("b",
                                                                   "c")
        self.assertEqual([True, 2, b"2", True, [b"2", b"3"]], p.execute())

    def test_pipeline_no_transaction(self):
        r = self.r
        p = r.pipeline(transaction=False)
        for i in range(300):
            p.set("p:%d" % i, i)
        for i in range(300):
            p.incr("p:%d" % i)
        for i in range(1000):
            p.get("p:%d" % (i % 300))
        res = p.execute()
        self.assertEqual([True] * 300, res[:300])
        self.assertEqual(list(range(1, 301)), res[300:600])
        self.assertEqual([str(i % 300 + 1).encode() for i in range(1000)],
                         res[600:])
        self.assertEqual(300, r.dbsize())

    def test_exec_300_sets(self):
        """A transaction of 300 SETs of new keys (Redis has no limit)."""
        r = self.r
        p = r.pipeline(transaction=True)
        for i in range(300):
            p.set("tx:%d" % i, i)
        self.assertEqual([True] * 300, p.execute())
        self.assertEqual(300, r.dbsize())
        self.assertEqual(b"299", r.get("tx:299"))

    def test_exec_100000_sets(self):
        """MULTI of 100,000 SETs, an MSET and a DEL of 100,000 keys: each
        one atomic commit, with no size limit (Redis has none)."""
        r = self.r
        n = 100000
        p = r.pipeline(transaction=True)
        for i in range(n):
            p.set("big:%d" % i, i)
        self.assertEqual([True] * n, p.execute())
        self.assertEqual(n, r.dbsize())
        self.assertEqual(b"99999", r.get("big:99999"))
        self.assertTrue(r.mset({"m:%d" % i: "v%d" % i for i in range(n)}))
        self.assertEqual(2 * n, r.dbsize())
        self.assertEqual(b"v4242", r.get("m:4242"))
        self.assertEqual(n, r.delete(*["big:%d" % i for i in range(n)]))
        self.assertEqual(n, r.dbsize())
        self.assertEqual(None, r.get("big:0"))

    def test_exec_with_a_failing_command(self):
        r = self.r
        r.set("s", "not a number")
        p = r.pipeline(transaction=True)
        p.set("a", "1").incr("s").set("b", "2").incr("a")
        res = p.execute(raise_on_error=False)
        self.assertEqual(True, res[0])
        self.assertIsInstance(res[1], redis.ResponseError)
        self.assertEqual("value is not an integer or out of range",
                         str(res[1]))
        self.assertEqual([True, 2], res[2:])
        self.assertEqual([b"2", b"2", b"not a number"],
                         r.mget("a", "b", "s"))
        c = self.raw()
        self.assertEqual("OK", c.call("MULTI"))
        self.assertEqual("QUEUED", c.call("INCR", "s"))
        self.assertEqual("QUEUED", c.call("SET", "x", "y"))
        self.assertEqual([Err("ERR value is not an integer or out of "
                              "range"), "OK"], c.call("EXEC"))

    def test_exec_with_flush_and_swap(self):
        """FLUSHDB and SWAPDB inside EXEC: the commands after them see
        the emptied and swapped databases (as in Redis), and all of it is
        one commit with the writes around it (pkv-server committed the
        writes before a flush apart: a crash could keep half of EXEC)."""
        c = self.raw()
        c.call("SET", "x", "0")
        self.assertEqual("OK", c.call("MULTI"))
        for cmd in [("SET", "a", "1"), ("FLUSHDB",), ("SET", "b", "2"),
                    ("DBSIZE",), ("SWAPDB", "0", "1"), ("DBSIZE",),
                    ("SET", "c", "3"), ("SELECT", "1"), ("DBSIZE",),
                    ("GET", "b"), ("GET", "x"), ("SELECT", "0")]:
            self.assertEqual("QUEUED", c.call(*cmd))
        self.assertEqual(["OK", "OK", "OK", 1, "OK", 0, "OK", "OK", 1,
                          b"2", None, "OK"], c.call("EXEC"))
        r, r1 = self.r, self.client(1)
        self.assertEqual([b"c"], r.keys("*"))
        self.assertEqual([b"b"], r1.keys("*"))
        self.assertEqual("OK", c.call("MULTI"))
        self.assertEqual("QUEUED", c.call("SET", "d", "4"))
        self.assertEqual("QUEUED", c.call("FLUSHALL"))
        self.assertEqual("QUEUED", c.call("SET", "e", "5"))
        self.assertEqual(["OK", "OK", "OK"], c.call("EXEC"))
        self.assertEqual([b"e"], r.keys("*"))
        self.assertEqual(0, r1.dbsize())

    @unittest.skipUnless(PKV, "pkv only")
    def test_exec_refuses_gc(self):
        """GC would commit the commands of EXEC before it apart from
        those after it: refused when queued, and EXEC aborts."""
        c = self.raw()
        self.assertEqual("OK", c.call("MULTI"))
        self.assertEqual("QUEUED", c.call("SET", "a", "1"))
        self.assertEqual(Err("ERR Command not allowed inside a "
                             "transaction"), c.call("GC"))
        self.assertEqual(Err("EXECABORT Transaction discarded because of "
                             "previous errors."), c.call("EXEC"))
        self.assertEqual(0, self.r.exists("a"))

    def test_execabort(self):
        c = self.raw()
        self.assertEqual("OK", c.call("MULTI"))
        self.assertEqual("QUEUED", c.call("SET", "a", "1"))
        self.assertEqual(Err("ERR wrong number of arguments for 'get' "
                             "command"), c.call("GET"))
        self.assertEqual(Err("EXECABORT Transaction discarded because of "
                             "previous errors."), c.call("EXEC"))
        self.assertEqual(0, self.r.exists("a"))
        self.assertEqual(Err("ERR EXEC without MULTI"), c.call("EXEC"))
        self.assertEqual(Err("ERR DISCARD without MULTI"),
                         c.call("DISCARD"))

    def test_watch(self):
        r = self.r
        other = self.client()
        r.set("w", "0")
        with r.pipeline() as p:
            p.watch("w")
            other.set("w", "changed")
            p.multi()
            p.set("w", "mine")
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(b"changed", r.get("w"))
        with r.pipeline() as p:
            p.watch("w")
            other.set("unrelated", "x")
            self.assertEqual(b"changed", p.get("w"))
            p.multi()
            p.set("w", "mine")
            self.assertEqual([True], p.execute())
        self.assertEqual(b"mine", r.get("w"))
        # a watched key that a second client deletes, and UNWATCH
        with r.pipeline() as p:
            p.watch("w")
            other.delete("w")
            p.multi()
            p.set("w", "again")
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(0, r.exists("w"))
        c = self.raw()
        self.assertEqual("OK", c.call("WATCH", "u"))
        other.set("u", "1")
        self.assertEqual("OK", c.call("UNWATCH"))
        self.assertEqual("OK", c.call("MULTI"))
        self.assertEqual("QUEUED", c.call("SET", "u", "2"))
        self.assertEqual(["OK"], c.call("EXEC"))
        self.assertEqual(Err("ERR WATCH inside MULTI is not allowed"),
                         (c.call("MULTI"), c.call("WATCH", "u"))[1])
        c.call("DISCARD")

    def test_watch_expired_key(self):
        """A watched key that expires before EXEC aborts it (Redis 7)."""
        r = self.r
        r.set("e", "v", px=50)
        with r.pipeline() as p:
            p.watch("e")
            time.sleep(0.2)
            p.multi()
            p.set("other", "x")
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(0, r.exists("other"))

    def test_watch_incr_race(self):
        """Optimistic increments from two clients: none lost."""
        r = self.r
        r.set("cnt", 0)
        a, b = self.client(), self.client()
        done = 0
        for i in range(100):
            cl = a if i % 2 else b
            interfere = i % 7 == 0
            while True:
                with cl.pipeline() as p:
                    try:
                        p.watch("cnt")
                        v = int(p.get("cnt"))
                        if interfere:      # the first attempt only
                            (b if cl is a else a).incr("cnt")
                            done += 1
                            interfere = False
                        p.multi()
                        p.set("cnt", v + 1)
                        p.execute()
                        done += 1
                        break
                    except redis.WatchError:
                        continue
        self.assertEqual(done, int(r.get("cnt")))


# ---- connection and server commands ---------------------------------------

class Server(Base):
    def test_ping_echo(self):
        r = self.r
        self.assertTrue(r.ping())
        self.assertEqual(b"hi there", r.echo("hi there"))
        c = self.raw()
        self.assertEqual("PONG", c.call("PING"))
        self.assertEqual(b"msg", c.call("PING", "msg"))
        self.assertErr("ERR wrong number of arguments for 'ping' command",
                       "PING", "a", "b", conn=c)
        self.assertErr("ERR wrong number of arguments for 'echo' command",
                       "ECHO", conn=c)

    def test_client_commands(self):
        r = self.r
        cid = r.client_id()
        self.assertIsInstance(cid, int)
        self.assertIsNone(r.client_getname())
        self.assertTrue(r.client_setname("tester"))
        name = r.client_getname()    # redis-py 4 decodes it
        self.assertEqual("tester", name.decode() if isinstance(name, bytes)
                         else name)
        lst = r.client_list()
        mine = [c for c in lst if c["name"] == "tester"]
        self.assertEqual(1, len(mine))
        self.assertEqual(str(cid), mine[0]["id"])
        self.assertIn("addr", mine[0])
        self.assertErr("ERR Client names cannot contain spaces, newlines or "
                       "special characters.", "CLIENT", "SETNAME", "a b")
        # CLIENT KILL ID: the victim's connection is closed
        victim = self.raw()
        vid = victim.call("CLIENT", "ID")
        self.assertEqual(1, r.client_kill_filter(_id=vid))
        self.assertTrue(victim.closed())
        self.assertEqual(0, r.client_kill_filter(_id=999999999))
        # the old form: CLIENT KILL addr
        victim = self.raw()
        info = victim.call("CLIENT", "INFO").decode()
        addr = dict(f.split("=", 1) for f in info.split())["addr"]
        self.assertEqual("OK", self.raw().call("CLIENT", "KILL", addr))
        self.assertTrue(victim.closed())
        self.assertErr("ERR No such client", "CLIENT", "KILL",
                       "1.2.3.4:5")
        self.assertTrue(r.ping())

    def test_config(self):
        r = self.r
        old = r.config_get("maxclients")["maxclients"]
        try:
            self.assertTrue(r.config_set("maxclients", 500))
            self.assertEqual({"maxclients": "500"},
                             r.config_get("maxclients"))
        finally:
            r.config_set("maxclients", old)
        self.assertEqual(old, r.config_get("maxclients")["maxclients"])
        got = r.config_get("max*")
        self.assertIn("maxclients", got)
        self.assertEqual(str(PORT), r.config_get("port")["port"])
        self.assertEqual({}, r.config_get("no-such-option"))
        self.assertErr("ERR Unknown option or number of arguments for "
                       "CONFIG SET - 'no-such-option'",
                       "CONFIG", "SET", "no-such-option", "1")

    def test_time_lastsave(self):
        r = self.r
        secs, usecs = r.time()
        self.assertLess(abs(secs + usecs / 1e6 - time.time()), 5)
        self.assertTrue(0 <= usecs < 1000000)
        ls = r.lastsave()
        self.assertLessEqual(ls.timestamp(), time.time() + 1)

    def test_command(self):
        c = self.raw()
        n = c.call("COMMAND", "COUNT")
        self.assertIsInstance(n, int)
        self.assertGreater(n, 40)
        info = c.call("COMMAND", "INFO", "get", "set", "nosuchcommand")
        self.assertEqual(3, len(info))
        self.assertEqual(b"get", info[0][0])
        self.assertEqual(2, info[0][1])
        self.assertEqual([1, 1, 1], info[0][3:6])
        self.assertEqual(b"set", info[1][0])
        self.assertEqual(-3, info[1][1])
        self.assertIsNone(info[2])
        names = {e[0] for e in c.call("COMMAND")}
        for name in (b"get", b"set", b"incrbyfloat", b"getex", b"copy",
                     b"scan", b"expiretime", b"multi", b"client", b"info"):
            self.assertIn(name, names)
        docs = c.call("COMMAND", "DOCS", "get")
        self.assertEqual(b"get", docs[0])
        d = dict(zip(docs[1][::2], docs[1][1::2]))
        self.assertIn(b"summary", d)
        self.assertEqual(b"string", d[b"group"])

    def quarter_left(self, prefix, val, n=20000):
        """n keys prefix:i of value val, three of every four deleted: the
        runs that hold them are left a quarter full."""
        p = self.r.pipeline(transaction=False)
        for i in range(n):
            p.set("%s:%d" % (prefix, i), val)
        p.execute()
        p = self.r.pipeline(transaction=False)
        for i in range(n):
            if i % 4:
                p.delete("%s:%d" % (prefix, i))
        p.execute()

    def assert_quarter_left(self, prefix, val, n=20000):
        got = self.r.mget(["%s:%d" % (prefix, i) for i in range(n)])
        for i, v in enumerate(got):
            self.assertEqual(None if i % 4 else val, v, i)

    def test_memory_purge(self):
        # 64-byte values, three of every four deleted: their runs are a
        # quarter full; MEMORY PURGE moves the rest out in the background
        r = self.r
        val = b"v" * 64
        self.quarter_left("mp", val)
        before = r.info("stats").get("active_defrag_key_hits", 0)
        self.assertTrue(r.execute_command("MEMORY", "PURGE"))
        for _ in range(600):
            if not r.info("memory")["active_defrag_running"]:
                break
            time.sleep(0.1)
        self.assertEqual(0, r.info("memory")["active_defrag_running"])
        if PKV:
            self.assertGreater(r.info("stats")["active_defrag_key_hits"],
                               before)
        self.assert_quarter_left("mp", val)
        helptext = " ".join(x.decode() if isinstance(x, bytes) else x
                            for x in r.execute_command("MEMORY", "HELP"))
        self.assertIn("PURGE", helptext)
        with self.assertRaises(redis.ResponseError) as e:
            r.execute_command("MEMORY", "NOSUCH")
        self.assertIn("unknown subcommand", str(e.exception))

    def test_memory_usage(self):
        r = self.r
        self.assertIsNone(r.memory_usage("nokey"))
        r.set("mu", b"x" * 100)
        small = r.memory_usage("mu")
        self.assertGreater(small, 100)
        self.assertEqual(small, r.memory_usage("mu", samples=5))
        r.hset("muh", mapping={"f%d" % i: "v" * 20 for i in range(100)})
        self.assertGreater(r.memory_usage("muh"), 100 * 20)
        # a write and the usage of its key in one turn
        p = r.pipeline(transaction=False)
        p.set("mu2", b"y" * 1000)
        p.memory_usage("mu2")
        ok, n = p.execute()
        self.assertTrue(ok)
        self.assertGreater(n, 1000)
        # inside MULTI/EXEC: the hash as the commands before left it
        p = r.pipeline(transaction=True)
        p.hset("muh", mapping={"g%d" % i: "w" * 30 for i in range(50)})
        p.hdel("muh", *["f%d" % i for i in range(10)])
        p.memory_usage("muh")
        p.hset("muh3", mapping={"h%d" % i: "z" * 40 for i in range(80)})
        p.memory_usage("muh3")
        res = p.execute()
        self.assertEqual(res[2], r.memory_usage("muh"))
        self.assertEqual(res[4], r.memory_usage("muh3"))
        self.assertGreater(res[4], 80 * 40)
        with self.assertRaises(redis.ResponseError) as e:
            r.execute_command("MEMORY", "USAGE", "mu", "SAMPLES", "x")
        self.assertIn("not an integer", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            r.execute_command("MEMORY", "USAGE", "mu", "NOPE", "1")
        self.assertIn("syntax error", str(e.exception))

    def test_activedefrag(self):
        # with activedefrag on, the server defragments by itself once
        # the allocator holds enough more than what is allocated
        r = self.r
        val = b"w" * 64
        self.quarter_left("ad", val)
        before = r.info("stats").get("active_defrag_key_hits", 0)
        old = r.config_get("active-defrag-*")
        try:
            r.config_set("active-defrag-ignore-bytes", "100kb")
            r.config_set("active-defrag-threshold-lower", "5")
            self.assertEqual({"active-defrag-ignore-bytes": "102400",
                              "active-defrag-threshold-lower": "5"},
                             {k: v for k, v in
                              r.config_get("active-defrag-*").items()
                              if k in ("active-defrag-ignore-bytes",
                                       "active-defrag-threshold-lower")})
            if not PKV:
                return      # Redis's own thresholds are not pkv's
            r.config_set("activedefrag", "yes")
            for _ in range(300):
                if r.info("stats")["active_defrag_key_hits"] > before:
                    break
                time.sleep(0.1)
            self.assertGreater(r.info("stats")["active_defrag_key_hits"],
                               before)
        finally:
            if PKV:
                r.config_set("activedefrag", "no")
            for k, v in old.items():
                if k in ("active-defrag-ignore-bytes",
                         "active-defrag-threshold-lower"):
                    r.config_set(k, v)
        for _ in range(600):
            if not r.info("memory")["active_defrag_running"]:
                break
            time.sleep(0.1)
        self.assert_quarter_left("ad", val)

    def test_info(self):
        r = self.r
        r.set("a", 1)
        r.set("b", 2, ex=100)
        r1 = self.client(2)
        r1.set("c", 3)
        info = r.info()
        self.assertIn("redis_version", info)
        self.assertEqual(PORT, info["tcp_port"])
        self.assertIn("connected_clients", info)
        self.assertEqual({"keys": 2, "expires": 1, "avg_ttl": info["db0"]
                          ["avg_ttl"]}, info["db0"])
        self.assertEqual(1, info["db2"]["keys"])
        ks = r.info("keyspace")
        self.assertEqual({"db0", "db2"}, set(ks))
        self.assertNotIn("redis_version", ks)
        self.assertIn("total_commands_processed", r.info("stats"))
        self.assertIn("redis_version", r.info("all"))
        if PKV:
            p = r.info("pkv")
            self.assertGreater(p["pool_size"], 0)
            self.assertIn("gc_runs", p)
            self.assertIn("pool_size", r.info())

    @unittest.skipUnless(PKV, "pkv only")
    def test_gc(self):
        r = self.r
        for i in range(200):
            r.set("g", "x" * 1000)
        r.delete("g")
        out = r.execute_command("GC")
        self.assertTrue(out.startswith(b"live_blocks="), out)
        self.assertGreaterEqual(r.info("pkv")["gc_runs"], 1)
        self.assertTrue(r.ping())
        # GC after a write in the same turn (one read): the turn's writes
        # are committed first; the collection waited for the turn's own
        # open transaction, and the server froze (make fuzz found it).
        got = self.raw().pipe([("SET", "a", "1"), ("GC",), ("PING",)])
        self.assertEqual(Simple("OK"), got[0])
        self.assertTrue(got[1].startswith("live_blocks="), got)
        self.assertEqual(Simple("PONG"), got[2])
        self.assertEqual(b"1", r.get("a"))

    def test_errors(self):
        c = self.raw()
        self.assertErr("ERR wrong number of arguments for 'get' command",
                       "GET", conn=c)
        self.assertErr("ERR wrong number of arguments for 'get' command",
                       "get", "a", "b", conn=c)
        self.assertErr("ERR unknown command 'foo', with args beginning "
                       "with: 'a' 'b' ", "foo", "a", "b", conn=c)
        self.assertErr("ERR unknown command 'foo', with args beginning "
                       "with: ", "foo", conn=c)
        c.call("SET", "s", "x")
        self.assertErr("ERR value is not an integer or out of range",
                       "INCRBY", "s", "1", conn=c)
        self.assertErr("ERR syntax error", "SET", "a", "b", "c", conn=c)
        self.assertEqual("PONG", c.call("PING"))

    def test_subcommand_errors(self):
        """Redis 7's texts for container commands (CLIENT, CONFIG,
        COMMAND): an unknown subcommand, a subcommand's arity."""
        c = self.raw()
        self.assertErr("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.",
                       "CLIENT", "NOSUCH", conn=c)
        self.assertErr("ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP.",
                       "CONFIG", "NOSUCH", conn=c)
        self.assertErr("ERR unknown subcommand 'NOSUCH'. Try COMMAND "
                       "HELP.", "COMMAND", "NOSUCH", conn=c)
        self.assertErr("ERR wrong number of arguments for 'config|get' "
                       "command", "CONFIG", "GET", conn=c)
        self.assertErr("ERR wrong number of arguments for 'config|set' "
                       "command", "CONFIG", "SET", "maxclients", conn=c)
        self.assertErr("ERR wrong number of arguments for 'client|id' "
                       "command", "CLIENT", "ID", "x", conn=c)
        self.assertErr("ERR wrong number of arguments for 'command|count' "
                       "command", "COMMAND", "COUNT", "x", conn=c)

    def test_resp3_raw(self):
        c = self.raw()
        hello = c.call("HELLO", "3")
        self.assertIsInstance(hello, Map)
        self.assertEqual(3, hello[b"proto"])
        self.assertEqual(b"redis", hello[b"server"])
        self.assertIn(b"version", hello)
        self.assertIn(b"id", hello)
        self.assertIsNone(c.call("GET", "missing"))
        self.assertEqual("OK", c.call("SET", "k", "v"))
        self.assertEqual(b"v", c.call("GET", "k"))
        self.assertEqual([b"v", None], c.call("MGET", "k", "missing"))
        self.assertIsNone(c.call("SET", "new", "x", "GET"))
        self.assertEqual(1, c.call("EXISTS", "k"))
        cfg = c.call("CONFIG", "GET", "maxclients")
        self.assertIsInstance(cfg, Map)
        self.assertIn(b"maxclients", cfg)
        info = c.call("INFO", "keyspace")
        self.assertIsInstance(info, Verbatim)
        self.assertEqual("txt", info.fmt)
        self.assertIn(b"db0:keys=2", info)
        ci = c.call("CLIENT", "INFO")
        self.assertIsInstance(ci, Verbatim)
        self.assertIn(b"resp=3", ci)
        self.assertIsNone(c.call("CLIENT", "GETNAME"))
        self.assertEqual(b"2.5", c.call("INCRBYFLOAT", "f", "2.5"))
        self.assertEqual(-2, c.call("TTL", "missing"))
        self.assertEqual(Err("ERR wrong number of arguments for 'get' "
                             "command"), c.call("GET"))
        # EXEC aborted by WATCH: a RESP3 null
        self.assertEqual("OK", c.call("WATCH", "k"))
        self.r.set("k", "changed")
        c.call("MULTI")
        c.call("SET", "k", "mine")
        self.assertIsNone(c.call("EXEC"))
        self.assertEqual(b"changed", c.call("GET", "k"))
        hello = c.call("HELLO", "2")
        self.assertIsInstance(hello, list)
        self.assertIsNone(c.call("GET", "missing"))
        self.assertErr("NOPROTO unsupported protocol version", "HELLO", "4",
                       conn=c)

    def test_resp3_library(self):
        """RESP3 through redis-py, where the library speaks it (5.0+)."""
        try:
            r3 = redis.Redis(host=HOST, port=PORT, protocol=3)
        except TypeError:
            # No protocol= (redis-py < 5): HELLO 3 by hand, if its parser
            # can read the RESP3 map that answers it.
            r3 = self.client()
            try:
                hello = r3.execute_command("HELLO", 3)
            except (redis.exceptions.InvalidResponse,
                    redis.exceptions.ConnectionError) as e:
                self.skipTest("redis-py %s cannot parse RESP3 (%s)" %
                              (redis.__version__, e))
            if isinstance(hello, dict):
                self.assertEqual(3, hello.get(b"proto", hello.get("proto")))
        self.others.append(r3)
        self.assertTrue(r3.set("k", "v"))
        self.assertEqual(b"v", r3.get("k"))
        self.assertIsNone(r3.get("missing"))
        self.assertIn("maxclients", {k.decode() if isinstance(k, bytes)
                                     else k for k in
                                     r3.config_get("maxclients")})

    def test_inline_and_pipelined_raw(self):
        c = self.raw()
        c.send(b"SET inl \"a b\"\r\nGET inl\r\nPING\r\n")
        self.assertEqual("OK", c.reply())
        self.assertEqual(b"a b", c.reply())
        self.assertEqual("PONG", c.reply())
        c.send(b"*3\r\n$3\r\nSET\r\n$2\r\nbx\r\n$3\r\n\x00\r\n\r\n"
               b"*2\r\n$3\r\nGET\r\n$2\r\nbx\r\n")
        self.assertEqual("OK", c.reply())
        self.assertEqual(b"\x00\r\n", c.reply())


def main(name):
    """Run the running script's tests against PORT; exit 0 if all pass."""
    if not PORT:
        print("usage: %s PORT" % name)
        sys.exit(2)
    print("%s: redis-py %s, port %d, target %s" %
          (name, redis.__version__, PORT, TARGET))
    res = unittest.main(exit=False, verbosity=2).result
    print("%s: %d run, %d failures, %d errors, %d skipped" %
          (name, res.testsRun, len(res.failures), len(res.errors),
           len(res.skipped)))
    sys.exit(0 if res.wasSuccessful() else 1)


if __name__ == "__main__":
    main("server_test.py")
