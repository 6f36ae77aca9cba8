"""`mcpbraid tools` and `mcpbraid call` (issue 16): the config's servers started
for one command and stopped after it; tools as the client sees them (lines,
--json, a SERVER filter, a server that fails), one tools/call from the shell
(text, --json with structuredContent, arguments from stdin, progress on stderr,
--quiet, isError, JSON-RPC errors, bad arguments, --timeout, SIGINT), their exit
codes, and nothing left running after either."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture  # noqa: E402


def environment(marker):
    full = dict(os.environ)
    full.pop("MCPBRAID_LOG", None)
    full[mcptest.MARKER_VAR] = marker
    return full


def new_marker():
    return "sub-%d-%d" % (os.getpid(), time.monotonic_ns())


def assert_nothing_left(marker):
    if not mcptest.wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0):
        raise AssertionError("processes left running after mcpbraid exited: %s"
                             % ["%d: %s" % (p, mcptest.proc_cmdline(p))
                                for p in mcptest.pids_with_marker(marker)])


def run(args, stdin=b"", timeout=30, stderr=subprocess.PIPE):
    """Runs mcpbraid to completion: (process, elapsed seconds); fails if a process it
    started is left running."""
    marker = new_marker()
    t0 = time.monotonic()
    p = subprocess.run([mcptest.MCPBRAID] + args, input=stdin, stdout=subprocess.PIPE,
                       stderr=stderr, env=environment(marker), timeout=timeout)
    elapsed = time.monotonic() - t0
    assert_nothing_left(marker)
    return p, elapsed


def err(p):
    return p.stderr.decode(errors="replace")


class Subcommands(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.temp_config(mcptest.config_doc({"a": fixture("a"), "b": fixture("b")}))

    def tools(self, *args, **kwargs):
        return run(["tools", "-c", self.cfg, *args], **kwargs)[0]

    def call(self, *args, **kwargs):
        return run(["call", "-c", self.cfg, *args], **kwargs)[0]

    # ---------------------------------------------------------------- tools

    def test_tools_prints_one_line_per_tool_as_the_client_sees_it(self):
        p = self.tools()
        self.assertEqual(p.returncode, 0, err(p))
        lines = p.stdout.decode().splitlines()
        names = [line.split()[0] for line in lines]
        expected = (["a__" + t for t in mcptest.FIXTURE_TOOLS]
                    + ["b__" + t for t in mcptest.FIXTURE_TOOLS] + mcptest.GATEWAY_TOOLS)
        self.assertEqual(sorted(names), sorted(expected))
        echo = next(line for line in lines if line.split()[0] == "a__echo")
        self.assertRegex(echo, r"^a__echo +Echoes the given text$")
        # Names in one column.
        self.assertEqual(len({line.index(line.split()[1]) for line in lines}), 1)
        # A terminal command: no info trace lines by default.
        self.assertNotIn("gateway.start", err(p))

    def test_tools_json_is_the_whole_list(self):
        p = self.tools("--json")
        self.assertEqual(p.returncode, 0, err(p))
        doc = json.loads(p.stdout)
        tools = {t["name"]: t for t in doc["tools"]}
        self.assertEqual(len(tools), 2 * len(mcptest.FIXTURE_TOOLS) + len(mcptest.GATEWAY_TOOLS))
        self.assertEqual(tools["b__echo"]["inputSchema"]["required"], ["text"])
        self.assertIn("outputSchema", tools["b__echo"])
        self.assertEqual(tools["b__echo"]["annotations"], {"readOnlyHint": True})

    def test_tools_of_named_servers_only(self):
        p = self.tools("--json", "b")
        self.assertEqual(p.returncode, 0, err(p))
        names = [t["name"] for t in json.loads(p.stdout)["tools"]]
        self.assertEqual(sorted(names), sorted("b__" + t for t in mcptest.FIXTURE_TOOLS))

    def test_a_server_that_lists_in_pages_shows_every_tool(self):
        cfg = self.temp_config(mcptest.config_doc({"p": fixture("p", "--page-size", "3",
                                                                "--extra-tools", "20")}))
        p, _ = run(["tools", "-c", cfg, "p"])
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(len(p.stdout.decode().splitlines()), len(mcptest.FIXTURE_TOOLS) + 20)

    def test_tools_behind_search_are_not_listed_and_the_reason_is_said(self):
        servers = {"a": fixture("a"), "s": dict(fixture("s"), expose="search", pinned=["echo"])}
        cfg = self.temp_config(mcptest.config_doc(servers))
        p, _ = run(["tools", "-c", cfg, "s"])
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout.decode().split(), ["s__echo", "Echoes", "the", "given", "text"])
        n = len(mcptest.FIXTURE_TOOLS)
        self.assertIn("server s: %d of its %d tools are not listed (expose: search; "
                      "gateway_search_tools finds them)" % (n - 1, n), err(p))

    def test_a_disabled_server_named_is_said_to_be_disabled(self):
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a"),
                                                   "off": fixture("off", disabled=True)}))
        p, _ = run(["tools", "-c", cfg, "off"])
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout, b"")
        self.assertIn("server off: disabled in the config", err(p))

    def test_tools_of_an_unknown_server_is_a_usage_error(self):
        p = self.tools("a", "nosuch")
        self.assertEqual(p.returncode, 2)
        self.assertIn('no server "nosuch"', err(p))
        self.assertIn("servers: a, b", err(p))
        self.assertEqual(p.stdout, b"")

    def test_a_server_that_fails_is_reported_and_the_others_listed(self):
        cfg = self.temp_config(mcptest.config_doc({
            "a": fixture("a"), "bad": {"command": "/nonexistent/mcp-server"}}))
        p, _ = run(["tools", "-c", cfg])
        self.assertEqual(p.returncode, 1, err(p))
        self.assertIn("server bad: no tools (failed: ", err(p))
        self.assertIn("/nonexistent/mcp-server", err(p))
        self.assertIn("a__echo", p.stdout.decode())

    def test_tools_with_a_bad_config_exits_2(self):
        p, _ = run(["tools", "-c", "/nonexistent/config.json"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/config.json", err(p))

    def test_help_of_both(self):
        p, _ = run(["tools", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertIn("SERVER", p.stdout.decode())
        self.assertIn("--json", p.stdout.decode())
        p, _ = run(["call", "--help"])
        self.assertEqual(p.returncode, 0)
        for word in ("NAME", "ARGS-JSON", "--timeout", "--quiet", "--json"):
            self.assertIn(word, p.stdout.decode())
        p, _ = run(["--help"])
        self.assertIn("tools", p.stdout.decode())
        self.assertIn("call", p.stdout.decode())

    # ----------------------------------------------------------------- call

    def test_call_prints_the_text_content(self):
        p = self.call("a__echo", '{"text": "hello there"}')
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout, b"hello there\n")
        self.assertNotIn("gateway.start", err(p))

    def test_call_json_prints_the_whole_result(self):
        p = self.call("b__echo", '{"text": "hi"}', "--json")
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(json.loads(p.stdout), {"content": [{"type": "text", "text": "hi"}],
                                                "structuredContent": {"echo": "hi"}})

    def test_call_reads_the_arguments_from_stdin(self):
        p = self.call("a__add", "-", stdin=b'{"a": 2, "b": 3}\n')
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout, b"5\n")

    def test_call_without_arguments_sends_an_empty_object(self):
        p = self.call("a__stats", "--json")
        self.assertEqual(p.returncode, 0, err(p))
        stats = json.loads(p.stdout)["structuredContent"]
        self.assertEqual(stats["clientInfo"]["name"], "mcpbraid-cli")
        self.assertEqual(stats["protocolVersion"], mcptest.LATEST_VERSION)

    def test_the_log_level_asked_for_shows_the_gateways_trace_lines(self):
        p, _ = run(["--log-level", "info", "call", "-c", self.cfg, "a__echo", '{"text": "x"}'])
        self.assertEqual(p.returncode, 0, err(p))
        self.assertIn("event=gateway.start", err(p))
        self.assertIn("event=backend.ready server=a", err(p))
        self.assertEqual(p.stdout, b"x\n")

    def test_the_client_declares_no_capabilities(self):
        # A server asking for roots is told the client has none: its answer is its own.
        p = self.call("a__ask_roots")
        self.assertEqual(p.returncode, 1, err(p))
        self.assertIn(b"-32601", p.stdout)
        self.assertIn(b"does not support roots", p.stdout)
        p = self.call("a__stats", "--json")
        self.assertEqual(json.loads(p.stdout)["structuredContent"]["clientCapabilities"], {})

    def test_progress_lines_on_a_stderr_that_is_no_terminal(self):
        p = self.call("a__slow", '{"ms": 300}')
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout, b"slept 300\n")
        progress = [line for line in err(p).splitlines() if line.startswith("progress")]
        self.assertEqual(progress, ["progress 1/3", "progress 2/3", "progress 3/3"])

    def test_quiet_shows_no_progress(self):
        p = self.call("a__slow", '{"ms": 300}', "--quiet")
        self.assertEqual(p.returncode, 0, err(p))
        self.assertEqual(p.stdout, b"slept 300\n")
        self.assertEqual(err(p), "")

    def test_progress_is_a_bar_on_a_terminal(self):
        master, slave = pty.openpty()
        try:
            p, _ = run(["call", "-c", self.cfg, "a__slow", '{"ms": 300}'], stderr=slave)
            os.close(slave)
            slave = -1
            shown = b""
            while select.select([master], [], [], 0.5)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b"slept 300\n")
        self.assertIn(b"\r\x1b[K[" + b"#" * 30 + b"] 100% 3/3", shown)
        self.assertNotIn(b"progress 1/3\n", shown)
        # The bar is erased before the command ends.
        self.assertTrue(shown.endswith(b"\r\x1b[K"), shown[-80:])

    def test_an_is_error_result_exits_1(self):
        p = self.call("a__fail")
        self.assertEqual(p.returncode, 1, err(p))
        self.assertEqual(p.stdout, b"this tool always fails\n")

    def test_an_unknown_tool_is_the_json_rpc_error_and_exits_2(self):
        p = self.call("a__nosuch", "{}")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, b"")
        self.assertIn("a__nosuch", err(p))
        self.assertRegex(err(p), r"\(-326\d\d\)")

    def test_bad_arguments_exit_2_before_any_server_starts(self):
        for args, message in (('{"text": ', "is not valid JSON"),
                              ("[1, 2]", "must be a JSON object, not array")):
            with self.subTest(args=args):
                p = self.call("a__echo", args)
                self.assertEqual(p.returncode, 2)
                self.assertIn(message, err(p))
                self.assertEqual(p.stdout, b"")
        p = self.call("a__echo", "-", stdin=b"nope")
        self.assertEqual(p.returncode, 2)
        self.assertIn("the arguments on stdin is not valid JSON", err(p))

    def test_a_bad_timeout_is_a_usage_error(self):
        p = self.call("a__echo", "--timeout", "soon")
        self.assertEqual(p.returncode, 2)
        self.assertIn("duration", err(p))

    def test_timeout_cancels_the_call_and_exits_2_leaving_nothing_running(self):
        p, elapsed = run(["call", "-c", self.cfg, "a__slow", '{"ms": 20000}', "--timeout",
                          "400ms", "--quiet"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("a__slow: timed out after 400ms", err(p))
        self.assertEqual(p.stdout, b"")
        self.assertLess(elapsed, 8)  # not the 20 s of the call

    def test_sigint_stops_the_call_and_its_servers(self):
        marker = new_marker()
        proc = subprocess.Popen([mcptest.MCPBRAID, "call", "-c", self.cfg, "a__slow",
                                 '{"ms": 20000}'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=environment(marker))
        try:
            line = proc.stderr.readline()  # the first progress line: the call is running
            self.assertTrue(line.startswith(b"progress 1/"), line)
            proc.send_signal(signal.SIGINT)
            proc.wait(8)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual(proc.returncode, 130)
        assert_nothing_left(marker)

    def test_call_with_a_bad_config_exits_2(self):
        p, _ = run(["call", "-c", "/nonexistent/config.json", "a__echo"])
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/config.json", err(p))


if __name__ == "__main__":
    mcptest.main()
