"""Requests sent before any initialize (a shell pipe), stdin as a pipe, a regular
file and /dev/null."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, jsonl, req  # noqa: E402


class PipeMode(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.temp_config(mcptest.config_doc({"a": fixture("a"), "b": fixture("b")}))

    def check_run(self, code, out, err, marker):
        self.assertEqual(code, 0, "exit code; stderr:\n" + err[-3000:])
        messages = mcptest.parse_stdout(out)  # raises on anything that is not JSON-RPC
        left = mcptest.wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0)
        self.assertTrue(left, "fixture processes left running: %s" % mcptest.pids_with_marker(marker))
        return {mcptest.id_key(m["id"]): m for m in messages if "id" in m and "method" not in m}, messages

    def script(self):
        return jsonl(
            req(1, "tools/list"),
            req(2, "tools/call", {"name": "a__echo", "arguments": {"text": "piped"}}),
            req("three", "tools/call", {"name": "b__add", "arguments": {"a": 40, "b": 2}}),
            req(4, "tools/call", {"name": "a__stats", "arguments": {}}),
            req(5, "prompts/get", {"name": "b__plain"}),
            req(6, "resources/read", {"uri": "fixture://a/readme"}),
            req(0, "ping"),
            req(7, "tools/call", {"name": "b__slow", "arguments": {"ms": 300}}),
        )

    def check_script_answers(self, responses, messages):
        self.assertEqual(len([m for m in messages if "id" in m and "method" not in m]), 8,
                         "every request gets exactly one answer: %s" % messages)
        tools = {t["name"] for t in responses[mcptest.id_key(1)]["result"]["tools"]}
        for name in mcptest.FIXTURE_TOOLS:
            self.assertIn("a__" + name, tools)
            self.assertIn("b__" + name, tools)
        self.assertEqual(mcptest.tool_text(responses[mcptest.id_key(2)]["result"]), "piped")
        three = responses[mcptest.id_key("three")]
        self.assertEqual(three["id"], "three")
        self.assertEqual(three["result"]["structuredContent"], {"sum": 42})
        stats = responses[mcptest.id_key(4)]["result"]["structuredContent"]
        # Without an initialize from the client, backends were initialized with no
        # client capabilities.
        self.assertEqual(stats["clientCapabilities"], {})
        prompt = responses[mcptest.id_key(5)]["result"]
        self.assertEqual(prompt["messages"][0]["content"]["text"], "plain prompt of b")
        read = responses[mcptest.id_key(6)]["result"]
        self.assertEqual(read["contents"][0]["text"], "readme of a")
        self.assertEqual(responses[mcptest.id_key(0)]["result"], {})
        self.assertEqual(mcptest.tool_text(responses[mcptest.id_key(7)]["result"]), "slept 300")

    def test_pipe_without_initialize(self):
        code, out, err, elapsed, marker = mcptest.run_oneshot(self.cfg, stdin_data=self.script())
        responses, messages = self.check_run(code, out, err, marker)
        self.check_script_answers(responses, messages)
        self.assertLess(elapsed, 10.0)

    def test_stdin_is_a_regular_file(self):
        fd, path = tempfile.mkstemp(prefix="mcpbraid-itest-", suffix=".jsonl")
        self._temp_paths.append(path)
        with os.fdopen(fd, "wb") as f:
            f.write(self.script())
        code, out, err, elapsed, marker = mcptest.run_oneshot(self.cfg, stdin_file=path)
        responses, messages = self.check_run(code, out, err, marker)
        self.check_script_answers(responses, messages)

    def test_shell_pipe_with_printf(self):
        if not shutil.which("sh"):
            self.skipTest("no sh")
        line = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"b__echo","arguments":{"text":"sh"}}}'
        marker = "pipe-%d-%d" % (os.getpid(), time.monotonic_ns())
        env = dict(os.environ, **{mcptest.MARKER_VAR: marker})
        proc = subprocess.run(
            ["sh", "-c", "printf '%s\\n' \"$LINE\" | \"$MUX\" -c \"$CFG\""],
            env=dict(env, LINE=line, MUX=mcptest.MCPBRAID, CFG=self.cfg),
            capture_output=True, timeout=20)
        responses, _ = self.check_run(proc.returncode, proc.stdout, proc.stderr.decode(), marker)
        self.assertEqual(mcptest.tool_text(responses[mcptest.id_key(1)]["result"]), "sh")

    def test_stdin_dev_null_exits_promptly(self):
        code, out, err, elapsed, marker = mcptest.run_oneshot(self.cfg, stdin_file=os.devnull)
        self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(out, b"", "nothing asked, nothing answered")
        self.assertLess(elapsed, 3.0, "stdin /dev/null must end the session promptly")
        self.assertTrue(mcptest.wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0))

    def test_empty_pipe_exits_promptly(self):
        code, out, err, elapsed, marker = mcptest.run_oneshot(self.cfg, stdin_data=b"")
        self.assertEqual(code, 0, err[-2000:])
        self.assertEqual(out, b"")
        self.assertLess(elapsed, 3.0)

    def test_initialize_then_requests_in_one_pipe(self):
        script = jsonl(
            req(1, "initialize", {"protocolVersion": "2025-06-18",
                                  "capabilities": {"roots": {}},
                                  "clientInfo": {"name": "pipe", "version": "1"}}),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            req(2, "tools/call", {"name": "a__stats", "arguments": {}}),
        )
        code, out, err, _, marker = mcptest.run_oneshot(self.cfg, stdin_data=script)
        responses, _ = self.check_run(code, out, err, marker)
        self.assertEqual(responses[mcptest.id_key(1)]["result"]["protocolVersion"], "2025-06-18")
        stats = responses[mcptest.id_key(2)]["result"]["structuredContent"]
        self.assertEqual(stats["clientCapabilities"], {"roots": {}})
        self.assertEqual(stats["protocolVersion"], "2025-06-18")

    def test_interactive_requests_before_initialize(self):
        m = self.mux({"a": fixture("a")})
        self.assertEqual(mcptest.tool_text(m.call_tool("a__echo", {"text": "early"})), "early")
        self.assertEqual(m.stats("a")["clientCapabilities"], {})
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)


if __name__ == "__main__":
    mcptest.main()
