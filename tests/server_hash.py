#!/usr/bin/env python3
"""server_hash.py -- the hash commands of pkv-server through redis-py and a
raw RESP2/RESP3 client: replies, exact error texts, WRONGTYPE both ways,
the key commands on hashes (TYPE, SCAN TYPE, RENAME, COPY, MOVE, expiry),
MULTI/EXEC and WATCH, HRANDFIELD and HSCAN, and a hash of many fields.

    server_hash.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh runs it after server_test.py, whose helpers it shares.
PKV_TEST_TARGET=redis runs the same tests against a real redis-server.
Exit 0 if all pass, 1 if any fails, 77 if redis-py is missing.
"""
from server_test import TARGET, Base, main, redis
from resp_client import Map

WRONGTYPE = ("WRONGTYPE Operation against a key holding the wrong kind "
             "of value")


class Hashes(Base):
    def test_set_get_delete(self):
        r = self.r
        self.assertEqual(3, r.hset("h", mapping={"a": "1", "b": "2",
                                                  "c": "3"}))
        self.assertEqual(0, r.hset("h", "a", "one"))
        self.assertEqual(1, r.hset("h", "d", ""))
        self.assertEqual(b"one", r.hget("h", "a"))
        self.assertEqual(b"", r.hget("h", "d"))
        self.assertIsNone(r.hget("h", "zz"))
        self.assertIsNone(r.hget("nokey", "a"))
        self.assertEqual([b"one", None, b"3"], r.hmget("h", "a", "x", "c"))
        self.assertEqual([None, None], r.hmget("nokey", "a", "b"))
        self.assertEqual({b"a": b"one", b"b": b"2", b"c": b"3", b"d": b""},
                         r.hgetall("h"))
        self.assertEqual({b"a", b"b", b"c", b"d"}, set(r.hkeys("h")))
        self.assertEqual(sorted([b"one", b"2", b"3", b""]),
                         sorted(r.hvals("h")))
        self.assertEqual({}, r.hgetall("nokey"))
        self.assertEqual([], r.hkeys("nokey"))
        self.assertEqual(4, r.hlen("h"))
        self.assertEqual(0, r.hlen("nokey"))
        self.assertTrue(r.hexists("h", "a"))
        self.assertFalse(r.hexists("h", "x"))
        self.assertFalse(r.hexists("nokey", "x"))
        self.assertEqual(3, r.hstrlen("h", "a"))
        self.assertEqual(0, r.hstrlen("h", "x"))
        self.assertTrue(r.hsetnx("h", "e", "5"))
        self.assertFalse(r.hsetnx("h", "e", "6"))
        self.assertEqual(b"5", r.hget("h", "e"))
        self.assertEqual("OK", self.raw().call("HMSET", "h", "f", "6",
                                               "g", "7"))
        self.assertEqual(2, r.hdel("h", "a", "b", "zz"))
        self.assertEqual(0, r.hdel("nokey", "a"))
        self.assertEqual(5, r.hlen("h"))
        # the key goes with its last field
        self.assertEqual(5, r.hdel("h", "c", "d", "e", "f", "g"))
        self.assertEqual(0, r.exists("h"))
        self.assertEqual(b"none", r.type("h"))

    def test_binary(self):
        r = self.r
        f, v = b"\x00\xff\r\n f", b"\x00" * 300 + b"\xfe"
        r.hset(b"k\x00", f, v)
        self.assertEqual(v, r.hget(b"k\x00", f))
        self.assertEqual({f: v}, r.hgetall(b"k\x00"))

    def test_wrongtype(self):
        r = self.r
        r.set("s", "x")
        r.hset("h", "f", "v")
        for args in (("HSET", "s", "f", "v"), ("HGET", "s", "f"),
                     ("HMGET", "s", "f"), ("HDEL", "s", "f"),
                     ("HLEN", "s"), ("HGETALL", "s"), ("HKEYS", "s"),
                     ("HEXISTS", "s", "f"), ("HSTRLEN", "s", "f"),
                     ("HINCRBY", "s", "f", "1"),
                     ("HINCRBYFLOAT", "s", "f", "1"),
                     ("HSETNX", "s", "f", "v"), ("HRANDFIELD", "s"),
                     ("HSCAN", "s", "0"),
                     ("GET", "h"), ("APPEND", "h", "x"), ("INCR", "h"),
                     ("STRLEN", "h"), ("GETDEL", "h"), ("GETRANGE", "h",
                                                        "0", "1"),
                     ("SET", "h", "x", "GET"), ("GETSET", "h", "x"),
                     ("SETRANGE", "h", "0", "x")):
            self.assertErr(WRONGTYPE, *args)
        self.assertEqual(b"x", r.get("s"))             # nothing written
        self.assertEqual({b"f": b"v"}, r.hgetall("h"))
        self.assertEqual([None, b"x"], r.mget("h", "s"))
        # SET replaces a hash whatever its type, as in Redis
        self.assertTrue(r.set("h", "now a string"))
        self.assertEqual(b"now a string", r.get("h"))
        self.assertEqual(b"string", r.type("h"))

    def test_errors(self):
        self.assertErr("ERR wrong number of arguments for 'hset' command",
                       "HSET", "h", "f", "v", "g")
        self.assertErr("ERR wrong number of arguments for 'hset' command",
                       "HSET", "h", "f")
        self.assertErr("ERR wrong number of arguments for 'hmset' command",
                       "HMSET", "h", "f", "v", "g")
        self.assertErr("ERR wrong number of arguments for 'hdel' command",
                       "HDEL", "h")
        self.r.hset("h", mapping={"s": "abc", "n": "10", "big":
                                  str(2 ** 63 - 1), "fl": "1.5"})
        self.assertErr("ERR hash value is not an integer",
                       "HINCRBY", "h", "s", "1")
        self.assertErr("ERR hash value is not an integer",
                       "HINCRBY", "h", "fl", "1")
        self.assertErr("ERR value is not an integer or out of range",
                       "HINCRBY", "h", "n", "x")
        self.assertErr("ERR increment or decrement would overflow",
                       "HINCRBY", "h", "big", "1")
        self.assertErr("ERR hash value is not a float",
                       "HINCRBYFLOAT", "h", "s", "1")
        self.assertErr("ERR value is not a valid float",
                       "HINCRBYFLOAT", "h", "n", "abc")
        self.assertErr("ERR value is NaN or Infinity",
                       "HINCRBYFLOAT", "h", "fl", "inf")
        self.r.hset("h", "huge", "1e4932")
        self.assertErr("ERR increment would produce NaN or Infinity",
                       "HINCRBYFLOAT", "h", "huge", "1e4932")
        self.assertErr("ERR syntax error", "HRANDFIELD", "h", "1", "x")
        self.assertErr("ERR value is not an integer or out of range",
                       "HRANDFIELD", "h", "x")
        self.assertErr("ERR invalid cursor", "HSCAN", "h", "x")
        self.assertErr("ERR syntax error", "HSCAN", "h", "0", "COUNT", "0")
        self.assertErr("ERR syntax error", "HSCAN", "h", "0", "FOO", "1")
        self.assertEqual(b"10", self.r.hget("h", "n"))   # nothing changed

    def test_increments(self):
        r = self.r
        self.assertEqual(5, r.hincrby("h", "n", 5))
        self.assertEqual(-2, r.hincrby("h", "n", -7))
        self.assertEqual(b"-2", r.hget("h", "n"))
        c = self.raw()
        self.assertEqual(b"10.5", c.call("HINCRBYFLOAT", "h", "f", "10.5"))
        self.assertEqual(b"5010.5", c.call("HINCRBYFLOAT", "h", "f",
                                           "5.0e3"))
        self.assertEqual(b"3", c.call("HINCRBYFLOAT", "h", "n", "5"))
        self.assertEqual(b"3", r.hget("h", "n"))
        # the sums read as text everywhere, and keep counting
        self.assertEqual(4, r.hincrby("h", "n", 1))
        self.assertEqual(1, r.hincrby("h", "m", 1))
        self.assertEqual(1, r.hstrlen("h", "n"))
        self.assertEqual({b"n": b"4", b"f": b"5010.5", b"m": b"1"},
                         r.hgetall("h"))
        self.assertEqual([b"4", b"1"], r.hmget("h", "n", "m"))
        self.assertEqual((0, {b"n": b"4", b"f": b"5010.5", b"m": b"1"}),
                         r.hscan("h", 0, count=100))
        self.assertTrue(r.copy("h", "h2"))
        self.assertEqual(14, r.hincrby("h2", "n", 10))
        self.assertEqual([b"4", b"14"], [r.hget("h", "n"),
                                           r.hget("h2", "n")])
        self.assertEqual(5, r.hincrby("one", "k", 5))
        self.assertEqual([b"k", b"5", b"k", b"5"],
                         r.hrandfield("one", -2, withvalues=True))

    def test_drained_hash(self):
        # A hash drained from 20,000 fields to 9 while an HSCAN runs: the
        # scan sees every field present throughout, and HRANDFIELD picks
        # among those left, each of them in 300 draws.
        r = self.r
        with r.pipeline(transaction=False) as p:
            for i in range(0, 20000, 1000):
                p.hset("d", mapping={"f%d" % j: "v%d" % j
                                     for j in range(i, i + 1000)})
            p.execute()
        keep = {("f%d" % i).encode() for i in range(0, 20000, 2300)}
        doomed = [("f%d" % i).encode() for i in range(20000)
                  if ("f%d" % i).encode() not in keep]
        seen, cur = set(), 0
        while True:
            if doomed:
                r.hdel("d", *doomed[:1500])
                doomed = doomed[1500:]
            cur, part = r.hscan("d", cur, count=100)
            seen.update(part)
            if cur == 0:
                break
        if doomed:
            r.hdel("d", *doomed)
        self.assertTrue(keep <= seen)
        self.assertEqual(keep, set(r.hkeys("d")))
        drawn = {r.hrandfield("d") for _ in range(300)}
        self.assertEqual(keep, drawn)
        for _ in range(20):
            got = r.hrandfield("d", 3)
            self.assertEqual(3, len(set(got)))
            self.assertTrue(set(got) <= keep)
            rep = r.hrandfield("d", -5, withvalues=True)
            self.assertEqual(10, len(rep))
            for i in range(0, 10, 2):
                self.assertEqual(b"v" + rep[i][1:], rep[i + 1])
        self.assertEqual(keep, set(r.hrandfield("d", 9)))

    def test_hrandfield(self):
        r = self.r
        self.assertIsNone(r.hrandfield("nokey"))
        self.assertEqual([], r.hrandfield("nokey", 3))
        d = {("f%d" % i).encode(): ("v%d" % i).encode() for i in range(20)}
        r.hset("h", mapping=d)
        self.assertIn(r.hrandfield("h"), d)
        got = r.hrandfield("h", 5)
        self.assertEqual(5, len(got))
        self.assertEqual(5, len(set(got)))
        self.assertTrue(set(got) <= set(d))
        self.assertEqual(set(d), set(r.hrandfield("h", 100)))
        self.assertEqual(0, len(r.hrandfield("h", 0)))
        rep = r.hrandfield("h", -50)
        self.assertEqual(50, len(rep))
        self.assertTrue(set(rep) <= set(d))
        wv = r.hrandfield("h", 4, withvalues=True)
        self.assertEqual(8, len(wv))
        for i in range(0, 8, 2):
            self.assertEqual(d[wv[i]], wv[i + 1])
        c = self.raw()
        c.call("HELLO", "3")
        pairs = c.call("HRANDFIELD", "h", "-3", "WITHVALUES")
        self.assertEqual(3, len(pairs))
        for f, v in pairs:
            self.assertEqual(d[f], v)

    def test_hscan(self):
        r = self.r
        self.assertEqual((0, {}), r.hscan("nokey", 0))
        d = {("f%d" % i).encode(): str(i).encode() for i in range(1000)}
        r.hset("h", mapping=d)
        seen, cur = {}, 0
        while True:
            cur, part = r.hscan("h", cur, count=50)
            seen.update(part)
            if cur == 0:
                break
        self.assertEqual(d, seen)
        self.assertEqual(d, dict(r.hscan_iter("h")))
        m = dict(r.hscan_iter("h", match="f1?"))
        self.assertEqual({k: v for k, v in d.items()
                          if len(k) == 3 and k.startswith(b"f1")}, m)

    def test_big_hash(self):
        r = self.r
        n = 20000
        p = r.pipeline(transaction=False)
        for i in range(0, n, 100):
            p.hset("big", mapping={("field:%d" % j): ("value-%d" % j)
                                   for j in range(i, i + 100)})
        p.execute()
        self.assertEqual(n, r.hlen("big"))
        all_ = r.hgetall("big")
        self.assertEqual(n, len(all_))
        self.assertEqual(b"value-12345", all_[b"field:12345"])
        self.assertEqual(n // 2, r.hdel("big", *["field:%d" % j
                                                for j in range(0, n, 2)]))
        self.assertEqual(n // 2, r.hlen("big"))
        self.assertIsNone(r.hget("big", "field:12344"))
        self.assertEqual(b"value-12345", r.hget("big", "field:12345"))

    def test_key_commands(self):
        r = self.r
        r.hset("h", mapping={"a": "1", "b": "2"})
        r.set("s", "x")
        self.assertEqual(b"hash", r.type("h"))
        self.assertEqual([b"h"], r.scan(0, _type="hash", count=1000)[1])
        self.assertEqual([b"s"], r.scan(0, _type="string", count=1000)[1])
        self.assertTrue(r.rename("h", "h2"))
        self.assertEqual(0, r.exists("h"))
        self.assertEqual({b"a": b"1", b"b": b"2"}, r.hgetall("h2"))
        self.assertTrue(r.copy("h2", "h3"))
        self.assertFalse(r.copy("h2", "h3"))
        r.hset("h3", "a", "changed")
        self.assertEqual(b"1", r.hget("h2", "a"))     # its own copy
        self.assertTrue(r.copy("h3", "h2", replace=True))
        self.assertEqual(b"changed", r.hget("h2", "a"))
        self.assertTrue(r.move("h3", 2))
        self.assertEqual({b"a": b"changed", b"b": b"2"},
                         self.client(2).hgetall("h3"))
        self.assertFalse(r.renamenx("h2", "s"))
        self.assertTrue(r.rename("s", "h2"))          # replaces the hash
        self.assertEqual(b"string", r.type("h2"))
        r.hset("e", "f", "v")
        self.assertTrue(r.pexpire("e", 100000))
        self.assertGreater(r.pttl("e"), 0)
        self.assertTrue(r.rename("e", "e2"))
        self.assertGreater(r.pttl("e2"), 0)           # the expiry moves
        self.assertTrue(r.persist("e2"))
        self.assertEqual(-1, r.ttl("e2"))
        self.assertTrue(r.pexpire("e2", 1))
        import time
        time.sleep(0.05)
        self.assertEqual(0, r.hlen("e2"))
        self.assertEqual(1, r.delete("h2"))

    def test_object(self):
        r, c = self.r, self.raw()
        r.set("i", "12345")
        r.set("e", "hello")
        r.set("w", "x" * 100)
        r.hset("h", "f", "v")
        self.assertEqual(b"int", c.call("OBJECT", "ENCODING", "i"))
        self.assertEqual(b"embstr", c.call("OBJECT", "ENCODING", "e"))
        self.assertEqual(b"raw", c.call("OBJECT", "ENCODING", "w"))
        enc = c.call("OBJECT", "ENCODING", "h")
        if TARGET == "pkv":
            self.assertEqual(b"hashtable", enc)
        else:
            self.assertIn(enc, (b"listpack", b"hashtable"))
        self.assertIsNone(c.call("OBJECT", "ENCODING", "nokey"))
        self.assertEqual(1, c.call("OBJECT", "REFCOUNT", "e"))
        self.assertIsNone(c.call("OBJECT", "REFCOUNT", "nokey"))
        self.assertErr("ERR An LFU maxmemory policy is not selected, access "
                       "frequency not tracked. Please note that when "
                       "switching between policies at runtime LRU and LFU "
                       "data will take some time to adjust.",
                       "OBJECT", "FREQ", "e")
        self.assertErr("ERR unknown subcommand 'FOO'. Try OBJECT HELP.",
                       "OBJECT", "FOO", "e")
        self.assertErr("ERR wrong number of arguments for 'object|encoding'"
                       " command", "OBJECT", "ENCODING")

    def test_multi_watch(self):
        r = self.r
        p = r.pipeline()
        p.hset("h", "a", "1").hget("h", "a").hlen("h").hincrby("h", "n", 2)
        self.assertEqual([1, b"1", 1, 2], p.execute())
        other = self.client()
        with r.pipeline() as p:
            p.watch("h")
            other.hset("h", "b", "2")
            p.multi()
            p.hset("h", "c", "3")
            self.assertRaises(redis.WatchError, p.execute)
        self.assertIsNone(r.hget("h", "c"))

    def test_resp3(self):
        c = self.raw()
        c.call("HELLO", "3")
        c.call("HSET", "h", "a", "1", "b", "2")
        m = c.call("HGETALL", "h")
        self.assertIsInstance(m, Map)
        self.assertEqual({b"a": b"1", b"b": b"2"}, dict(m))
        self.assertEqual(Map(), c.call("HGETALL", "nokey"))
        self.assertIsInstance(c.call("HGET", "h", "zz"), type(None))


if __name__ == "__main__":
    main("server_hash.py")
