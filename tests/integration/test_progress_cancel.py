"""notifications/progress relayed with the client's own token (no collisions),
notifications/cancelled translated to the backend, no response after a cancel."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class Progress(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b")})
        self.m.initialize()

    def progress_for(self, token):
        return [n["params"] for n in self.m.notifications_of("notifications/progress")
                if n["params"]["progressToken"] == token and
                type(n["params"]["progressToken"]) is type(token)]

    def test_string_token(self):
        r = self.m.call_tool("a__slow", {"ms": 300}, meta={"progressToken": "tok-abc"})
        self.assertEqual(tool_text(r), "slept 300")
        time.sleep(0.1)
        got = self.progress_for("tok-abc")
        self.assertEqual([(p["progress"], p["total"]) for p in got], [(1, 3), (2, 3), (3, 3)])
        self.assertEqual(len(self.m.notifications_of("notifications/progress")), 3)

    def test_integer_token_keeps_its_type(self):
        r = self.m.call_tool("b__slow", {"ms": 200}, meta={"progressToken": 7})
        self.assertEqual(tool_text(r), "slept 200")
        time.sleep(0.1)
        got = self.progress_for(7)
        self.assertEqual([p["progress"] for p in got], [1, 2])
        for n in self.m.notifications_of("notifications/progress"):
            self.assertIs(type(n["params"]["progressToken"]), int)

    def test_zero_token(self):
        self.m.call_tool("a__slow", {"ms": 100}, meta={"progressToken": 0})
        time.sleep(0.1)
        self.assertEqual([p["progress"] for p in self.progress_for(0)], [1])

    def test_concurrent_tokens_on_two_backends_do_not_collide(self):
        # "1" (string) to a, 1 (integer) to b, and distinct tokens on the same backend.
        i1 = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 300},
                                           "_meta": {"progressToken": "1"}})
        i2 = self.m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 500},
                                           "_meta": {"progressToken": 1}})
        i3 = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 400},
                                           "_meta": {"progressToken": "other"}})
        i4 = self.m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 200},
                                           "_meta": {"progressToken": 2}})
        for i in (i1, i2, i3, i4):
            self.assertIn("result", self.m.wait_response(i))
        time.sleep(0.1)
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for("1")],
                         [(1, 3), (2, 3), (3, 3)])
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for(1)],
                         [(i, 5) for i in range(1, 6)])
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for("other")],
                         [(i, 4) for i in range(1, 5)])
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for(2)],
                         [(1, 2), (2, 2)])
        self.assertEqual(len(self.m.notifications_of("notifications/progress")), 3 + 5 + 4 + 2)

    def test_same_token_on_two_backends_at_once(self):
        # A client token is only unique per requester; even if the same value is used
        # for two concurrent calls on two backends, neither stream is lost or mixed up.
        ia = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 300},
                                           "_meta": {"progressToken": "dup"}})
        ib = self.m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 500},
                                           "_meta": {"progressToken": "dup"}})
        self.assertEqual(tool_text(self.m.wait_response(ia)["result"]), "slept 300")
        self.assertEqual(tool_text(self.m.wait_response(ib)["result"]), "slept 500")
        time.sleep(0.1)
        got = self.progress_for("dup")
        self.assertEqual(sorted(p["progress"] for p in got if p["total"] == 3), [1, 2, 3])
        self.assertEqual(sorted(p["progress"] for p in got if p["total"] == 5), [1, 2, 3, 4, 5])
        self.assertEqual(len(got), 8)

    def test_same_token_reused_after_completion(self):
        self.m.call_tool("a__slow", {"ms": 200}, meta={"progressToken": "again"})
        self.m.call_tool("b__slow", {"ms": 200}, meta={"progressToken": "again"})
        time.sleep(0.1)
        self.assertEqual([p["progress"] for p in self.progress_for("again")], [1, 2, 1, 2])

    def test_progress_arrives_before_the_response(self):
        cid = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 300},
                                            "_meta": {"progressToken": "order"}})
        self.m.wait_response(cid)
        with self.m.cond:
            order = [("p" if "method" in msg else "r") for _, msg in self.m.messages
                     if msg.get("method") == "notifications/progress" or
                     msg.get("id") == cid]
        self.assertEqual(order, ["p", "p", "p", "r"])


class Cancel(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b")})
        self.m.initialize()

    def test_cancel_reaches_backend_and_no_response_is_sent(self):
        cid = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 2500}}, id=50)
        time.sleep(0.3)
        self.m.notify("notifications/cancelled", {"requestId": 50, "reason": "user pressed stop"})
        ok = mcptest.wait_until(lambda: len(self.m.stats("a")["cancelled"]) == 1, 2.0, 0.1)
        self.assertTrue(ok, "backend a never saw the cancel: %s" % self.m.stats("a"))
        self.assertEqual(self.m.stats("b")["cancelled"], [])
        # The backend saw it in its own id space: an id it was actually sent.
        backend_id = self.m.stats("a")["cancelled"][0]
        self.assertIn(type(backend_id), (int, str))
        # Wait past the point where the slow call would have finished.
        time.sleep(2.6)
        self.assertFalse(self.m.has_response(cid), "a cancelled request must not be answered: %s"
                         % self.m.responses.get(mcptest.id_key(cid)))
        # The session goes on, and the id can be used again.
        self.assertEqual(tool_text(self.m.call_tool("a__echo", {"text": "after"})), "after")

    def test_cancel_with_string_id_and_progress_stops(self):
        self.m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 3000},
                                      "_meta": {"progressToken": "pt"}}, id="c-1")
        self.m.wait_notification("notifications/progress",
                                 lambda n: n["params"]["progressToken"] == "pt", timeout=3)
        self.m.notify("notifications/cancelled", {"requestId": "c-1"})
        ok = mcptest.wait_until(lambda: len(self.m.stats("b")["cancelled"]) == 1, 2.0, 0.1)
        self.assertTrue(ok, self.m.stats("b"))
        time.sleep(0.3)
        count = len(self.m.notifications_of("notifications/progress"))
        time.sleep(0.7)
        self.assertEqual(len(self.m.notifications_of("notifications/progress")), count,
                         "no progress after the cancel")
        self.assertFalse(self.m.has_response("c-1"))

    def test_cancel_unknown_id_is_ignored(self):
        self.m.notify("notifications/cancelled", {"requestId": 424242})
        self.m.notify("notifications/cancelled", {"requestId": "nope"})
        self.m.notify("notifications/cancelled", {})
        self.assertEqual(tool_text(self.m.call_tool("a__echo", {"text": "fine"})), "fine")
        self.assertEqual(self.m.stats("a")["cancelled"], [])
        self.assertEqual(self.m.stats("b")["cancelled"], [])

    def test_cancel_only_the_named_request(self):
        keep = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 600}}, id=1)
        drop = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 600}}, id=2)
        time.sleep(0.1)
        self.m.notify("notifications/cancelled", {"requestId": 2})
        self.assertEqual(tool_text(self.m.wait_response(keep, 5)["result"]), "slept 600")
        time.sleep(0.3)
        self.assertFalse(self.m.has_response(drop))
        self.assertEqual(len(self.m.stats("a")["cancelled"]), 1)

    def test_cancelled_request_does_not_hold_shutdown(self):
        self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 8000}}, id=9)
        time.sleep(0.2)
        self.m.notify("notifications/cancelled", {"requestId": 9})
        time.sleep(0.2)
        t0 = time.monotonic()
        self.m.close_stdin()
        self.assertEqual(self.m.wait_exit(6), 0)
        self.assertLess(time.monotonic() - t0, 3.0,
                        "a cancelled request is no longer in flight; EOF must not wait for it")
        self.assertFalse(self.m.has_response(9))


if __name__ == "__main__":
    mcptest.main()
