#!/usr/bin/env python3
"""server_pubsub.py -- publish/subscribe on pkv-server through a raw
RESP2/RESP3 client and redis-py: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
PUNSUBSCRIBE replies and counts, PUBLISH's receiver count and the messages
each subscriber gets (pmessage for patterns), PUBSUB CHANNELS, NUMSUB and
NUMPAT, the commands a subscribed RESP2 client may run, PING there, RESP3
pushes beside ordinary replies, PUBLISH inside MULTI, and the cleanup when
a subscriber goes.

    server_pubsub.py PORT            (or PKV_TEST_PORT=PORT)

server-py.sh runs it after server_test.py, whose helpers it shares.
PKV_TEST_TARGET=redis runs the same tests against a real redis-server.
Exit 0 if all pass, 1 if any fails, 77 if redis-py is missing.
"""
import time

from server_test import Base, main
from resp_client import Err, Push


class PubSub(Base):
    def wait_numsub(self, ch, n):
        """Wait until channel ch has n subscribers (a subscription made on
        another connection is in place once its reply came back; this
        only guards against a slow close)."""
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.r.pubsub_numsub(ch)[0][1] == n:
                return
            time.sleep(0.005)
        self.fail("channel %s never had %d subscribers" % (ch, n))

    def test_subscribe_publish(self):
        s = self.raw()
        self.assertEqual([b"subscribe", b"a", 1], s.call("SUBSCRIBE", "a"))
        s.command("SUBSCRIBE", "b", "a")
        self.assertEqual([b"subscribe", b"b", 2], s.reply())
        self.assertEqual([b"subscribe", b"a", 2], s.reply())
        self.assertEqual(1, self.r.publish("a", "hello"))
        self.assertEqual(0, self.r.publish("nobody", "x"))
        self.assertEqual([b"message", b"a", b"hello"], s.reply())
        self.assertEqual(1, self.r.publish("b", b"\x00bin"))
        self.assertEqual([b"message", b"b", b"\x00bin"], s.reply())
        self.assertEqual([b"unsubscribe", b"a", 1],
                         s.call("UNSUBSCRIBE", "a"))
        self.assertEqual(0, self.r.publish("a", "gone"))
        self.assertEqual([b"unsubscribe", b"b", 0], s.call("UNSUBSCRIBE"))
        self.assertEqual([b"unsubscribe", None, 0], s.call("UNSUBSCRIBE"))
        self.assertEqual(b"PONG", s.call("PING").encode())  # not subscribed

    def test_patterns(self):
        s = self.raw()
        self.assertEqual([b"psubscribe", b"news.*", 1],
                         s.call("PSUBSCRIBE", "news.*"))
        self.assertEqual([b"subscribe", b"news.art", 2],
                         s.call("SUBSCRIBE", "news.art"))
        self.assertEqual(2, self.r.publish("news.art", "m"))
        got = [s.reply(), s.reply()]
        self.assertIn([b"message", b"news.art", b"m"], got)
        self.assertIn([b"pmessage", b"news.*", b"news.art", b"m"], got)
        self.assertEqual(1, self.r.publish("news.it", "n"))
        self.assertEqual([b"pmessage", b"news.*", b"news.it", b"n"],
                         s.reply())
        self.assertEqual(1, self.r.pubsub_numpat())
        self.assertEqual([b"punsubscribe", b"news.*", 1],
                         s.call("PUNSUBSCRIBE", "news.*"))
        self.assertEqual([b"punsubscribe", None, 1], s.call("PUNSUBSCRIBE"))
        self.assertEqual(0, self.r.pubsub_numpat())

    def test_introspection(self):
        a, b = self.raw(), self.raw()
        a.call("SUBSCRIBE", "x1", "y1")
        a.reply()
        b.call("SUBSCRIBE", "x1")
        self.assertEqual({b"x1", b"y1"}, set(self.r.pubsub_channels()))
        self.assertEqual([b"x1"], self.r.pubsub_channels("x*"))
        self.assertEqual([(b"x1", 2), (b"y1", 1), (b"z", 0)],
                         self.r.pubsub_numsub("x1", "y1", "z"))
        info = self.r.info("stats")
        self.assertEqual(2, info["pubsub_channels"])
        self.assertEqual(0, info["pubsub_patterns"])
        b.close()
        self.wait_numsub("x1", 1)
        self.assertEqual(1, self.r.publish("x1", "m"))

    def test_subscribed_context(self):
        s = self.raw()
        s.call("SUBSCRIBE", "c")
        got = s.call("GET", "k")
        self.assertIsInstance(got, Err)
        self.assertEqual("ERR Can't execute 'get': only (P|S)SUBSCRIBE / "
                         "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                         "allowed in this context", got)
        self.assertEqual([b"pong", b""], s.call("PING"))
        self.assertEqual([b"pong", b"hi"], s.call("PING", "hi"))
        s.call("UNSUBSCRIBE")
        self.assertIsNone(s.call("GET", "k"))

    def test_resp3(self):
        s = self.raw()
        s.call("HELLO", "3")
        got = s.call("SUBSCRIBE", "c")
        self.assertIsInstance(got, Push)
        self.assertEqual([b"subscribe", b"c", 1], got)
        self.assertEqual("OK", s.call("SET", "k", "v"))   # still allowed
        self.assertEqual(1, self.r.publish("c", "m"))
        got = s.reply()
        self.assertIsInstance(got, Push)
        self.assertEqual([b"message", b"c", b"m"], got)
        self.assertEqual(b"v", s.call("GET", "k"))

    def test_publish_in_multi(self):
        s = self.raw()
        s.call("SUBSCRIBE", "c")
        with self.r.pipeline() as p:
            p.set("k", "1")
            p.publish("c", "after-set")
            self.assertEqual([True, 1], p.execute())
        self.assertEqual([b"message", b"c", b"after-set"], s.reply())

    def test_redis_py(self):
        p = self.r.pubsub()
        p.subscribe("ch")
        self.assertEqual("subscribe", p.get_message(timeout=5)["type"])
        self.assertEqual(1, self.r.publish("ch", "data"))
        m = p.get_message(timeout=5)
        self.assertEqual(("message", b"ch", b"data"),
                         (m["type"], m["channel"], m["data"]))
        p.close()


if __name__ == "__main__":
    main("server_pubsub.py")
