#!/usr/bin/env python3
"""server_list.py -- the list commands of pkv-server through redis-py and a
raw RESP2/RESP3 client: pushes and pops at both ends, ranges, indexes,
LSET LINSERT LREM LTRIM LPOS LMOVE RPOPLPUSH LMPOP, exact error texts,
WRONGTYPE both ways, the key commands on lists, MULTI/EXEC and WATCH, a
long list, and the blocking pops: woken by another client's push (also
inside EXEC), served in the order the clients blocked, chained through
BLMOVE, timing out, not blocking inside MULTI.

    server_list.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh runs it after server_test.py, whose helpers it shares.
PKV_TEST_TARGET=redis runs the same tests against a real redis-server.
Exit 0 if all pass, 1 if any fails, 77 if redis-py is missing.

The blocking tests wait for INFO's blocked_clients to show each client
blocked before they push, and give every blocked call a timeout far
longer than it needs: nothing depends on the machine's speed.
"""
import threading
import time

from server_test import PKV, Base, main, redis

WRONGTYPE = ("WRONGTYPE Operation against a key holding the wrong kind "
             "of value")


class Lists(Base):
    def test_push_pop(self):
        r = self.r
        self.assertEqual(3, r.rpush("l", "a", "b", "c"))
        self.assertEqual(5, r.lpush("l", "y", "z"))
        self.assertEqual([b"z", b"y", b"a", b"b", b"c"], r.lrange("l", 0, -1))
        self.assertEqual(b"z", r.lpop("l"))
        self.assertEqual(b"c", r.rpop("l"))
        self.assertEqual([b"y", b"a"], r.lpop("l", 2))
        self.assertEqual([b"b"], r.rpop("l", 5))
        self.assertEqual(0, r.exists("l"))       # gone with its last element
        self.assertIsNone(r.lpop("l"))
        self.assertIsNone(r.rpop("l", 3))
        self.assertEqual(0, r.lpushx("l", "a"))
        self.assertEqual(0, r.rpushx("l", "a"))
        self.assertEqual(0, r.exists("l"))
        r.rpush("l", "a")
        self.assertEqual(2, r.rpushx("l", "b"))
        self.assertEqual(3, r.lpushx("l", "c"))
        self.assertEqual([], self.raw().call("LPOP", "l", "0"))
        self.assertEqual(3, r.llen("l"))
        self.assertEqual(0, r.llen("nokey"))
        self.assertEqual(b"", r.rpop(r.rpush("e", "") and "e"))

    def test_range_index(self):
        r = self.r
        r.rpush("l", *[str(i) for i in range(10)])
        self.assertEqual([b"0", b"1", b"2"], r.lrange("l", 0, 2))
        self.assertEqual([b"8", b"9"], r.lrange("l", -2, -1))
        self.assertEqual([b"9"], r.lrange("l", 9, 100))
        self.assertEqual([], r.lrange("l", 5, 2))
        self.assertEqual([], r.lrange("l", 10, 20))
        self.assertEqual(10, len(r.lrange("l", -100, 100)))
        self.assertEqual([], r.lrange("nokey", 0, -1))
        self.assertEqual(b"0", r.lindex("l", 0))
        self.assertEqual(b"9", r.lindex("l", -1))
        self.assertEqual(b"3", r.lindex("l", -7))
        self.assertIsNone(r.lindex("l", 10))
        self.assertIsNone(r.lindex("l", -11))
        self.assertIsNone(r.lindex("nokey", 0))

    def test_set_insert_rem_trim(self):
        r = self.r
        r.rpush("l", "a", "b", "c", "b", "a")
        self.assertTrue(r.lset("l", 1, "B"))
        self.assertTrue(r.lset("l", -1, "A"))
        self.assertEqual([b"a", b"B", b"c", b"b", b"A"], r.lrange("l", 0, -1))
        self.assertEqual(6, r.linsert("l", "before", "c", "x"))
        self.assertEqual(7, r.linsert("l", "AFTER", "A", "end"))
        self.assertEqual(-1, r.linsert("l", "after", "nothere", "y"))
        self.assertEqual(0, r.linsert("nokey", "after", "a", "y"))
        self.assertEqual([b"a", b"B", b"x", b"c", b"b", b"A", b"end"],
                         r.lrange("l", 0, -1))
        r.rpush("m", "k", "v", "k", "v", "k", "v", "k")
        self.assertEqual(2, r.lrem("m", 2, "k"))
        self.assertEqual([b"v", b"v", b"k", b"v", b"k"], r.lrange("m", 0, -1))
        self.assertEqual(1, r.lrem("m", -1, "k"))
        self.assertEqual([b"v", b"v", b"k", b"v"], r.lrange("m", 0, -1))
        self.assertEqual(3, r.lrem("m", 0, "v"))
        self.assertEqual(0, r.lrem("m", 0, "zz"))
        self.assertEqual(0, r.lrem("nokey", 0, "v"))
        self.assertEqual(1, r.lrem("m", 1, "k"))
        self.assertEqual(0, r.exists("m"))
        self.assertTrue(r.ltrim("l", 1, -2))
        self.assertEqual([b"B", b"x", b"c", b"b", b"A"], r.lrange("l", 0, -1))
        self.assertTrue(r.ltrim("l", -2, 100))
        self.assertEqual([b"b", b"A"], r.lrange("l", 0, -1))
        self.assertTrue(r.ltrim("nokey", 0, 1))
        self.assertTrue(r.ltrim("l", 5, 1))
        self.assertEqual(0, r.exists("l"))

    def test_lpos(self):
        r = self.r
        r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
        self.assertEqual(2, r.lpos("l", "c"))
        self.assertEqual(6, r.lpos("l", "c", rank=2))
        self.assertEqual(7, r.lpos("l", "c", rank=-1))
        self.assertEqual(6, r.lpos("l", "c", rank=-2))
        self.assertEqual([2, 6], r.lpos("l", "c", count=2))
        self.assertEqual([2, 6, 7], r.lpos("l", "c", count=0))
        self.assertEqual([7, 6, 2], r.lpos("l", "c", rank=-1, count=0))
        self.assertEqual([2], r.lpos("l", "c", count=0, maxlen=6))
        self.assertIsNone(r.lpos("l", "c", maxlen=2))
        self.assertIsNone(r.lpos("l", "zz"))
        self.assertEqual([], r.lpos("l", "zz", count=3))
        self.assertIsNone(r.lpos("nokey", "a"))
        self.assertEqual([], r.lpos("nokey", "a", count=1))

    def test_move_mpop(self):
        r = self.r
        r.rpush("s", "a", "b", "c")
        self.assertEqual(b"a", r.lmove("s", "d", "LEFT", "RIGHT"))
        self.assertEqual(b"c", r.rpoplpush("s", "d"))
        self.assertEqual([b"c", b"a"], r.lrange("d", 0, -1))
        self.assertEqual(b"b", r.lmove("s", "s", "RIGHT", "LEFT"))  # rotate
        self.assertEqual(b"c", r.lmove("d", "d", "LEFT", "RIGHT"))
        self.assertEqual([b"a", b"c"], r.lrange("d", 0, -1))
        self.assertIsNone(r.lmove("nokey", "d", "LEFT", "LEFT"))
        self.assertIsNone(r.rpoplpush("nokey", "d"))
        r.set("str", "x")
        self.assertIsNone(r.rpoplpush("nokey", "str"))  # source first
        self.assertEqual(2, r.llen("d"))
        c = self.raw()
        self.assertEqual([b"d", [b"a", b"c"]],
                         c.call("LMPOP", "3", "x", "y", "d", "LEFT",
                                "COUNT", "5"))
        r.rpush("y", "1", "2", "3")
        self.assertEqual([b"y", [b"3"]],
                         c.call("LMPOP", "2", "x", "y", "RIGHT"))
        self.assertEqual([b"y", [b"1", b"2"]],
                         c.call("LMPOP", "1", "y", "left", "count", "2"))
        self.assertIsNone(c.call("LMPOP", "1", "y", "LEFT"))

    def test_wrongtype(self):
        r = self.r
        r.set("s", "v")
        r.hset("h", "f", "v")
        c = self.raw()
        for args in (("LPUSH", "s", "a"), ("RPUSH", "h", "a"),
                     ("LPUSHX", "s", "a"), ("LPOP", "s"), ("RPOP", "h", "2"),
                     ("LLEN", "s"), ("LRANGE", "s", "0", "1"),
                     ("LINDEX", "s", "0"), ("LSET", "s", "0", "a"),
                     ("LINSERT", "s", "BEFORE", "a", "b"),
                     ("LREM", "s", "0", "a"), ("LTRIM", "s", "0", "1"),
                     ("LPOS", "s", "a"), ("RPOPLPUSH", "s", "d"),
                     ("LMPOP", "1", "s", "LEFT"), ("BLPOP", "s", "1"),
                     ("BLMPOP", "1", "1", "s", "LEFT")):
            self.assertErr(WRONGTYPE, *args, conn=c)
        r.rpush("l", "a")
        self.assertErr(WRONGTYPE, "RPOPLPUSH", "l", "s", conn=c)
        self.assertEqual([b"a"], r.lrange("l", 0, -1))   # nothing moved
        for args in (("GET", "l"), ("HSET", "l", "f", "v"), ("INCR", "l"),
                     ("APPEND", "l", "x"), ("HGET", "l", "f")):
            self.assertErr(WRONGTYPE, *args, conn=c)
        self.assertEqual([None], r.mget("l"))
        self.assertTrue(r.set("l", "now a string"))
        self.assertEqual(b"string", r.type("l"))

    def test_errors(self):
        c = self.raw()
        c.call("RPUSH", "l", "a", "b")
        self.assertErr("ERR no such key", "LSET", "nokey", "0", "a", conn=c)
        self.assertErr("ERR index out of range", "LSET", "l", "2", "a",
                       conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "LINDEX", "l", "x", conn=c)
        self.assertErr("ERR value is not an integer or out of range",
                       "LRANGE", "l", "0", "1.5", conn=c)
        self.assertErr("ERR syntax error", "LINSERT", "l", "NEAR", "a", "b",
                       conn=c)
        self.assertErr("ERR value is out of range, must be positive",
                       "LPOP", "l", "-1", conn=c)
        self.assertErr("ERR wrong number of arguments for 'lpop' command",
                       "LPOP", "l", "1", "2", conn=c)
        self.assertErr("ERR syntax error", "LMOVE", "l", "d", "UP", "LEFT",
                       conn=c)
        self.assertErr("ERR RANK can't be zero: use 1 to start from the "
                       "first match, 2 from the second ... or use negative "
                       "to start from the end of the list",
                       "LPOS", "l", "a", "RANK", "0", conn=c)
        self.assertErr("ERR COUNT can't be negative", "LPOS", "l", "a",
                       "COUNT", "-1", conn=c)
        self.assertErr("ERR MAXLEN can't be negative", "LPOS", "l", "a",
                       "MAXLEN", "-1", conn=c)
        self.assertErr("ERR syntax error", "LPOS", "l", "a", "FOO", "1",
                       conn=c)
        self.assertErr("ERR numkeys should be greater than 0", "LMPOP", "0",
                       "l", "LEFT", conn=c)
        self.assertErr("ERR syntax error", "LMPOP", "2", "l", "LEFT", conn=c)
        self.assertErr("ERR count should be greater than 0", "LMPOP", "1",
                       "l", "LEFT", "COUNT", "0", conn=c)
        self.assertErr("ERR syntax error", "LMPOP", "1", "l", "LEFT",
                       "COUNT", "1", "COUNT", "2", conn=c)
        self.assertErr("ERR timeout is not a float or out of range",
                       "BLPOP", "l", "soon", conn=c)
        self.assertErr("ERR timeout is negative", "BLPOP", "l", "-1", conn=c)
        # below LLONG_MIN milliseconds: negative, not an overflowing cast
        # (the server fuzzer's find)
        for t in ("-inf", "-1e30"):
            self.assertErr("ERR timeout is negative", "BLPOP", "l", t,
                           conn=c)
        self.assertErr("ERR timeout is out of range", "BLPOP", "l", "inf",
                       conn=c)
        self.assertErr("ERR wrong number of arguments for 'lpush' command",
                       "LPUSH", "l", conn=c)
        self.assertEqual(2, c.call("LLEN", "l"))

    def test_key_commands(self):
        r = self.r
        r.rpush("l", "a", "b", "c")
        self.assertEqual(b"list", r.type("l"))
        self.assertEqual([b"l"], r.scan(0, _type="list", count=100)[1])
        self.assertTrue(r.rename("l", "m"))
        self.assertEqual([b"a", b"b", b"c"], r.lrange("m", 0, -1))
        self.assertTrue(r.copy("m", "n"))
        r.rpush("n", "d")
        self.assertEqual(3, r.llen("m"))
        self.assertEqual(4, r.llen("n"))
        self.assertTrue(r.move("n", 1))
        self.assertEqual(4, self.client(1).llen("n"))
        self.assertTrue(r.expire("m", 100))
        self.assertTrue(0 < r.ttl("m") <= 100)
        r.pexpire("m", 1)
        time.sleep(0.01)
        self.assertEqual(0, r.llen("m"))
        self.assertEqual(1, r.rpush("m", "new"))   # an expired list is none
        self.assertEqual(1, r.delete("m"))
        self.client(1).flushdb()

    def test_long_list(self):
        r = self.r
        p = r.pipeline(transaction=False)
        for i in range(0, 20000, 500):
            p.rpush("big", *[str(j) for j in range(i, i + 500)])
        p.execute()
        self.assertEqual(20000, r.llen("big"))
        self.assertEqual(b"12345", r.lindex("big", 12345))
        self.assertEqual(b"19990", r.lindex("big", -10))
        self.assertEqual([str(i).encode() for i in range(100, 200)],
                         r.lrange("big", 100, 199))
        self.assertEqual(1, r.linsert("big", "before", "15000", "x") and 1)
        self.assertEqual(15000, r.lpos("big", "x"))
        self.assertTrue(r.ltrim("big", 10000, 10009))
        self.assertEqual([str(i).encode() for i in range(10000, 10010)],
                         r.lrange("big", 0, -1))

    def test_multi_watch(self):
        r = self.r
        with r.pipeline() as p:
            p.rpush("l", "a", "b")
            p.lpop("l")
            p.lrange("l", 0, -1)
            self.assertEqual([2, b"a", [b"b"]], p.execute())
        other = self.client()
        with r.pipeline() as p:
            p.watch("l")
            other.rpush("l", "c")
            p.multi()
            p.rpush("l", "d")
            self.assertRaises(redis.WatchError, p.execute)
        self.assertEqual([b"b", b"c"], r.lrange("l", 0, -1))

    def test_resp3(self):
        c = self.raw()
        c.call("HELLO", "3")
        c.call("RPUSH", "l", "a")
        self.assertEqual([b"l", b"a"], c.call("BLPOP", "l", "1"))
        self.assertIsNone(c.call("LPOP", "l"))
        self.assertIsNone(c.call("LPOP", "l", "2"))
        self.assertIsNone(c.call("BLPOP", "l", "0.01"))
        self.assertIsNone(c.call("BLMOVE", "l", "m", "LEFT", "LEFT", "0.01"))


class Blocking(Base):
    """Blocking pops woken by other clients.  Each waits for the server
    to report the clients blocked before pushing."""

    def wait_blocked(self, n):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.r.info("clients")["blocked_clients"] == n:
                return
            time.sleep(0.005)
        self.fail("never saw %d blocked clients" % n)

    def blocked_call(self, *args):
        """Run args on a new connection in a thread; the result (or the
        exception) lands in the returned dict when joined."""
        out = {}
        c = self.raw()

        def run():
            try:
                out["r"] = c.call(*args)
            except Exception as e:
                out["e"] = e
        t = threading.Thread(target=run)
        t.start()
        out["t"] = t
        return out

    def join(self, out):
        out["t"].join(60)
        self.assertFalse(out["t"].is_alive(), "still blocked")
        self.assertNotIn("e", out)
        return out["r"]

    def test_woken_by_push(self):
        a = self.blocked_call("BLPOP", "q1", "q2", "0")
        self.wait_blocked(1)
        self.assertEqual(1, self.r.rpush("q2", "job"))
        self.assertEqual([b"q2", b"job"], self.join(a))
        self.wait_blocked(0)
        self.assertEqual(0, self.r.exists("q2"))    # the pop was made

    def test_order_of_blocking(self):
        got = []
        for i in range(3):
            got.append(self.blocked_call("BRPOP", "q", "0"))
            self.wait_blocked(i + 1)
        self.assertEqual(3, self.r.lpush("q", "a", "b", "c") and 3)
        # LPUSH a b c leaves c b a: each BRPOP takes the tail, in turn
        self.assertEqual([[b"q", b"a"], [b"q", b"b"], [b"q", b"c"]],
                         [self.join(g) for g in got])

    def test_woken_by_exec(self):
        a = self.blocked_call("BLPOP", "q", "0")
        self.wait_blocked(1)
        with self.r.pipeline() as p:
            p.rpush("q", "x", "y")
            p.lpop("q")
            p.execute()
        self.assertEqual([b"q", b"y"], self.join(a))

    def test_blmove_chain(self):
        mover = self.blocked_call("BLMOVE", "src", "dst", "LEFT", "RIGHT",
                                  "0")
        self.wait_blocked(1)
        popper = self.blocked_call("BRPOPLPUSH", "dst", "final", "0")
        self.wait_blocked(2)
        self.r.rpush("src", "v")
        self.assertEqual(b"v", self.join(mover))
        self.assertEqual(b"v", self.join(popper))
        self.assertEqual([b"v"], self.r.lrange("final", 0, -1))
        self.assertEqual(0, self.r.exists("src", "dst"))

    def test_blmpop(self):
        a = self.blocked_call("BLMPOP", "0", "2", "a", "b", "RIGHT",
                              "COUNT", "2")
        self.wait_blocked(1)
        self.r.rpush("b", "1", "2", "3")
        self.assertEqual([b"b", [b"3", b"2"]], self.join(a))

    def test_same_key_twice(self):
        """A key named twice is waited on once (unblocking dropped the
        client twice, reading freed memory: found by fuzz_server)."""
        c = self.raw()
        self.assertIsNone(c.call("BLPOP", "q", "q", "0.05"))
        a = self.blocked_call("BLPOP", "q", "r", "q", "0")
        self.wait_blocked(1)
        self.assertEqual(1, self.r.rpush("q", "job"))
        self.assertEqual([b"q", b"job"], self.join(a))
        self.wait_blocked(0)
        self.assertEqual("PONG", c.call("PING"))

    def test_timeout(self):
        c = self.raw()
        self.assertIsNone(c.call("BLPOP", "q", "0.05"))
        self.assertIsNone(c.call("BRPOPLPUSH", "q", "d", "0.05"))
        self.assertIsNone(c.call("BLMPOP", "0.05", "1", "q", "LEFT"))
        self.assertEqual(0, self.r.info("clients")["blocked_clients"])
        # the connection is usable after a timeout
        self.assertEqual("PONG", c.call("PING"))

    def test_pipeline_after_block(self):
        """Requests sent behind a blocking one wait for it."""
        c = self.raw()
        c.command("BLPOP", "q", "0")
        c.command("RPUSH", "done", "1")
        self.wait_blocked(1)
        self.assertEqual(0, self.r.exists("done"))
        self.r.rpush("q", "v")
        self.assertEqual([b"q", b"v"], c.reply())
        self.assertEqual(1, c.reply())
        self.assertEqual(1, self.r.exists("done"))

    def test_not_inside_multi(self):
        with self.r.pipeline() as p:
            p.blpop("q", 0)
            p.brpoplpush("q", "d", 0)
            self.assertEqual([None, None], p.execute())

    def test_disconnect_while_blocked(self):
        c = self.raw()
        c.command("BLPOP", "q", "0")
        self.wait_blocked(1)
        c.close()
        self.wait_blocked(0)
        self.r.rpush("q", "kept")
        self.assertEqual([b"kept"], self.r.lrange("q", 0, -1))

    def test_woken_by_swapdb(self):
        a = self.blocked_call("BLPOP", "q", "0")
        self.wait_blocked(1)
        one = self.client(1)
        one.rpush("q", "from-db1")
        self.assertTrue(self.r.swapdb(0, 1))
        self.assertEqual([b"q", b"from-db1"], self.join(a))
        one.flushdb()

    def test_client_unblock(self):
        c = self.raw()
        cid = c.call("CLIENT", "ID")
        c.command("BLPOP", "q", "0")
        self.wait_blocked(1)
        self.assertEqual(1, self.r.client_unblock(cid))
        self.assertIsNone(c.reply())
        self.assertEqual(0, self.r.client_unblock(cid))
        c.command("BRPOPLPUSH", "q", "d", "0")
        self.wait_blocked(1)
        self.assertEqual(1, self.r.client_unblock(cid, error=True))
        self.assertEqual("UNBLOCKED client unblocked via CLIENT UNBLOCK",
                         c.reply())
        self.assertEqual("PONG", c.call("PING"))
        self.assertErr("ERR CLIENT UNBLOCK reason should be TIMEOUT or "
                       "ERROR", "CLIENT", "UNBLOCK", str(cid), "LATER")

    def test_wrong_type_first(self):
        self.r.set("s", "x")
        self.assertErr(WRONGTYPE, "BLPOP", "q", "s", "1")
        self.assertEqual(0, self.r.info("clients")["blocked_clients"])


if __name__ == "__main__":
    main("server_list.py")
