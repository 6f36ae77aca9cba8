"""Being killed, as an SDK v2 client kills its throwaway probe copy (stdin closed
and SIGTERM at once, SIGKILL a second later): children never outlive mcpbraid,
even SIGKILLed, and a SIGTERM or SIGINT ends everything well within that second,
with a child that ignores SIGTERM and outlives stdin EOF."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture  # noqa: E402

# What the SDK client allows between SIGTERM and SIGKILL is 1 s; the short
# ladder (SIGTERM, SIGKILL 300 ms later, exit by 500 ms) must fit with room.
BUDGET_S = 0.9


def wait_gone(pids, timeout):
    """Seconds until every pid is gone (or a zombie), or None after timeout."""
    t0 = time.monotonic()
    if mcptest.wait_until(lambda: not any(mcptest.pid_running(p) for p in pids), timeout,
                          interval=0.005):
        return time.monotonic() - t0
    return None


def sig_set(status_lines, field):
    """SigBlk / SigIgn of a /proc/<pid>/status as a set of signal numbers."""
    for line in status_lines:
        if line.startswith(field + ":"):
            bits = int(line.split()[1], 16)
            return {n + 1 for n in range(64) if bits >> n & 1}
    return None


class Killed(mcptest.MuxTestCase):

    def start(self):
        m = self.mux({"stubborn": fixture("stubborn", "--ignore-sigterm"), "b": fixture("b")})
        m.initialize()
        pids = [m.stats(s)["pid"] for s in ("stubborn", "b")]
        for pid in pids:
            self.assertEqual(mcptest.proc_ppid(pid), m.pid)
        return m, pids

    def test_sigkill_takes_every_child_with_it(self):
        m, pids = self.start()
        t0 = time.monotonic()
        m.signal(signal.SIGKILL)
        m.wait_exit(5)
        gone = wait_gone(pids, 3.0)
        print("SIGKILL: children gone after %s s" % (gone and "%.3f" % gone), file=sys.stderr)
        self.assertIsNotNone(gone, "children still running 3 s after mcpbraid was SIGKILLed: %s"
                             % [p for p in pids if mcptest.pid_running(p)])
        self.assertLess(time.monotonic() - t0, 1.0)
        m.assert_no_leftovers(timeout=0.5)

    def test_stdin_eof_and_sigterm_at_once(self):
        # What the SDK v2 client does to the copy it started for server/discover.
        m, pids = self.start()
        slow = m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 10000}})
        time.sleep(0.1)
        t0 = time.monotonic()
        m.close_stdin()
        m.signal(signal.SIGTERM)
        self.check_all_gone_in_budget(m, pids, t0, "EOF + SIGTERM")
        msg = m.wait_response(slow, 0.5)
        self.assertTrue("error" in msg or msg["result"].get("isError") is True, msg)

    def test_sigterm_alone(self):
        m, pids = self.start()
        t0 = time.monotonic()
        m.signal(signal.SIGTERM)
        self.check_all_gone_in_budget(m, pids, t0, "SIGTERM")

    def test_sigint_alone(self):
        m, pids = self.start()
        t0 = time.monotonic()
        m.signal(signal.SIGINT)
        self.check_all_gone_in_budget(m, pids, t0, "SIGINT")

    def test_sigterm_during_the_eof_ladder_shortens_it(self):
        # A client that quits normally gets the patient ladder (2 s per rung);
        # a SIGTERM meanwhile switches to the short one.
        m, pids = self.start()
        m.close_stdin()
        self.assertTrue(mcptest.wait_until(lambda: "backend.stopped" in m.stderr, 2.0))
        time.sleep(0.3)
        self.assertTrue(m.running(), "the EOF ladder waits for the stubborn child")
        t0 = time.monotonic()
        m.signal(signal.SIGTERM)
        self.check_all_gone_in_budget(m, pids, t0, "SIGTERM during the EOF ladder")

    def test_stdin_eof_alone_keeps_the_patient_ladder(self):
        m, pids = self.start()
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        elapsed = time.monotonic() - t0
        # stdin EOF, 2 s, SIGTERM (ignored), 2 s, SIGKILL.
        self.assertGreater(elapsed, 3.9, "EOF alone took %.2fs" % elapsed)
        self.assertLess(elapsed, 6.0, "EOF alone took %.2fs" % elapsed)
        self.assertIsNotNone(wait_gone(pids, 1.0))

    def test_sigterm_takes_what_a_server_left_in_its_group(self):
        # sh -c with a second command forks (no exec): the server is sh's child,
        # mcpbraid's grandchild. sh dies of the group's SIGTERM, the grandchild
        # ignores it and outlives EOF; it goes with the SIGKILL to the rest of
        # the group when sh is reaped.
        m = self.mux({"wrapped": {"command": "/bin/sh", "args": [
            "-c", '"$0" --name wrapped --ignore-sigterm; true', mcptest.FIXTURE]}})
        m.initialize()
        server = m.stats("wrapped")["pid"]  # the fixture's own pid: the grandchild
        sh = mcptest.proc_ppid(server)
        self.assertEqual(mcptest.proc_ppid(sh), m.pid)
        pids = [server, sh]
        t0 = time.monotonic()
        m.signal(signal.SIGTERM)
        self.check_all_gone_in_budget(m, pids, t0, "SIGTERM, grandchild in the group")

    def check_all_gone_in_budget(self, m, pids, t0, what):
        self.assertEqual(m.wait_exit(5), 0)
        exited = time.monotonic() - t0
        gone = wait_gone(pids, 3.0)
        total = time.monotonic() - t0
        print("%s: mcpbraid exited after %.3f s, children gone after %.3f s"
              % (what, exited, total), file=sys.stderr)
        self.assertIsNotNone(gone, "children still running: %s"
                             % [p for p in pids if mcptest.pid_running(p)])
        self.assertLess(exited, BUDGET_S, "%s: mcpbraid exited after %.3f s" % (what, exited))
        self.assertLess(total, BUDGET_S, "%s: children gone after %.3f s" % (what, total))
        m.assert_no_leftovers(timeout=0.2)


class Spawn(mcptest.MuxTestCase):

    def test_child_starts_with_default_signals_and_nothing_blocked(self):
        # mcpbraid ignores SIGPIPE and handles SIGINT/SIGTERM/SIGHUP: none of it
        # reaches the child. (The fixture ignores SIGPIPE itself: a shell's cat
        # looks first, then the shell becomes the fixture. Not the shell's own
        # status: dash blocks every signal while it forks.)
        status = tempfile.NamedTemporaryFile(prefix="mcpbraid-killed-", delete=False)
        status.close()
        self.addCleanup(os.unlink, status.name)
        m = self.mux({"a": {"command": "/bin/sh", "args": [
            "-c", 'cat /proc/self/status > "$0"; exec "$1" --name a', status.name,
            mcptest.FIXTURE]}})
        m.initialize()
        pid = m.stats("a")["pid"]
        with open(status.name) as f:
            lines = f.read().splitlines()
        ours = {signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        self.assertEqual(sig_set(lines, "SigIgn") & ours, set())
        self.assertEqual(sig_set(lines, "SigBlk"), set())
        self.assertEqual(os.getpgid(pid), pid, "a child leads its own process group")

    def test_failed_steps_in_the_child_are_reported(self):
        missing = "/nonexistent/mcpbraid-killed-test/server"
        doc = mcptest.config_doc({
            "cwd": fixture("cwd", cwd="/nonexistent/mcpbraid-killed-test"),
            "gone": {"command": missing},
            "noexec": {"command": "/etc/passwd"},
        })
        path = self.temp_config(doc)
        proc = subprocess.run([mcptest.MCPBRAID, "health", "--probe", "--json", "-c", path],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=20)
        errors = {k: v["last_error"] for k, v in json.loads(proc.stdout)["backends"].items()}
        self.assertEqual(errors["cwd"], "cannot start %s: No such file or directory "
                         "(cwd /nonexistent/mcpbraid-killed-test)" % mcptest.FIXTURE)
        self.assertEqual(errors["gone"], "cannot start %s: No such file or directory" % missing)
        self.assertEqual(errors["noexec"], "cannot start /etc/passwd: Permission denied")


if __name__ == "__main__":
    mcptest.main()
