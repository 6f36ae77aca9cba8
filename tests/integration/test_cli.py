"""--help, --version, the serve subcommand, usage errors, trace lines on stderr
(start-up, spawn/initialize/exit per backend, one line per request at debug),
--log-format json, and stdout carrying nothing but protocol messages."""

import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, jsonl, req, tool_text  # noqa: E402


def run(args, stdin=b"", env=None, timeout=20):
    """Runs mcpbraid to completion; fails if a process it started is left running."""
    marker = "cli-%d-%d" % (os.getpid(), time.monotonic_ns())
    full = dict(os.environ)
    full.pop("MCPBRAID_LOG", None)
    full[mcptest.MARKER_VAR] = marker
    if env:
        full.update(env)
    p = subprocess.run([mcptest.MCPBRAID] + args, input=stdin, capture_output=True,
                       env=full, timeout=timeout)
    if not mcptest.wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0):
        raise AssertionError("processes left running after mcpbraid exited: %s"
                             % mcptest.pids_with_marker(marker))
    return p


class Cli(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.cfg = self.temp_config(mcptest.config_doc({"a": fixture("a"), "b": fixture("b")}))

    def script(self):
        return jsonl(
            req(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "cli", "version": "1"}}),
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            req(2, "tools/call", {"name": "a__echo", "arguments": {"text": "traced"}}),
            req(3, "tools/call", {"name": "b__stats", "arguments": {}}),
        )

    def test_help(self):
        for flag in ("--help", "-h"):
            with self.subTest(flag=flag):
                p = run([flag])
                self.assertEqual(p.returncode, 0)
                out = p.stdout.decode()
                self.assertIn("mcpbraid", out)
                self.assertIn("--config", out)
                self.assertIn("--log-level", out)
                self.assertIn("serve", out)

    def test_version(self):
        for flag in ("--version", "-V"):
            with self.subTest(flag=flag):
                p = run([flag])
                self.assertEqual(p.returncode, 0)
                self.assertRegex(p.stdout.decode().strip(), r"^mcpbraid \d+\.\d+\.\d+")

    def test_usage_errors(self):
        for args in (["--bogus"], ["--log-level", "loud", "-c", self.cfg],
                     ["--log-format", "xml", "-c", self.cfg], ["-c"]):
            with self.subTest(args=args):
                p = run(args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stdout, b"")
                self.assertTrue(p.stderr.strip())

    def test_bad_mcpbraid_log_env(self):
        p = run(["-c", self.cfg], env={"MCPBRAID_LOG": "chatty"})
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, b"")
        self.assertIn("MCPBRAID_LOG", p.stderr.decode())

    def test_serve_subcommand(self):
        p = run(["serve", "-c", self.cfg], stdin=self.script())
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        msgs = {m["id"]: m for m in mcptest.parse_stdout(p.stdout)}
        self.assertEqual(tool_text(msgs[2]["result"]), "traced")

    def test_trace_lines_at_info(self):
        m = self.mux({"a": fixture("a"), "b": fixture("b")}, log_level="info")
        m.initialize()
        pids = {s: m.stats(s)["pid"] for s in ("a", "b")}
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        lines = m.stderr.splitlines()
        self.assertTrue(any(m.config_path in l for l in lines), "start-up line names the config")
        for server, pid in pids.items():
            mine = [l for l in lines if re.search(r"\bserver=%s\b" % server, l)]
            self.assertTrue(any(str(pid) in l for l in mine),
                            "a spawn line names server %s and pid %d:\n%s" % (server, pid, m.stderr))
            self.assertGreaterEqual(len(mine), 3,
                                    "spawn, initialize and exit lines for %s:\n%s" % (server, m.stderr))
        # No per-request lines at info.
        self.assertFalse(any("latency_ms" in l and "tools/call" in l for l in lines), m.stderr)

    def test_request_lines_at_debug(self):
        p = run(["--log-level", "debug", "-c", self.cfg], stdin=self.script())
        self.assertEqual(p.returncode, 0)
        mcptest.parse_stdout(p.stdout)
        lines = p.stderr.decode().splitlines()
        calls = [l for l in lines if "method=tools/call" in l and "latency_ms=" in l]
        self.assertTrue(any("server=a" in l for l in calls), "\n".join(lines))
        self.assertTrue(any("server=b" in l for l in calls), "\n".join(lines))
        for l in calls:
            self.assertRegex(l, r"request_id=\S+")

    def test_mcpbraid_log_env_sets_level(self):
        p = run(["-c", self.cfg], stdin=self.script(), env={"MCPBRAID_LOG": "debug"})
        self.assertEqual(p.returncode, 0)
        self.assertIn("method=tools/call", p.stderr.decode())
        p = run(["--log-level", "info", "-c", self.cfg], stdin=self.script(),
                env={"MCPBRAID_LOG": "debug"})
        self.assertNotIn("method=tools/call", p.stderr.decode(), "the flag wins over MCPBRAID_LOG")

    def test_log_format_json(self):
        p = run(["--log-format", "json", "--log-level", "debug", "-c", self.cfg],
                stdin=self.script())
        self.assertEqual(p.returncode, 0)
        mcptest.parse_stdout(p.stdout)
        lines = [l for l in p.stderr.decode().splitlines() if l.strip()]
        self.assertTrue(lines)
        records = []
        for l in lines:
            # Backend stderr relayed at debug is inside a JSON record, never raw.
            try:
                records.append(json.loads(l))
            except ValueError:
                self.fail("stderr line is not JSON with --log-format json: %r" % l)
        self.assertTrue(all(isinstance(r, dict) for r in records))
        self.assertTrue(any(r.get("server") == "a" for r in records))
        self.assertTrue(any(r.get("method") == "tools/call" and "latency_ms" in r for r in records))

    def test_log_level_off_is_silent(self):
        p = run(["--log-level", "off", "-c", self.cfg], stdin=self.script())
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stderr, b"")
        self.assertEqual(len(mcptest.parse_stdout(p.stdout)), 3)

    def test_stdout_is_protocol_only_at_trace_level(self):
        cfg = self.temp_config(mcptest.config_doc({
            "a": fixture("a", "--stderr-lines", "50"), "j": fixture("j", "--junk")}))
        p = run(["--log-level", "trace", "-c", cfg], stdin=self.script() + jsonl(
            req(4, "tools/call", {"name": "j__echo", "arguments": {"text": "j"}})))
        self.assertEqual(p.returncode, 0)
        msgs = mcptest.parse_stdout(p.stdout)
        self.assertEqual(sorted(m["id"] for m in msgs if "id" in m), [1, 2, 3, 4])
        self.assertNotIn(b"stderr line", p.stdout)


if __name__ == "__main__":
    mcptest.main()
