#!/usr/bin/env python3
"""server_zset.py -- the sorted set commands of pkv-server through redis-py
and a raw RESP2/RESP3 client: ZADD with every option, ZINCRBY, scores,
ranks, counts, ZRANGE in every form and the old range commands, range
removals, pops (blocking ones woken by another client), ZRANDMEMBER, the
algebra with WEIGHTS and AGGREGATE (sets as inputs), ZSCAN, exact error
texts, WRONGTYPE, the key commands, MULTI/EXEC, RESP3 and a big set.

    server_zset.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh runs it after server_test.py, whose helpers it shares.
PKV_TEST_TARGET=redis runs the same tests against a real redis-server.
Exit 0 if all pass, 1 if any fails, 77 if redis-py is missing.
"""
import threading
import time

from server_test import Base, main

WRONGTYPE = ("WRONGTYPE Operation against a key holding the wrong kind "
             "of value")


class ZSets(Base):
    def test_zadd_options(self):
        r = self.r
        self.assertEqual(3, r.zadd("z", {"a": 1, "b": 2, "c": 3}))
        self.assertEqual(0, r.zadd("z", {"a": 5}))
        self.assertEqual(1, r.zadd("z", {"a": 6, "b": 2}, ch=True))
        self.assertEqual(0, r.zadd("z", {"a": 0, "d": 4}, xx=True))
        self.assertIsNone(r.zscore("z", "d"))
        self.assertEqual(0.0, r.zscore("z", "a"))
        self.assertEqual(1, r.zadd("z", {"a": 9, "d": 4}, nx=True))
        self.assertEqual(0.0, r.zscore("z", "a"))
        self.assertEqual(1, r.zadd("z", {"a": 3, "b": 1}, gt=True, ch=True))
        self.assertEqual([3.0, 2.0], r.zmscore("z", ["a", "b"]))
        self.assertEqual(1, r.zadd("z", {"a": 2, "b": 5}, lt=True, ch=True))
        self.assertEqual([2.0, 2.0, None], r.zmscore("z", ["a", "b", "zz"]))
        c = self.raw()
        self.assertEqual(b"7", c.call("ZADD", "z", "INCR", "5", "a"))
        self.assertIsNone(c.call("ZADD", "z", "NX", "INCR", "5", "a"))
        self.assertIsNone(c.call("ZADD", "z", "XX", "INCR", "5", "nope"))
        self.assertIsNone(c.call("ZADD", "z", "GT", "INCR", "-1", "a"))
        self.assertEqual(b"3.5", c.call("ZINCRBY", "z", "1.5", "b"))
        self.assertEqual(b"1", c.call("ZINCRBY", "z", "1", "new"))
        self.assertEqual(b"1.1000000000000001",
                         c.call("ZADD", "z", "INCR", "1.1", "f"))
        self.assertEqual(b"inf", c.call("ZINCRBY", "z", "+inf", "g"))
        self.assertEqual(7, r.zcard("z"))
        self.assertEqual(0, r.zcard("nokey"))
        self.assertEqual(2, r.zrem("z", "new", "g", "nope"))
        self.assertEqual(0, r.zrem("nokey", "a"))

    def test_errors(self):
        c = self.raw()
        c.call("ZADD", "z", "1", "a")
        self.assertErr("ERR value is not a valid float", "ZADD", "z", "x",
                       "a", conn=c)
        self.assertErr("ERR value is not a valid float", "ZADD", "z", "nan",
                       "a", conn=c)
        self.assertErr("ERR syntax error", "ZADD", "z", "1", "a", "2",
                       conn=c)
        self.assertErr("ERR wrong number of arguments for 'zadd' command",
                       "ZADD", "z", "1", conn=c)
        self.assertErr("ERR XX and NX options at the same time are not "
                       "compatible", "ZADD", "z", "NX", "XX", "1", "a",
                       conn=c)
        self.assertErr("ERR GT, LT, and/or NX options at the same time are "
                       "not compatible", "ZADD", "z", "GT", "LT", "1", "a",
                       conn=c)
        self.assertErr("ERR INCR option supports a single increment-element "
                       "pair", "ZADD", "z", "INCR", "1", "a", "2", "b",
                       conn=c)
        c.call("ZADD", "z", "+inf", "i")
        self.assertErr("ERR resulting score is not a number (NaN)",
                       "ZINCRBY", "z", "-inf", "i", conn=c)
        self.assertErr("ERR min or max is not a float", "ZCOUNT", "z", "a",
                       "1", conn=c)
        self.assertErr("ERR min or max not valid string range item",
                       "ZLEXCOUNT", "z", "a", "+", conn=c)
        self.assertErr("ERR syntax error, LIMIT is only supported in "
                       "combination with either BYSCORE or BYLEX", "ZRANGE",
                       "z", "0", "1", "LIMIT", "0", "1", conn=c)
        self.assertErr("ERR syntax error, WITHSCORES not supported in "
                       "combination with BYLEX", "ZRANGE", "z", "-", "+",
                       "BYLEX", "WITHSCORES", conn=c)
        self.assertErr("ERR value is out of range, must be positive",
                       "ZPOPMIN", "z", "-1", conn=c)
        self.assertErr("ERR numkeys should be greater than 0", "ZMPOP", "0",
                       "z", "MIN", conn=c)
        # numkeys that leaves no room for MIN/MAX (once read past argv)
        self.assertErr("ERR syntax error", "ZMPOP", "2", "a", "b", conn=c)
        self.assertErr("ERR syntax error", "LMPOP", "2", "a", "b", conn=c)
        self.assertErr("ERR at least 1 input key is needed for 'zunionstore' "
                       "command", "ZUNIONSTORE", "d", "0", "z", conn=c)
        self.assertErr("ERR weight value is not a float", "ZUNION", "1", "z",
                       "WEIGHTS", "x", conn=c)
        self.assertErr("ERR syntax error", "ZINTER", "1", "z", "AGGREGATE",
                       "AVG", conn=c)
        self.assertErr("ERR LIMIT can't be negative", "ZINTERCARD", "1",
                       "z", "LIMIT", "-1", conn=c)
        c.call("SET", "s", "x")
        for args in (("ZADD", "s", "1", "a"), ("ZSCORE", "s", "a"),
                     ("ZRANGE", "s", "0", "-1"), ("ZCARD", "s"),
                     ("ZPOPMIN", "s"), ("ZUNION", "1", "s"),
                     ("BZPOPMIN", "s", "1"), ("ZRANK", "s", "a")):
            self.assertErr(WRONGTYPE, *args, conn=c)
        for args in (("GET", "z"), ("SADD", "z", "a"), ("LPUSH", "z", "a")):
            self.assertErr(WRONGTYPE, *args, conn=c)

    def test_ranks_counts(self):
        r = self.r
        r.zadd("z", {"a": 1, "b": 2, "c": 2, "d": 3, "e": 5})
        self.assertEqual(0, r.zrank("z", "a"))
        self.assertEqual(2, r.zrank("z", "c"))
        self.assertEqual(0, r.zrevrank("z", "e"))
        self.assertIsNone(r.zrank("z", "zz"))
        self.assertIsNone(r.zrank("nokey", "a"))
        self.assertEqual(3, r.zcount("z", 2, 3))
        self.assertEqual(1, r.zcount("z", "(2", "(5"))
        self.assertEqual(5, r.zcount("z", "-inf", "+inf"))
        self.assertEqual(0, r.zcount("z", 6, 7))
        r.zadd("l", {"a": 0, "b": 0, "c": 0, "d": 0})
        self.assertEqual(2, r.zlexcount("l", "[b", "[c"))
        self.assertEqual(4, r.zlexcount("l", "-", "+"))
        self.assertEqual(1, r.zlexcount("l", "(a", "(c"))

    def test_ranges(self):
        r = self.r
        r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
        self.assertEqual([b"a", b"b", b"c"], r.zrange("z", 0, 2))
        self.assertEqual([b"e", b"d"], r.zrange("z", 0, 1, desc=True))
        self.assertEqual([(b"d", 4.0), (b"e", 5.0)],
                         r.zrange("z", -2, -1, withscores=True))
        self.assertEqual([], r.zrange("z", 3, 1))
        self.assertEqual([], r.zrange("nokey", 0, -1))
        c = self.raw()
        self.assertEqual([b"b", b"c", b"d"],
                         c.call("ZRANGE", "z", "(1", "4", "BYSCORE"))
        self.assertEqual([b"d", b"c"],
                         c.call("ZRANGE", "z", "4", "2", "BYSCORE", "REV",
                                "LIMIT", "0", "2"))
        self.assertEqual([b"c", b"3", b"d", b"4"],
                         c.call("ZRANGE", "z", "2", "5", "BYSCORE", "LIMIT",
                                "1", "2", "WITHSCORES"))
        self.assertEqual([], c.call("ZRANGE", "z", "2", "5", "BYSCORE",
                                    "LIMIT", "-1", "2"))
        self.assertEqual([b"b", b"c"],
                         c.call("ZRANGE", "z", "[b", "(d", "BYLEX"))
        self.assertEqual([b"e", b"d"],
                         c.call("ZRANGE", "z", "+", "-", "BYLEX", "REV",
                                "LIMIT", "0", "2"))
        self.assertEqual([b"e", b"d", b"c", b"b", b"a"],
                         r.zrevrange("z", 0, -1))
        self.assertEqual([b"b", b"c"], r.zrangebyscore("z", 2, 3))
        self.assertEqual([(b"c", 3.0)],
                         r.zrangebyscore("z", "-inf", "+inf", start=2, num=1,
                                         withscores=True))
        self.assertEqual([b"c", b"b"], r.zrevrangebyscore("z", 3, 2))
        self.assertEqual([b"a", b"b"], r.zrangebylex("z", "-", "[b"))
        self.assertEqual([b"b", b"a"], r.zrevrangebylex("z", "[b", "-"))
        self.assertEqual(2, c.call("ZRANGESTORE", "d", "z", "0", "1"))
        self.assertEqual([b"a", b"b"], r.zrange("d", 0, -1))
        self.assertEqual(0, c.call("ZRANGESTORE", "d", "z", "9", "10"))
        self.assertEqual(0, r.exists("d"))

    def test_remove_ranges(self):
        r = self.r
        r.zadd("z", {str(i): i for i in range(10)})
        self.assertEqual(2, r.zremrangebyrank("z", 0, 1))
        self.assertEqual(3, r.zremrangebyscore("z", "(2", 5))
        self.assertEqual([b"2", b"6", b"7", b"8", b"9"], r.zrange("z", 0, -1))
        r.zadd("l", {"a": 0, "b": 0, "c": 0})
        self.assertEqual(2, r.zremrangebylex("l", "[a", "(c"))
        self.assertEqual(1, r.zremrangebylex("l", "-", "+"))
        self.assertEqual(0, r.exists("l"))
        self.assertEqual(0, r.zremrangebyrank("nokey", 0, -1))

    def test_pops(self):
        r = self.r
        r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
        self.assertEqual([(b"a", 1.0)], r.zpopmin("z"))
        self.assertEqual([(b"d", 4.0), (b"c", 3.0)], r.zpopmax("z", 2))
        self.assertEqual([], r.zpopmin("nokey"))
        c = self.raw()
        self.assertEqual([b"b", b"2"], c.call("ZPOPMIN", "z", "5"))
        self.assertEqual(0, r.exists("z"))
        r.zadd("y", {"x": 1, "w": 2})
        self.assertEqual([b"y", [[b"w", b"2"], [b"x", b"1"]]],
                         c.call("ZMPOP", "2", "nokey", "y", "MAX",
                                "COUNT", "5"))
        self.assertIsNone(c.call("ZMPOP", "1", "y", "MIN"))
        self.assertIsNone(c.call("BZPOPMIN", "y", "0.05"))
        self.assertIsNone(c.call("BZMPOP", "0.05", "1", "y", "MIN"))

    def test_blocking(self):
        out = {}
        c = self.raw()

        def run():
            out["r"] = c.call("BZPOPMIN", "q1", "q2", "0")
        t = threading.Thread(target=run)
        t.start()
        deadline = time.time() + 30
        while self.r.info("clients")["blocked_clients"] != 1:
            self.assertLess(time.time(), deadline)
            time.sleep(0.005)
        self.r.zadd("q2", {"job": 7, "later": 9})
        t.join(60)
        self.assertEqual([b"q2", b"job", b"7"], out["r"])
        self.assertEqual([b"later"], self.r.zrange("q2", 0, -1))

    def test_randmember(self):
        r = self.r
        members = {("m%d" % i).encode() for i in range(30)}
        r.zadd("z", {m: i for i, m in enumerate(sorted(members))})
        self.assertIn(r.zrandmember("z"), members)
        pick = r.zrandmember("z", 10)
        self.assertEqual(10, len(set(pick)))
        self.assertEqual(members, set(r.zrandmember("z", 100)))
        self.assertEqual(50, len(r.zrandmember("z", -50)))
        with_scores = self.raw().call("ZRANDMEMBER", "z", "3", "WITHSCORES")
        self.assertEqual(6, len(with_scores))
        self.assertIsNone(r.zrandmember("nokey"))
        self.assertEqual([], r.zrandmember("nokey", 3))

    def test_algebra(self):
        r = self.r
        r.zadd("a", {"x": 1, "y": 2, "z": 3})
        r.zadd("b", {"y": 10, "z": 20, "w": 30})
        r.sadd("s", "z", "v")
        c = self.raw()
        self.assertEqual([b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"],
                         c.call("ZUNION", "2", "a", "b", "WITHSCORES"))
        self.assertEqual([b"y", b"24", b"z", b"46"],
                         c.call("ZINTER", "2", "a", "b", "WEIGHTS", "2", "2",
                                "WITHSCORES"))
        self.assertEqual([b"y", b"2", b"z", b"3"],
                         c.call("ZINTER", "2", "a", "b", "AGGREGATE", "MIN",
                                "WITHSCORES"))
        self.assertEqual([b"z", b"4"],
                         c.call("ZINTER", "2", "a", "s", "WITHSCORES"))
        self.assertEqual([b"x"], c.call("ZDIFF", "2", "a", "b"))
        self.assertEqual(4, c.call("ZUNIONSTORE", "d", "2", "a", "b",
                                   "AGGREGATE", "MAX"))
        self.assertEqual([(b"x", 1.0), (b"y", 10.0), (b"z", 20.0),
                          (b"w", 30.0)], r.zrange("d", 0, -1,
                                                  withscores=True))
        self.assertEqual(3, c.call("ZINTERSTORE", "d", "2", "d", "a"))
        self.assertEqual(1, c.call("ZDIFFSTORE", "d", "2", "a", "b"))
        self.assertEqual(0, c.call("ZINTERSTORE", "d", "2", "a", "nokey"))
        self.assertEqual(0, r.exists("d"))
        self.assertEqual(2, c.call("ZINTERCARD", "2", "a", "b"))
        self.assertEqual(1, c.call("ZINTERCARD", "2", "a", "b", "LIMIT",
                                   "1"))
        self.assertEqual([b"w", b"0", b"x", b"0", b"y", b"0", b"z", b"0"],
                         c.call("ZUNION", "2", "a", "b", "WEIGHTS", "0", "0",
                                "WITHSCORES"))

    def test_zscan_and_keys(self):
        r = self.r
        r.zadd("z", {("m%d" % i): i for i in range(200)})
        seen, cur = {}, 0
        while True:
            cur, got = r.zscan("z", cur, count=20)
            seen.update(got)
            if cur == 0:
                break
        self.assertEqual(200, len(seen))
        self.assertEqual(17.0, seen[b"m17"])
        self.assertEqual(b"zset", r.type("z"))
        self.assertEqual(b"skiplist", r.object("encoding", "z"))
        self.assertEqual([b"z"], r.scan(0, _type="zset", count=1000)[1])
        self.assertTrue(r.rename("z", "y"))
        self.assertTrue(r.copy("y", "x"))
        self.assertEqual(200, r.zcard("x"))
        self.assertEqual(b"m5", r.zrange("x", 5, 5)[0])
        with r.pipeline() as p:
            p.zadd("t", {"a": 1})
            p.zincrby("t", 2, "a")
            p.zrange("t", 0, -1, withscores=True)
            self.assertEqual([1, 3.0, [(b"a", 3.0)]], p.execute())

    def test_big(self):
        r = self.r
        p = r.pipeline(transaction=False)
        for i in range(0, 20000, 1000):
            p.zadd("big", {("m%d" % j): j for j in range(i, i + 1000)})
        p.execute()
        self.assertEqual(20000, r.zcard("big"))
        self.assertEqual(12345, r.zrank("big", "m12345"))
        self.assertEqual([b"m19998", b"m19999"], r.zrange("big", -2, -1))
        self.assertEqual(101, r.zcount("big", 100, 200))
        self.assertEqual(5000, r.zremrangebyscore("big", 0, 4999))
        self.assertEqual(0, r.zrank("big", "m5000"))

    def test_resp3(self):
        c = self.raw()
        c.call("HELLO", "3")
        c.call("ZADD", "z", "1", "a", "2", "b")
        self.assertEqual(1.0, c.call("ZSCORE", "z", "a"))
        self.assertEqual([[b"a", 1.0], [b"b", 2.0]],
                         c.call("ZRANGE", "z", "0", "-1", "WITHSCORES"))
        self.assertEqual([[b"a", 1.0]], c.call("ZPOPMIN", "z", "1"))
        self.assertEqual([b"b", 2.0], c.call("ZPOPMIN", "z"))


if __name__ == "__main__":
    main("server_zset.py")
