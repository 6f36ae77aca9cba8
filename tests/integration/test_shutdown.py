"""Shutdown: stdin EOF drains in-flight requests then exits 0; a child that
ignores SIGTERM is killed; SIGTERM/SIGINT to mcpbraid exit promptly; no process
is left behind."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class Shutdown(mcptest.MuxTestCase):

    def pids(self, m, *servers):
        return [m.stats(s)["pid"] for s in servers]

    def test_eof_answers_in_flight_call_then_exits_zero(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize()
        pids = self.pids(m, "a", "b")
        slow = m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 500}})
        slow_b = m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 300},
                                          "_meta": {"progressToken": "eof"}})
        time.sleep(0.05)
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        elapsed = time.monotonic() - t0
        self.assertEqual(tool_text(m.wait_response(slow, 1)["result"]), "slept 500")
        self.assertEqual(tool_text(m.wait_response(slow_b, 1)["result"]), "slept 300")
        self.assertLess(elapsed, 4.0, "drain + stop took %.2fs" % elapsed)
        self.assertGreaterEqual(elapsed, 0.3, "it did wait for the in-flight call")
        for pid in pids:
            self.assertFalse(mcptest.pid_running(pid), "fixture %d still running" % pid)
        m.assert_no_leftovers()

    def test_eof_right_after_requests_in_flight_before_initialize_finished(self):
        m = self.mux({"a": fixture("a", "--start-delay-ms", "300"), "b": fixture("b")})
        m.send_raw(mcptest.jsonl(
            mcptest.req(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                          "clientInfo": {"name": "x", "version": "1"}}),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            mcptest.req(2, "tools/call", {"name": "a__echo", "arguments": {"text": "late"}}),
            mcptest.req(3, "tools/list")))
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertEqual(m.wait_response(1, 1)["result"]["protocolVersion"], "2025-06-18")
        self.assertEqual(tool_text(m.wait_response(2, 1)["result"]), "late")
        self.assertIn("a__echo", {t["name"] for t in m.wait_response(3, 1)["result"]["tools"]})
        m.assert_no_leftovers()

    def test_eof_waits_at_most_until_the_deadline(self):
        m = self.mux({"a": fixture("a")}, extra_top={"failsafe": {"timeout": "1s"}})
        m.initialize()
        slow = m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 8000}})
        time.sleep(0.05)
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 4.0, "EOF drain is bounded by the request deadline")
        msg = m.wait_response(slow, 0.5)
        # Answered, and not as a success.
        if "result" in msg:
            self.assertIs(msg["result"].get("isError"), True, msg)
            self.assertIn("a", tool_text(msg["result"]))
        else:
            self.assertIn("error", msg)
        m.assert_no_leftovers()

    def test_eof_while_backend_waits_for_the_client(self):
        # The client goes away while a backend waits for its sampling answer: the
        # backend is told no answer will come, the tool call is still answered.
        m = self.mux({"a": fixture("a")})
        m.initialize(capabilities={"sampling": {}})
        call = m.request("tools/call", {"name": "a__ask_sampling", "arguments": {"prompt": "p"}})
        m.wait_server_request("sampling/createMessage")
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        self.assertLess(time.monotonic() - t0, 4.0)
        msg = m.wait_response(call, 0.5)
        self.assertIs(msg["result"].get("isError"), True, msg)
        self.assertTrue(tool_text(msg["result"]).startswith("sampling error:"), msg)
        m.assert_no_leftovers()

    def test_child_ignoring_sigterm_is_killed(self):
        m = self.mux({"stubborn": fixture("stubborn", "--ignore-sigterm"), "b": fixture("b")})
        m.initialize()
        pids = self.pids(m, "stubborn", "b")
        t0 = time.monotonic()
        m.close_stdin()
        code = m.wait_exit(8)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 6.0, "stop ladder took %.2fs" % elapsed)
        for pid in pids:
            self.assertFalse(mcptest.pid_running(pid), "fixture %d still running" % pid)
        m.assert_no_leftovers()
        self.assertIn("stubborn", m.stderr)

    def test_sigterm_during_slow_call(self):
        self.check_signal(signal.SIGTERM)

    def test_sigint_during_slow_call(self):
        self.check_signal(signal.SIGINT)

    def check_signal(self, signo):
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize()
        pids = self.pids(m, "a", "b")
        slow = m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 10000}})
        time.sleep(0.2)
        t0 = time.monotonic()
        m.signal(signo)
        code = m.wait_exit(8)
        elapsed = time.monotonic() - t0
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 3.0, "exit after signal took %.2fs" % elapsed)
        for pid in pids:
            self.assertFalse(mcptest.pid_running(pid), "fixture %d still running" % pid)
        m.assert_no_leftovers()
        # Every client request gets exactly one response (DESIGN.md): the open call is
        # answered, as a failure, before mcpbraid exits.
        msg = m.wait_response(slow, 0.5)
        self.assertTrue("error" in msg or msg["result"].get("isError") is True, msg)
        self.assertEqual(m.response_count(slow), 1)

    def test_sigterm_with_stubborn_child(self):
        m = self.mux({"stubborn": fixture("stubborn", "--ignore-sigterm")})
        m.initialize()
        pid = m.stats("stubborn")["pid"]
        t0 = time.monotonic()
        m.signal(signal.SIGTERM)
        self.assertEqual(m.wait_exit(8), 0)
        self.assertLess(time.monotonic() - t0, 6.0)
        self.assertFalse(mcptest.pid_running(pid))
        m.assert_no_leftovers()

    def test_children_run_in_their_own_process_group(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        pid = m.stats("a")["pid"]
        self.assertNotEqual(os.getpgid(pid), os.getpgid(m.pid),
                            "a child must not share mcpbraid's process group")
        self.assertEqual(mcptest.proc_ppid(pid), m.pid)

    def test_no_zombie_after_child_exits(self):
        m = self.mux({"short": fixture("short", "--exit-after-ms", "300"), "b": fixture("b")})
        m.initialize()
        time.sleep(0.8)
        # A child may be caught in the instant between its exit and the reap (or be a
        # restarted one that just exited): only a zombie that stays one is a leak.
        first = set(m.zombie_children())
        time.sleep(0.5)
        lasting = first & set(m.zombie_children())
        self.assertEqual(lasting, set(), "mcpbraid must reap its exited children")
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "ok"})), "ok")

    def test_eof_does_not_wait_for_request_timeout_of_dead_backend(self):
        m = self.mux({"a": fixture("a"), "mute": fixture("mute", "--no-init-response")},
                     extra_top={"initialize_timeout": "500ms"})
        m.initialize()
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        self.assertLess(time.monotonic() - t0, 4.0)
        m.assert_no_leftovers()


if __name__ == "__main__":
    mcptest.main()
