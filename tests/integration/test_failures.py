"""Backend failures: a command that does not exist, a crash mid-call, a backend
that exits by itself, a backend flooding stderr. The others keep working."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402

MISSING = "/nonexistent/dir/mcp-server-that-does-not-exist"


class MissingCommand(mcptest.MuxTestCase):

    def test_missing_command_reported_and_others_work(self):
        m = self.mux({"ghost": {"command": MISSING, "args": ["--x"]},
                      "a": fixture("a"), "b": fixture("b")})
        t0 = time.monotonic()
        m.initialize()
        self.assertLess(time.monotonic() - t0, 3.0, "a dead backend must not hold initialize")
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("a__echo", names)
        self.assertIn("b__echo", names)
        self.assertFalse(any(n.startswith("ghost__") for n in names), names)
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "x"})), "x")
        self.assertEqual(m.call_tool("b__add", {"a": 1, "b": 2})["structuredContent"], {"sum": 3})
        # Calling into it: an unknown tool, or a tool error that names the server.
        msg = m.call("tools/call", {"name": "ghost__echo", "arguments": {"text": "x"}})
        if "error" in msg:
            self.assertEqual(msg["error"]["code"], -32602)
        else:
            self.assertIs(msg["result"].get("isError"), True)
            self.assertIn("ghost", tool_text(msg["result"]))
        # The error is on stderr, naming the server and what failed.
        err_lines = [l for l in m.stderr.splitlines() if "ghost" in l]
        self.assertTrue(err_lines, m.stderr_tail())
        self.assertTrue(any(MISSING in l or "No such file" in l or "not found" in l.lower()
                            for l in err_lines), err_lines)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

    def test_only_server_missing(self):
        m = self.mux({"ghost": {"command": MISSING}})
        result = m.initialize()
        self.assertIn("protocolVersion", result)
        names = [t["name"] for t in m.result("tools/list")["tools"]]
        self.assertEqual(names, mcptest.GATEWAY_TOOLS, "only the gateway's own tools")
        self.assertEqual(m.call("ping")["result"], {})
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

    def test_command_found_on_path(self):
        # execvp semantics: a bare command name is looked up in PATH.
        d = os.path.dirname(mcptest.FIXTURE)
        m = self.mux({"p": {"command": os.path.basename(mcptest.FIXTURE), "args": ["--name", "p"]}},
                     env={"PATH": d + os.pathsep + os.environ.get("PATH", "")})
        m.initialize()
        self.assertEqual(tool_text(m.call_tool("p__echo", {"text": "path"})), "path")

    def test_disabled_server_not_started(self):
        m = self.mux({"off": fixture("off", disabled=True), "a": fixture("a")})
        m.initialize()
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("a__echo", names)
        self.assertFalse(any(n.startswith("off__") for n in names))
        # Only one fixture process exists.
        self.assertEqual(len(m.leftover_pids()), 1)


class Crash(mcptest.MuxTestCase):

    def test_crash_mid_call(self):
        m = self.mux({"crashy": fixture("crashy"), "steady": fixture("steady")})
        m.initialize()
        crashy_pid = m.stats("crashy")["pid"]
        pending = m.request("tools/call", {"name": "crashy__slow", "arguments": {"ms": 10000}})
        time.sleep(0.1)
        t0 = time.monotonic()
        r = m.call_tool("crashy__crash", timeout=5)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 2.0, "a crash is reported at once, not at the deadline")
        self.assertIs(r.get("isError"), True, r)
        self.assertIn("crashy", tool_text(r), "the error names the server")
        # The other pending call on the crashed backend is failed at once too.
        msg = m.wait_response(pending, 2)
        if "result" in msg:
            self.assertIs(msg["result"].get("isError"), True, msg)
            self.assertIn("crashy", tool_text(msg["result"]))
        else:
            self.assertIn("error", msg)
        # The other backend keeps working.
        self.assertEqual(tool_text(m.call_tool("steady__echo", {"text": "still here"})),
                         "still here")
        self.assertEqual(m.result("prompts/get", {"name": "steady__plain"})["messages"][0]
                         ["content"]["text"], "plain prompt of steady")
        # The crashed child was reaped.
        ok = mcptest.wait_until(lambda: crashy_pid not in [p for p, s in mcptest.children_of(m.pid)
                                                           if s == "Z"], 2.0)
        self.assertTrue(ok, "crashed child left as a zombie")
        # The crash is on stderr.
        self.assertTrue(any("crashy" in l for l in m.stderr.splitlines()
                            if "exit" in l or "crash" in l), m.stderr_tail())
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

    def test_calls_after_crash_are_answered(self):
        m = self.mux({"crashy": fixture("crashy"), "steady": fixture("steady")})
        m.initialize()
        m.call_tool("crashy__crash", timeout=5)
        # Whatever the restart policy, a call to the crashed server gets one answer
        # (a result, or an error) and does not hang.
        t0 = time.monotonic()
        msg = m.call("tools/call", {"name": "crashy__echo", "arguments": {"text": "x"}}, timeout=10)
        self.assertLess(time.monotonic() - t0, 10.0)
        if "result" in msg and msg["result"].get("isError"):
            self.assertIn("crashy", tool_text(msg["result"]))
        m.call_tool("steady__echo", {"text": "x"})

    def test_backend_exits_by_itself(self):
        m = self.mux({"short": fixture("short", "--exit-after-ms", "400"), "b": fixture("b")})
        m.initialize()
        pending = m.request("tools/call", {"name": "short__slow", "arguments": {"ms": 5000}})
        t0 = time.monotonic()
        msg = m.wait_response(pending, 3)
        self.assertLess(time.monotonic() - t0, 2.0)
        if "result" in msg:
            self.assertIs(msg["result"].get("isError"), True)
            self.assertIn("short", tool_text(msg["result"]))
        else:
            self.assertIn("error", msg)
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "b"})), "b")
        # Its items leave the lists (or a list_changed tells the client).
        time.sleep(0.3)
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("b__echo", names)


class Deadline(mcptest.MuxTestCase):

    def test_deadline_answers_and_cancels_backend(self):
        m = self.mux({"lazy": fixture("lazy"), "b": fixture("b")},
                     extra_top={"failsafe": {"timeout": "1s"}})
        m.initialize()
        t0 = time.monotonic()
        msg = m.call("tools/call", {"name": "lazy__slow", "arguments": {"ms": 4000}}, timeout=5)
        elapsed = time.monotonic() - t0
        self.assertGreater(elapsed, 0.8)
        self.assertLess(elapsed, 2.5, "answered at the deadline, not when the tool finished")
        self.assertIs(msg["result"].get("isError"), True, msg)
        self.assertIn("lazy", tool_text(msg["result"]))
        # The backend was told to stop working on it.
        ok = mcptest.wait_until(lambda: len(m.stats("lazy")["cancelled"]) == 1, 2.0, 0.1)
        self.assertTrue(ok, m.stats("lazy"))
        # A late answer (there is none here, the fixture honours the cancel) would be
        # dropped: exactly one response.
        time.sleep(0.3)
        self.assertEqual(m.response_count(msg["id"]), 1)
        self.assertEqual(tool_text(m.call_tool("lazy__echo", {"text": "ok"})), "ok")


class UpstreamWithdrawn(mcptest.MuxTestCase):

    def test_backend_exit_withdraws_its_request_to_the_client(self):
        m = self.mux({"asker": fixture("asker"), "b": fixture("b")})
        m.initialize(capabilities={"roots": {}})
        ask = m.request("tools/call", {"name": "asker__ask_roots", "arguments": {}})
        upstream = m.wait_server_request("roots/list")
        # The backend dies while the client is still thinking.
        m.request("tools/call", {"name": "asker__crash", "arguments": {}})
        cancel = m.wait_notification(
            "notifications/cancelled",
            lambda n: mcptest.id_key(n["params"].get("requestId")) == mcptest.id_key(upstream["id"]),
            timeout=3)[0]
        self.assertEqual(cancel["params"]["requestId"], upstream["id"])
        msg = m.wait_response(ask, 3)
        self.assertIs(msg["result"].get("isError"), True, msg)
        # A late answer from the client is harmless.
        m.respond(upstream["id"], {"roots": []})
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "b"})), "b")


class StderrFlood(mcptest.MuxTestCase):

    def test_backend_stderr_is_drained(self):
        # ~1 MB on stderr at start-up: far more than a pipe buffer. If mcpbraid did not
        # drain it, the child would block before ever reading stdin.
        m = self.mux({"loud": fixture("loud", "--stderr-lines", "30000"), "b": fixture("b")},
                     log_level="info")
        m.initialize(timeout=15)
        self.assertEqual(tool_text(m.call_tool("loud__echo", {"text": "heard"}, timeout=15)),
                         "heard")
        for line in m.lines:
            self.assertNotIn("stderr line", line, "backend stderr must never reach stdout")

    def test_backend_stderr_relayed_at_debug(self):
        m = self.mux({"chatty": fixture("chatty", "--stderr-lines", "3")}, log_level="debug")
        m.initialize()
        m.call_tool("chatty__echo", {"text": "x"})
        ok = mcptest.wait_until(lambda: "fixture chatty stderr line 3" in m.stderr, 2.0)
        self.assertTrue(ok, m.stderr_tail())


if __name__ == "__main__":
    mcptest.main()
