"""initialize / notifications/initialized, version negotiation, merged capabilities,
combined instructions, client capabilities forwarded to the backends, ping."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import LATEST_VERSION, fixture  # noqa: E402


class Handshake(mcptest.MuxTestCase):

    def test_version_negotiation_echoes_supported_versions(self):
        for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]:
            with self.subTest(version=version):
                m = self.mux({"a": fixture("a")})
                result = m.initialize(version=version)
                self.assertEqual(result["protocolVersion"], version)
                # The backend is asked for the version negotiated with the client.
                self.assertEqual(m.stats("a")["protocolVersion"], version)
                m.close_stdin()
                self.assertEqual(m.wait_exit(10), 0)

    def test_unknown_version_gets_latest(self):
        for version in ["1999-01-01", "2026-07-28", "not-a-version"]:
            with self.subTest(version=version):
                m = self.mux({"a": fixture("a")})
                result = m.initialize(version=version)
                self.assertEqual(result["protocolVersion"], LATEST_VERSION)
                # The session works with the negotiated version.
                self.assertEqual(mcptest.tool_text(m.call_tool("a__echo", {"text": "hi"})), "hi")
                m.close_stdin()
                self.assertEqual(m.wait_exit(10), 0)

    def test_initialize_result_shape_and_merged_capabilities(self):
        m = self.mux({
            # a: tools only (no prompts, resources, logging)
            "a": fixture("a", "--no-prompts", "--no-resources", "--no-logging",
                         "--instructions", "Use a for arithmetic."),
            # b: everything
            "b": fixture("b", "--instructions", "Use b for\nmulti-line things."),
        })
        result = m.initialize()
        self.assertEqual(result["protocolVersion"], LATEST_VERSION)
        info = result["serverInfo"]
        self.assertIsInstance(info.get("name"), str)
        self.assertTrue(info["name"])
        self.assertIsInstance(info.get("version"), str)
        self.assertNotIn(info["name"], ("a", "b"), "serverInfo must be the gateway's, not a backend's")
        caps = result["capabilities"]
        self.assertIn("tools", caps)
        self.assertTrue(caps["tools"].get("listChanged"))
        self.assertIn("prompts", caps)
        self.assertTrue(caps["prompts"].get("listChanged"))
        self.assertIn("resources", caps)
        self.assertTrue(caps["resources"].get("subscribe"), caps)
        self.assertTrue(caps["resources"].get("listChanged"), caps)
        self.assertIn("logging", caps)
        self.assertIn("completions", caps)
        # No task support is implemented, so it must not be advertised.
        self.assertNotIn("tasks", caps)

        instructions = result.get("instructions")
        self.assertIsInstance(instructions, str)
        self.assertIn("## a", instructions)
        self.assertIn("## b", instructions)
        self.assertIn("Use a for arithmetic.", instructions)
        self.assertIn("Use b for\nmulti-line things.", instructions)
        # Each backend's text comes after its own header.
        ia, ib = instructions.index("## a"), instructions.index("## b")
        ta, tb = instructions.index("Use a for"), instructions.index("Use b for")
        if ia < ib:
            self.assertTrue(ia < ta < ib < tb, instructions)
        else:
            self.assertTrue(ib < tb < ia < ta, instructions)

    def test_capabilities_absent_when_no_backend_has_them(self):
        m = self.mux({"a": fixture("a", "--no-prompts", "--no-resources", "--no-logging")})
        result = m.initialize()
        caps = result["capabilities"]
        self.assertIn("tools", caps)
        self.assertNotIn("prompts", caps)
        self.assertNotIn("resources", caps)
        self.assertNotIn("logging", caps)
        self.assertNotIn("instructions", result, "no backend gave instructions")

    def test_client_capabilities_reach_backends(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        client_caps = {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}}
        m.initialize(version="2025-06-18", capabilities=client_caps,
                     client_info={"name": "itest-client", "version": "9.9"})
        for server in ("a", "b"):
            stats = m.stats(server)
            caps = stats["clientCapabilities"]
            self.assertIsInstance(caps, dict)
            self.assertEqual(caps.get("roots"), {"listChanged": True}, stats)
            self.assertEqual(caps.get("sampling"), {}, stats)
            self.assertEqual(caps.get("elicitation"), {}, stats)
            self.assertIsInstance(stats["clientInfo"], dict)
            self.assertIsInstance(stats["clientInfo"].get("name"), str)

    def test_partial_client_capabilities(self):
        m = self.mux({"a": fixture("a")})
        m.initialize(capabilities={"roots": {}})
        caps = m.stats("a")["clientCapabilities"]
        self.assertIn("roots", caps)
        self.assertNotIn("sampling", caps)
        self.assertNotIn("elicitation", caps)

    def test_initialized_notification_reaches_backends(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize(initialized=False)
        # Before the client's initialized, the backends have not received theirs.
        self.assertFalse(m.stats("a")["initialized"])
        m.notify("notifications/initialized")
        for server in ("a", "b"):
            ok = mcptest.wait_until(lambda: m.stats(server)["initialized"], 3.0, interval=0.1)
            self.assertTrue(ok, "backend %s never got notifications/initialized" % server)
        # No response may be sent for a notification.
        time.sleep(0.2)
        self.assertEqual([l for l in m.lines if '"id":null' in l.replace(" ", "")], [])

    def test_ping_answered_by_gateway(self):
        # Even with a backend that never answers anything, ping is answered promptly.
        m = self.mux({"mute": fixture("mute", "--no-init-response")},
                     extra_top={"initialize_timeout": "5s"})
        t0 = time.monotonic()
        msg = m.call("ping", id=0)
        self.assertEqual(msg, {"jsonrpc": "2.0", "id": 0, "result": {}})
        self.assertLess(time.monotonic() - t0, 1.0)
        # String id, type preserved.
        msg = m.call("ping", id="p-1")
        self.assertEqual(msg["id"], "p-1")
        self.assertEqual(msg["result"], {})

    def test_ping_after_initialize(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        msg = m.call("ping", {}, id=77)
        self.assertEqual(msg["result"], {})
        self.assertEqual(msg["id"], 77)

    def test_initialize_answered_within_bounded_wait_when_backend_is_silent(self):
        m = self.mux({"a": fixture("a"), "mute": fixture("mute", "--no-init-response")},
                     extra_top={"initialize_timeout": "1s"})
        t0 = time.monotonic()
        result = m.initialize()
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.0, "initialize must be answered within initialize_timeout")
        self.assertEqual(result["protocolVersion"], LATEST_VERSION)
        tools = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("a__echo", tools)
        self.assertFalse(any(n.startswith("mute__") for n in tools), tools)
        self.assertEqual(mcptest.tool_text(m.call_tool("a__add", {"a": 2, "b": 3})), "5")

    def test_late_backend_joins_with_list_changed(self):
        m = self.mux({"a": fixture("a"), "late": fixture("late", "--start-delay-ms", "1500")},
                     extra_top={"initialize_timeout": "300ms"})
        t0 = time.monotonic()
        m.initialize()
        self.assertLess(time.monotonic() - t0, 1.3)
        first = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("a__echo", first)
        if "late__echo" not in first:
            m.wait_notification("notifications/tools/list_changed", timeout=5.0)
            later = {t["name"] for t in m.result("tools/list")["tools"]}
            self.assertIn("late__echo", later)
        self.assertEqual(mcptest.tool_text(m.call_tool("late__echo", {"text": "x"})), "x")


if __name__ == "__main__":
    mcptest.main()
