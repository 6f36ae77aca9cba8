"""logging/setLevel fanned out, notifications/message relayed, list_changed
invalidates the cached lists and is forwarded once."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class Logging(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b"),
                           "quiet": fixture("quiet", "--no-logging")})
        self.m.initialize()

    def test_set_level_fanned_out(self):
        self.assertEqual(self.m.result("logging/setLevel", {"level": "warning"}), {})
        self.assertEqual(self.m.stats("a")["logLevel"], "warning")
        self.assertEqual(self.m.stats("b")["logLevel"], "warning")
        # The backend without the logging capability is not asked.
        self.assertIsNone(self.m.stats("quiet")["logLevel"])
        # Each fixture answers setLevel with a notifications/message: both are relayed.
        msgs = self.m.wait_notification(
            "notifications/message",
            lambda n: n["params"].get("data") == "level set to warning", count=2, timeout=5)
        for n in msgs:
            self.assertEqual(n["params"]["level"], "info")
        time.sleep(0.2)
        self.assertEqual(len([n for n in self.m.notifications_of("notifications/message")
                              if n["params"].get("data") == "level set to warning"]), 2)

    def test_set_level_again(self):
        self.m.result("logging/setLevel", {"level": "debug"})
        self.m.result("logging/setLevel", {"level": "error"})
        self.assertEqual(self.m.stats("a")["logLevel"], "error")
        self.assertEqual(self.m.stats("b")["logLevel"], "error")

    def test_set_level_invalid(self):
        msg = self.m.call("logging/setLevel", {"level": "loud"})
        self.assertIn("error", msg)
        self.assertIn(msg["error"]["code"], (-32602, -32603))
        self.assertIsNone(self.m.stats("a")["logLevel"])

    def test_message_notification_relayed(self):
        r = self.m.call_tool("b__log", {"level": "error", "message": "disk on fire"})
        self.assertEqual(tool_text(r), "logged")
        n = self.m.wait_notification("notifications/message",
                                     lambda n: n["params"].get("data") == "disk on fire")[0]
        self.assertEqual(n["params"]["level"], "error")
        self.assertEqual(n["params"]["logger"], "fixture", "an existing logger is kept")
        self.assertNotIn("id", n)


class ListChanged(mcptest.MuxTestCase):

    def test_tools_list_changed_invalidates_cache_and_is_forwarded_once(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize()
        before = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertNotIn("a__dynamic", before)
        self.assertEqual(tool_text(m.call_tool("a__add_tool")), "added")
        m.wait_notification("notifications/tools/list_changed", timeout=5)
        time.sleep(0.5)
        self.assertEqual(len(m.notifications_of("notifications/tools/list_changed")), 1,
                         "forwarded exactly once")
        after = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertEqual(after, before | {"a__dynamic"})
        self.assertEqual(tool_text(m.call_tool("a__dynamic")), "dynamic")
        # Nothing else changed lists.
        self.assertEqual(m.notifications_of("notifications/prompts/list_changed"), [])

    def test_list_changed_from_two_backends(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize()
        m.result("tools/list")
        ia = m.request("tools/call", {"name": "a__add_tool", "arguments": {}})
        ib = m.request("tools/call", {"name": "b__add_tool", "arguments": {}})
        m.wait_response(ia)
        m.wait_response(ib)
        m.wait_notification("notifications/tools/list_changed", timeout=5)
        time.sleep(0.5)
        n = len(m.notifications_of("notifications/tools/list_changed"))
        self.assertGreaterEqual(n, 1)
        self.assertLessEqual(n, 2, "at most one per backend change")
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("a__dynamic", names)
        self.assertIn("b__dynamic", names)
        self.assertEqual(tool_text(m.call_tool("b__dynamic")), "dynamic")

    def test_dynamic_tool_callable_without_relisting(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        m.result("tools/list")
        m.call_tool("a__add_tool")
        m.wait_notification("notifications/tools/list_changed", timeout=5)
        # A client may call a tool it was told about without listing again first.
        self.assertEqual(tool_text(m.call_tool("a__dynamic")), "dynamic")


if __name__ == "__main__":
    mcptest.main()
