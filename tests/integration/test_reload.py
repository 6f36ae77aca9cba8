#!/usr/bin/env python3
"""Integration tests of hot reload (issue 16): the config file watched (in-place
writes and an editor's atomic rename), SIGHUP, `mcpbraid reload` and `mcpbraid
restart` through the control socket. Added servers start, removed ones stop with
their open requests answered, changed ones restart, unchanged ones keep their
pid and counters, an invalid edit keeps the old config (and says so in health),
and list_changed goes out only for lists that really changed."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import FIXTURE, MCPBRAID, fixture, line_field, tool_text, wait_until  # noqa: E402

TOOLS_CHANGED = "notifications/tools/list_changed"
PROMPTS_CHANGED = "notifications/prompts/list_changed"


def run_cli(*args, timeout=20):
    return subprocess.run([MCPBRAID, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


class ReloadCase(mcptest.MuxTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="mcpbraid-reload-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "config.json")
        self.socket = os.path.join(self.dir, "control.sock")

    def write(self, servers, atomic=True, path=None, **top):
        """Writes the config as an editor would: a new file renamed over the old one
        (atomic), or truncated and written in place."""
        path = path or self.path
        doc = {"mcpServers": servers}
        doc.update(top)
        text = json.dumps(doc) if not isinstance(servers, str) else servers
        if atomic:
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, path)
        else:
            with open(path, "w") as f:
                f.write(text)

    def start(self, servers, config_path=None, capabilities=None, **top):
        self.write(servers, **top)
        m = self.mux(config_path=config_path or self.path,
                     args=("--control-socket", self.socket))
        m.initialize(capabilities=capabilities)
        self.assertTrue(wait_until(lambda: os.path.exists(self.socket), 5))
        return m

    def health(self):
        out = run_cli("health", "--socket", self.socket, "--json")
        self.assertIn(out.returncode, (0, 1), out.stderr)
        return json.loads(out.stdout)

    def pid(self, server):
        return self.health()["backends"][server]["pid"]

    def tool_names(self, m):
        return [t["name"] for t in m.result("tools/list")["tools"]]

    def wait_reload(self, m, count=1, timeout=5.0):
        """Waits until `count` reloads were applied (or failed), by their trace lines."""
        self.assertTrue(wait_until(
            lambda: len([l for l in m.stderr.splitlines()
                         if "config.reload " in l or "config.reload_failed" in l]) >= count,
            timeout), m.stderr_tail())

    def reload_lines(self, m):
        return [l for l in m.stderr.splitlines() if "config.reload " in l]

    def no_notification(self, m, method, wait=0.8):
        time.sleep(wait)  # a negative: nothing may arrive within the coalescing window
        self.assertEqual(m.notifications_of(method), [], m.stderr_tail())


class FileWatch(ReloadCase):
    def test_added_server_starts_and_others_keep_their_process(self):
        m = self.start({"a": fixture("a")}, capabilities={"roots": {"listChanged": True}})
        self.assertIn("a__echo", self.tool_names(m))
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "x"})), "x")
        pid_a = self.pid("a")
        before = self.health()["backends"]["a"]["successes"]
        self.write({"a": fixture("a"), "b": fixture("b")})
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        names = self.tool_names(m)
        self.assertIn("b__echo", names)
        self.assertIn("a__echo", names)
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "hi"})), "hi")
        # Initialized with the client's capabilities, like the servers there from the start.
        self.assertEqual(m.stats("b")["clientCapabilities"], m.stats("a")["clientCapabilities"])
        self.assertIn("roots", m.stats("b")["clientCapabilities"])
        h = self.health()
        self.assertEqual(h["backends"]["a"]["pid"], pid_a)
        self.assertGreaterEqual(h["backends"]["a"]["successes"], before)
        self.assertTrue(h["config"]["last_reload"]["ok"])
        self.assertIn("1 added (b)", h["config"]["last_reload"]["changes"])
        # One list_changed per list that changed: b has prompts and resources too.
        self.assertEqual(len(m.notifications_of(TOOLS_CHANGED)), 1)

    def test_removed_server_stops_and_its_open_call_is_answered(self):
        m = self.start({"a": fixture("a"), "b": fixture("b")})
        self.tool_names(m)
        pid_b = self.pid("b")
        slow = m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 20000}})
        time.sleep(0.2)
        self.write({"a": fixture("a")}, atomic=False)
        answer = m.wait_response(slow, timeout=8)
        text = json.dumps(answer)
        self.assertIn("removed by a config reload", text)
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.assertNotIn("b__echo", self.tool_names(m))
        err = m.call("tools/call", {"name": "b__echo", "arguments": {"text": "x"}})
        self.assertTrue("error" in err or err["result"].get("isError"), err)
        self.assertTrue(wait_until(lambda: not mcptest.pid_running(pid_b), 6), "b still runs")
        self.assertNotIn("b", self.health()["backends"])

    def test_changed_server_restarts_and_keeps_its_tools(self):
        m = self.start({"a": fixture("a"), "b": fixture("b", env={"X": "1"})})
        self.tool_names(m)
        pid_a, pid_b = self.pid("a"), self.pid("b")
        self.write({"a": fixture("a"), "b": fixture("b", env={"X": "2"})})
        self.wait_reload(m)
        self.assertTrue(wait_until(lambda: self.pid("b") not in (pid_b, -1, None), 8))
        self.assertTrue(wait_until(
            lambda: self.health()["backends"]["b"]["state"] == "ready", 8))
        out = m.call_tool("b__env", {"name": "X"})
        self.assertIn("2", tool_text(out))
        self.assertEqual(self.pid("a"), pid_a)
        self.assertIn("1 restarted (b)", self.reload_lines(m)[-1])
        # Same tools after the restart: nothing to announce.
        self.no_notification(m, TOOLS_CHANGED)

    def test_failsafe_change_applies_in_place_without_list_changed(self):
        m = self.start({"a": fixture("a")})
        self.tool_names(m)
        pid_a = self.pid("a")
        entry = fixture("a")
        entry["failsafe"] = {"timeout": "300ms"}
        self.write({"a": entry})
        self.wait_reload(m)
        self.assertIn("1 updated (a)", self.reload_lines(m)[-1])
        self.assertEqual(self.pid("a"), pid_a)
        # The new timeout is in force: a 2 s call now times out.
        out = m.call("tools/call", {"name": "a__slow", "arguments": {"ms": 2000}}, timeout=5)
        self.assertIn("(timeout)", json.dumps(out))
        self.no_notification(m, TOOLS_CHANGED)

    def test_filter_change_hides_a_tool_with_one_list_changed(self):
        m = self.start({"a": fixture("a")})
        self.assertIn("a__add", self.tool_names(m))
        pid_a = self.pid("a")
        entry = fixture("a")
        entry["tools"] = {"deny": ["add"]}
        self.write({"a": entry})
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.assertNotIn("a__add", self.tool_names(m))
        self.assertEqual(self.pid("a"), pid_a)
        self.no_notification(m, PROMPTS_CHANGED, wait=0.3)
        self.assertEqual(len(m.notifications_of(TOOLS_CHANGED)), 1)

    def test_rewrite_with_no_change_changes_nothing(self):
        m = self.start({"a": fixture("a")})
        self.tool_names(m)
        pid_a = self.pid("a")
        self.write({"a": fixture("a")})
        self.wait_reload(m)
        self.assertIn("no change", self.reload_lines(m)[-1])
        self.assertEqual(self.pid("a"), pid_a)
        self.no_notification(m, TOOLS_CHANGED)

    def test_invalid_edit_keeps_the_old_config(self):
        m = self.start({"a": fixture("a")})
        self.tool_names(m)
        pid_a = self.pid("a")
        self.write('{"mcpServers": {"a": {"command": 42}}}')
        self.wait_reload(m)
        errors = [l for l in m.stderr.splitlines() if "config.reload_failed" in l]
        self.assertTrue(errors)
        self.assertIn("ERROR", errors[0].upper())
        self.assertIn(self.path, errors[0])
        self.assertIn("mcpServers.a.command", errors[0])
        h = self.health()
        self.assertFalse(h["config"]["last_reload"]["ok"])
        self.assertIn("mcpServers.a.command", h["config"]["last_reload"]["error"])
        self.assertEqual(h["backends"]["a"]["pid"], pid_a)
        table = run_cli("health", "--socket", self.socket)
        self.assertIn("last reload failed: ", table.stdout)
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "still"})), "still")
        # Fixed again: applied, and health says so.
        self.write({"a": fixture("a"), "b": fixture("b")})
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.assertTrue(self.health()["config"]["last_reload"]["ok"])

    def test_other_files_in_the_directory_do_not_wake_it(self):
        # The directory is watched for renames only: a config in a busy directory
        # (/tmp, $HOME) must not wake the gateway, and its busy poll, for every file closed.
        m = self.start({"a": fixture("a")}, busy_poll_us=10000)
        self.tool_names(m)
        time.sleep(0.2)
        with open("/proc/%d/stat" % m.pid) as f:
            before = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])
        for i in range(50):  # apart, so that each would be a wake-up of its own
            with open(os.path.join(self.dir, "other-%d.txt" % i), "w") as f:
                f.write("x")
            time.sleep(0.012)
        time.sleep(0.2)
        with open("/proc/%d/stat" % m.pid) as f:
            used = sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13]) - before
        self.assertLessEqual(used, os.sysconf("SC_CLK_TCK") // 10, "woken by other files")
        self.assertEqual(self.reload_lines(m), [])
        # Its own file is still seen.
        self.write({"a": fixture("a"), "b": fixture("b")}, atomic=False)
        m.wait_notification(TOOLS_CHANGED, timeout=8)

    def test_option_that_cannot_change_live_warns(self):
        m = self.start({"a": fixture("a")})
        self.tool_names(m)
        self.write({"a": fixture("a")}, separator="--")
        self.wait_reload(m)
        warns = [l for l in m.stderr.splitlines() if "config.reload_needs_restart" in l]
        self.assertTrue(warns, m.stderr_tail())
        self.assertEqual(line_field(warns[0], "key"), "separator")
        self.assertIn("a__echo", self.tool_names(m))


class Signals(ReloadCase):
    def symlinked(self):
        """The config through a symlink in another directory: writes to the target are
        not seen by the watch, so only SIGHUP (or `mcpbraid reload`) reloads."""
        real_dir = tempfile.mkdtemp(prefix="mcpbraid-reload-real-")
        self.addCleanup(shutil.rmtree, real_dir, True)
        real = os.path.join(real_dir, "real.json")
        self.write({"a": fixture("a")}, path=real)
        os.symlink(real, self.path + ".link")
        return real, self.path + ".link"

    def test_sighup_reloads(self):
        real, link = self.symlinked()
        m = self.mux(config_path=link, args=("--control-socket", self.socket))
        m.initialize()
        self.tool_names(m)
        self.write({"a": fixture("a"), "b": fixture("b")}, path=real)
        time.sleep(0.5)
        self.assertEqual(self.reload_lines(m), [])  # not watched through the link
        m.signal(signal.SIGHUP)
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.assertIn("b__echo", self.tool_names(m))
        self.assertEqual(line_field(self.reload_lines(m)[-1], "source"), "SIGHUP")
        self.assertTrue(m.running())

    def test_reload_command(self):
        real, link = self.symlinked()
        m = self.mux(config_path=link, args=("--control-socket", self.socket))
        m.initialize()
        self.tool_names(m)
        self.assertTrue(wait_until(lambda: os.path.exists(self.socket), 5))
        self.write({"a": fixture("a"), "b": fixture("b")}, path=real)
        out = run_cli("reload", "--socket", self.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("reloaded: 1 added (b)", out.stdout)
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.write("{broken", path=real)
        out = run_cli("reload", "--socket", self.socket)
        self.assertEqual(out.returncode, 1)
        self.assertIn("the old one stays", out.stderr)
        self.assertIn("b__echo", self.tool_names(m))
        out = run_cli("reload", "--socket", os.path.join(self.dir, "nobody.sock"))
        self.assertEqual(out.returncode, 2)


class Restart(ReloadCase):
    def test_restart_a_failed_server(self):
        flag = os.path.join(self.dir, "may-start")
        script = "test -f %s && exec %s --name s || exit 1" % (flag, FIXTURE)
        entry = {"command": "/bin/sh", "args": ["-c", script],
                 "restart": {"initial_backoff": "10ms", "max_backoff": "20ms",
                             "max_restarts": 1}}
        m = self.start({"a": fixture("a"), "s": entry})
        self.assertTrue(wait_until(
            lambda: self.health()["backends"]["s"]["state"] == "failed", 8))
        self.tool_names(m)
        open(flag, "w").close()
        out = run_cli("restart", "s", "--socket", self.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("restarting s (was failed)", out.stdout)
        self.assertTrue(wait_until(
            lambda: self.health()["backends"]["s"]["state"] == "ready", 8), m.stderr_tail())
        m.wait_notification(TOOLS_CHANGED, timeout=8)
        self.assertEqual(tool_text(m.call_tool("s__echo", {"text": "up"})), "up")

    def test_restart_a_running_server_answers_its_open_call(self):
        m = self.start({"a": fixture("a")})
        self.tool_names(m)
        pid_a = self.pid("a")
        slow = m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 20000}})
        time.sleep(0.2)
        out = run_cli("restart", "a", "--socket", self.socket)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("restarted by mcpbraid restart", json.dumps(m.wait_response(slow, 5)))
        self.assertTrue(wait_until(lambda: self.pid("a") not in (pid_a, -1, None), 8))
        self.assertTrue(wait_until(lambda: not mcptest.pid_running(pid_a), 8))
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "x"}, timeout=8)), "x")

    def test_restart_unknown_server(self):
        self.start({"a": fixture("a")})
        out = run_cli("restart", "nope", "--socket", self.socket)
        self.assertEqual(out.returncode, 2)
        self.assertIn("no server 'nope' (a)", out.stderr)
        out = run_cli("restart")
        self.assertEqual(out.returncode, 2)


if __name__ == "__main__":
    unittest.main()
