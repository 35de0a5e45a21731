#!/usr/bin/env python3
"""server_set.py -- the set commands of pkv-server through redis-py and a
raw RESP2/RESP3 client: members added, removed and tested, SPOP and
SRANDMEMBER in every form, SMOVE, the algebra (SINTER SINTERCARD SUNION
SDIFF and their STORE forms, a destination that is also a source), SSCAN,
exact error texts, WRONGTYPE both ways, the key commands on sets,
MULTI/EXEC and WATCH, and a big set.

    server_set.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh runs it after server_test.py, whose helpers it shares.
PKV_TEST_TARGET=redis runs the same tests against a real redis-server.
Exit 0 if all pass, 1 if any fails, 77 if redis-py is missing.
"""
from server_test import PKV, Base, main, redis
from resp_client import RespSet

WRONGTYPE = ("WRONGTYPE Operation against a key holding the wrong kind "
             "of value")


class Sets(Base):
    def test_members(self):
        r = self.r
        self.assertEqual(3, r.sadd("s", "a", "b", "c"))
        self.assertEqual(1, r.sadd("s", "a", "d", "d"))
        self.assertEqual({b"a", b"b", b"c", b"d"}, r.smembers("s"))
        self.assertEqual(set(), r.smembers("nokey"))
        self.assertEqual(4, r.scard("s"))
        self.assertEqual(0, r.scard("nokey"))
        self.assertTrue(r.sismember("s", "a"))
        self.assertFalse(r.sismember("s", "z"))
        self.assertFalse(r.sismember("nokey", "z"))
        self.assertEqual([1, 0, 1], r.smismember("s", "a", "z", "d"))
        self.assertEqual([0, 0], r.smismember("nokey", "a", "b"))
        self.assertEqual(2, r.srem("s", "a", "b", "zz"))
        self.assertEqual(0, r.srem("nokey", "a"))
        self.assertEqual(2, r.srem("s", "c", "d"))
        self.assertEqual(0, r.exists("s"))     # gone with its last member
        self.assertEqual(1, r.sadd("e", ""))
        self.assertTrue(r.sismember("e", ""))

    def test_pop_random(self):
        r = self.r
        members = {str(i).encode() for i in range(50)}
        r.sadd("s", *members)
        got = set()
        for _ in range(10):
            m = r.spop("s")
            self.assertIn(m, members)
            self.assertNotIn(m, got)
            got.add(m)
        self.assertEqual(40, r.scard("s"))
        many = r.spop("s", 15)
        self.assertEqual(15, len(set(many)))
        self.assertFalse(set(many) & got)
        self.assertEqual(25, r.scard("s"))
        self.assertEqual([], r.spop("s", 0))
        rest = r.spop("s", 100)
        self.assertEqual(25, len(rest))
        self.assertEqual(members, got | set(many) | set(rest))
        self.assertEqual(0, r.exists("s"))
        self.assertIsNone(r.spop("s"))
        self.assertEqual([], r.spop("s", 3))
        r.sadd("s", *members)
        self.assertIn(r.srandmember("s"), members)
        self.check_random("s", members, 20, 200)
        self.assertEqual([], r.srandmember("s", 0))
        self.assertIsNone(r.srandmember("nokey"))
        self.assertEqual([], r.srandmember("nokey", 5))
        self.assertEqual(50, r.scard("s"))

    def test_many_repeats(self):
        """A negative count of many (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER):
        one read of the collection, each pick sent at once; beyond 2^22
        elements pkv refuses, as Redis does beyond 2^62 (the server
        fuzzer's SRANDMEMBER s -722222222 took 4 GiB before a byte was
        sent, and ZRANDMEMBER read the set once per element)."""
        r = self.r
        r.sadd("s", "a", "b", "c")
        r.hset("h", mapping={"f": "1", "g": "2"})
        r.zadd("z", {"m": 1, "n": 2})
        got = r.srandmember("s", -5000)
        self.assertEqual(5000, len(got))
        self.assertEqual({b"a", b"b", b"c"}, set(got))
        got = r.hrandfield("h", -5000)
        self.assertEqual(5000, len(got))
        self.assertEqual({b"f", b"g"}, set(got))
        got = r.zrandmember("z", -5000)
        self.assertEqual(5000, len(got))
        self.assertEqual({b"m", b"n"}, set(got))
        got = self.raw().call("ZRANDMEMBER", "z", "-3000", "WITHSCORES")
        self.assertEqual(6000, len(got))
        self.assertEqual({b"m": b"1", b"n": b"2"},
                         dict(zip(got[0::2], got[1::2])))
        if PKV:
            for cmd in ("SRANDMEMBER", "s"), ("HRANDFIELD", "h"), \
                       ("ZRANDMEMBER", "z"):
                self.assertErr("ERR value is out of range", *cmd,
                               str(-(1 << 22) - 1))
                self.assertErr("ERR value is out of range", *cmd,
                               "-722222222")

    def test_smove(self):
        r = self.r
        r.sadd("a", "x", "y")
        r.sadd("b", "y")
        self.assertTrue(r.smove("a", "b", "x"))
        self.assertFalse(r.smove("a", "b", "zz"))
        self.assertTrue(r.smove("a", "b", "y"))    # already in b
        self.assertEqual(0, r.exists("a"))
        self.assertEqual({b"x", b"y"}, r.smembers("b"))
        self.assertTrue(r.smove("b", "b", "x"))
        self.assertFalse(r.smove("b", "b", "q"))
        self.assertFalse(r.smove("nokey", "b", "x"))
        self.assertTrue(r.smove("b", "c", "x"))
        self.assertEqual({b"x"}, r.smembers("c"))

    def test_algebra(self):
        r = self.r
        r.sadd("a", "1", "2", "3", "4")
        r.sadd("b", "3", "4", "5")
        r.sadd("c", "4", "5", "6")
        self.assertEqual({b"4"}, r.sinter("a", "b", "c"))
        self.assertEqual({b"3", b"4"}, r.sinter("a", "b"))
        self.assertEqual(set(), r.sinter("a", "nokey"))
        self.assertEqual({str(i).encode() for i in range(1, 7)},
                         r.sunion("a", "b", "c", "nokey"))
        self.assertEqual({b"1", b"2"}, r.sdiff("a", "b", "c"))
        self.assertEqual({b"1", b"2", b"3", b"4"}, r.sdiff("a", "nokey"))
        self.assertEqual(set(), r.sdiff("nokey", "a"))
        self.assertEqual(2, r.sintercard(2, ["a", "b"]))
        self.assertEqual(1, r.sintercard(2, ["a", "b"], limit=1))
        self.assertEqual(0, r.sintercard(2, ["a", "nokey"]))
        self.assertEqual(2, r.sinterstore("d", "a", "b"))
        self.assertEqual({b"3", b"4"}, r.smembers("d"))
        self.assertEqual(6, r.sunionstore("d", "a", "b", "c"))
        self.assertEqual(2, r.sdiffstore("d", "a", "b"))
        self.assertEqual({b"1", b"2"}, r.smembers("d"))
        # the destination is also a source
        self.assertEqual(4, r.sunionstore("a", "a", "d"))
        self.assertEqual(2, r.sdiffstore("a", "a", "b"))
        self.assertEqual({b"1", b"2"}, r.smembers("a"))
        self.assertEqual(0, r.sdiffstore("a", "a", "d"))
        self.assertEqual(0, r.exists("a"))
        # an empty result deletes the destination, whatever it was
        r.set("str", "x")
        self.assertEqual(0, r.sinterstore("str", "b", "nokey"))
        self.assertEqual(0, r.exists("str"))

    def test_sscan(self):
        r = self.r
        r.sadd("s", *["m%d" % i for i in range(300)])
        seen, cur = set(), 0
        while True:
            cur, got = r.sscan("s", cur, count=20)
            seen.update(got)
            if cur == 0:
                break
        self.assertEqual({("m%d" % i).encode() for i in range(300)}, seen)
        cur, got = r.sscan("s", 0, match="m1?", count=1000)
        self.assertEqual(0, cur)
        self.assertEqual({("m1%d" % i).encode() for i in range(10)},
                         set(got))
        self.assertEqual((0, []), r.sscan("nokey", 0))

    def test_wrongtype_errors(self):
        r = self.r
        r.set("str", "v")
        r.rpush("l", "a")
        r.sadd("s", "a")
        c = self.raw()
        for args in (("SADD", "str", "a"), ("SREM", "l", "a"),
                     ("SISMEMBER", "str", "a"), ("SMISMEMBER", "l", "a"),
                     ("SCARD", "str"), ("SMEMBERS", "l"), ("SPOP", "str"),
                     ("SRANDMEMBER", "l", "2"), ("SMOVE", "str", "s", "a"),
                     ("SMOVE", "s", "str", "a"), ("SINTER", "s", "l"),
                     ("SUNION", "str", "s"), ("SDIFF", "s", "l"),
                     ("SINTERSTORE", "d", "s", "str"),
                     ("SINTERCARD", "2", "s", "l"), ("SSCAN", "l", "0")):
            self.assertErr(WRONGTYPE, *args, conn=c)
        self.assertEqual({b"a"}, r.smembers("s"))   # SMOVE moved nothing
        for args in (("GET", "s"), ("HSET", "s", "f", "v"),
                     ("LPUSH", "s", "x")):
            self.assertErr(WRONGTYPE, *args, conn=c)
        self.assertErr("ERR value is out of range, must be positive",
                       "SPOP", "s", "-1", conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "SRANDMEMBER", "s", "x", conn=c)
        self.assertErr("ERR syntax error", "SPOP", "s", "1", "2", conn=c)
        self.assertErr("ERR numkeys should be greater than 0",
                       "SINTERCARD", "0", "s", conn=c)
        self.assertErr("ERR Number of keys can't be greater than number "
                       "of args", "SINTERCARD", "3", "s", "t", conn=c)
        self.assertErr("ERR LIMIT can't be negative", "SINTERCARD", "1",
                       "s", "LIMIT", "-1", conn=c)
        self.assertErr("ERR syntax error", "SINTERCARD", "1", "s", "LIM",
                       "1", conn=c)
        self.assertErr("ERR wrong number of arguments for 'sadd' command",
                       "SADD", "s", conn=c)

    def test_key_commands(self):
        r = self.r
        r.sadd("s", "a", "b")
        self.assertEqual(b"set", r.type("s"))
        self.assertEqual([b"s"], r.scan(0, _type="set", count=100)[1])
        self.assertEqual(b"hashtable", r.object("encoding", "s"))
        self.assertTrue(r.rename("s", "t"))
        self.assertTrue(r.copy("t", "u"))
        r.sadd("u", "c")
        self.assertEqual(2, r.scard("t"))
        self.assertEqual(3, r.scard("u"))
        self.assertTrue(r.expire("u", 100))
        self.assertEqual(1, r.delete("u"))

    def check_random(self, key, members, distinct, repeats):
        """SRANDMEMBER of key, whose members are `members`: `distinct`
        distinct ones, all of them for a count past the size, and
        `repeats` with repeats, each one of the members."""
        pick = self.r.srandmember(key, distinct)
        self.assertEqual(distinct, len(set(pick)))
        self.assertTrue(set(pick) <= members)
        self.assertEqual(members, set(self.r.srandmember(key, 500)))
        rep = self.r.srandmember(key, -repeats)
        self.assertEqual(repeats, len(rep))
        self.assertTrue(set(rep) <= members)

    def fill(self, key, n):
        """Members m0..m<n-1> into key, a thousand per SADD, pipelined."""
        p = self.r.pipeline(transaction=False)
        for i in range(0, n, 1000):
            p.sadd(key, *["m%d" % j for j in range(i, min(n, i + 1000))])
        p.execute()

    def test_big_set(self):
        r = self.r
        self.fill("big", 20000)
        self.assertEqual(20000, r.scard("big"))
        self.assertTrue(r.sismember("big", "m19999"))
        self.assertEqual(20000, len(r.smembers("big")))
        self.assertEqual(100, len(set(r.srandmember("big", 100))))
        self.assertEqual(10, len(r.spop("big", 10)))
        self.assertEqual(19990, r.scard("big"))

    def test_sparse_set_random(self):
        # A set drained from 20,000 members to 9: its table keeps its
        # buckets, and random picks must still be prompt and right.
        r = self.r
        self.fill("sp", 20000)
        self.assertEqual(19991, len(r.spop("sp", 19991)))
        left = r.smembers("sp")
        self.assertEqual(9, len(left))
        for _ in range(5):
            self.check_random("sp", left, 3, 50000)
            self.assertEqual(7, len(r.srandmember("sp", -7)))
            self.assertIn(r.spop("sp"), left)
            r.sadd("sp", *left)

    def test_multi_watch(self):
        r = self.r
        with r.pipeline() as p:
            p.sadd("s", "a", "b")
            p.srem("s", "a")
            p.smembers("s")
            self.assertEqual([2, 1, {b"b"}], p.execute())
        other = self.client()
        with r.pipeline() as p:
            p.watch("s")
            other.sadd("s", "c")
            p.multi()
            p.sadd("s", "d")
            self.assertRaises(redis.WatchError, p.execute)
        self.assertEqual({b"b", b"c"}, r.smembers("s"))

    def test_resp3(self):
        c = self.raw()
        c.call("HELLO", "3")
        c.call("SADD", "s", "a", "b")
        got = c.call("SMEMBERS", "s")
        self.assertIsInstance(got, RespSet)
        self.assertEqual({b"a", b"b"}, set(got))
        self.assertIsInstance(c.call("SINTER", "s", "s"), RespSet)
        self.assertIsInstance(c.call("SPOP", "s", "1"), RespSet)
        self.assertIsNone(c.call("SPOP", "nokey"))


if __name__ == "__main__":
    main("server_set.py")
