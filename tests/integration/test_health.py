#!/usr/bin/env python3
"""Integration tests of issue 4, "seeing inside": the control socket (where it goes,
its modes, stale and busy paths, the one-line protocol, the peer uid check),
`mcpbraid health` on live instances (JSON, table, Prometheus, exit codes) with
backends driven into every state, `mcpbraid health --probe`, the gateway's own
tools (gateway_list_servers / gateway_health), and the trace lines (JSON format,
per-component levels, request ids, the stderr relay).

Every test runs mcpbraid and `mcpbraid health` with its own private XDG_RUNTIME_DIR
(mode 0700), so the sockets of tests running in parallel never mix.  Note that
`mcpbraid health` without --socket also looks in /tmp/mcpbraid-<uid> (the fallback
directory other test files use), so the no-argument tests only assert on the
instances they started themselves.
"""

import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import line_field, socket_answers  # noqa: E402
from mcptest import (  # noqa: E402
    FIXTURE, FIXTURE_TOOLS, GATEWAY_TOOLS, MCPBRAID, fixture, jsonl, req, run_oneshot,
    tool_text, wait_until,
)

NOBODY = 65534
MISSING = "/nonexistent/mcpbraid-health-test/ghost-server"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# One Prometheus sample: name{labels} value.
PROM_SAMPLE = re.compile(r"^([a-z_]+)\{[^}]*\} ([0-9.eE+-]+|NaN)$")
# Every field the JSON of one backend must carry (the JSON is an interface).
BACKEND_FIELDS = {
    "state", "circuit", "next_probe_ms", "restart_in_ms", "healthy", "successes", "failures",
    "consecutive_failures", "latency_ms", "restarts", "pid", "uptime_s", "tools", "in_flight",
    "last_error", "stderr_tail",
}


# --------------------------------------------------------------------------- helpers


def control_raw(path, data, timeout=5.0, chunks=None):
    """Connects to a control socket, sends `data` (or each of `chunks` with a short pause
    in between), and returns everything read until the peer closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        for i, piece in enumerate(chunks if chunks is not None else [data]):
            if i:
                time.sleep(0.05)
            s.sendall(piece)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def control(path, request, **kwargs):
    """One request on the control socket; returns the one JSON line it answers."""
    raw = control_raw(path, (json.dumps(request) + "\n").encode(), **kwargs)
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        raise AssertionError("expected exactly one line from the control socket, got %r" % raw)
    return json.loads(raw)


def stale_socket(path):
    """Leaves a socket file nobody listens on (bound, closed, not unlinked)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def with_keys(entry, **keys):
    entry = dict(entry)
    entry.update(keys)
    return entry


def shell_server(script, name="x", *flags):
    """A server entry: `sh -c script` that ends with `exec <fixture> --name name flags`."""
    tail = ' exec "$0" --name %s %s' % (name, " ".join(flags))
    return {"command": "sh", "args": ["-c", script + tail, FIXTURE]}


class Result:
    def __init__(self, proc, elapsed):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8", errors="replace")
        self.elapsed = elapsed

    def json(self):
        return [json.loads(line) for line in self.out.splitlines()]

    def __repr__(self):
        return "rc=%s\n--- stdout ---\n%s--- stderr ---\n%s" % (self.rc, self.out, self.err)


class HealthCase(mcptest.MuxTestCase):
    """A private XDG_RUNTIME_DIR per test, and runners for mcpbraid and `mcpbraid health`."""

    def setUp(self):
        super().setUp()
        self.xdg = tempfile.mkdtemp(prefix="mcpbraid-health-xdg-")
        os.chmod(self.xdg, 0o700)
        self.addCleanup(shutil.rmtree, self.xdg, True)
        self.env = {"XDG_RUNTIME_DIR": self.xdg}

    def tempdir(self, mode=0o700):
        d = tempfile.mkdtemp(prefix="mcpbraid-health-")
        os.chmod(d, mode)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def start(self, servers, initialize=True, wait_socket=True, env=None, **kwargs):
        full = dict(self.env)
        full.update(env or {})
        m = self.mux(servers, env=full, **kwargs)
        if initialize:
            m.initialize()
        if wait_socket:
            path = self.sock(m)
            if not wait_until(lambda: socket_answers(path), 5.0):
                m._fail("control socket %s never answered" % path)
        return m

    def sock(self, m):
        """The default control socket path of this instance."""
        return os.path.join(self.xdg, "mcpbraid", "%d.sock" % m.pid)

    def full_env(self, env=None):
        full = dict(os.environ)
        for var in ("MCPBRAID_LOG", "NO_COLOR", "MCPBRAID_CONFIG"):
            full.pop(var, None)
        full.update(self.env)
        full.update(env or {})
        return full

    def health(self, *args, env=None, timeout=30, user=None, group=None):
        """Runs `mcpbraid health args` to completion; fails if a process it started
        (--probe) is left running."""
        marker = "health-%d-%d" % (os.getpid(), time.monotonic_ns())
        full = self.full_env(env)
        full[mcptest.MARKER_VAR] = marker
        t0 = time.monotonic()
        proc = subprocess.run([MCPBRAID, "health", *args], stdin=subprocess.DEVNULL,
                              capture_output=True, env=full, timeout=timeout, user=user,
                              group=group, extra_groups=[] if user is not None else None)
        result = Result(proc, time.monotonic() - t0)
        if not wait_until(lambda: not mcptest.pids_with_marker(marker), 3.0):
            self.fail("processes left running after mcpbraid health: %s\n%r"
                      % (mcptest.pids_with_marker(marker), result))
        return result

    def snapshot(self, m, *args):
        """(exit code, the one snapshot) of `mcpbraid health --socket <m's socket> --json`."""
        r = self.health("--socket", self.sock(m), "--json", *args)
        self.assertIn(r.rc, (0, 1), r)
        snaps = r.json()
        self.assertEqual(len(snaps), 1, r)
        self.assertEqual(snaps[0]["mcpbraid"]["pid"], m.pid, r)
        return r.rc, snaps[0]

    def wait_backend(self, m, name, predicate, timeout=8.0):
        """Polls the control socket until backends[name] satisfies predicate; returns it."""
        last = [None]

        def check():
            last[0] = control(self.sock(m), {"method": "health"})["result"]["backends"][name]
            return predicate(last[0])
        if not wait_until(check, timeout, interval=0.05):
            m._fail("backend %s never reached the expected state; last: %s" % (name, last[0]))
        return last[0]

    def oneshot(self, config_path, stdin=b"", log_level="debug", args=(), env=None):
        full = dict(self.env)
        full.update(env or {})
        return run_oneshot(config_path, stdin_data=stdin, log_level=log_level, args=args,
                           env=full)

    def assertFits80(self, text, what="output"):
        for line in text.splitlines():
            self.assertLessEqual(len(line), 80, "%s line longer than 80 columns: %r\n%s"
                                 % (what, line, text))

    def assertColumnsAligned(self, table):
        """Every backend row lines up with the header: left-aligned columns start under
        their heading, right-aligned (numeric) ones end under it."""
        lines = table.splitlines()
        header = next(l for l in lines if l.startswith("SERVER "))
        rows = [l for l in lines[lines.index(header) + 1:] if l and not l.startswith(" ")]
        self.assertTrue(rows, table)
        starts = {h: header.index(h) for h in ("STATE", "CIRCUIT", "HEALTH", "p50")}
        ends = {h: header.index(h) + len(h) for h in (" OK", "FAIL", "TOOLS")}
        for row in rows:
            row = ANSI.sub("", row)
            for heading, at in starts.items():
                self.assertTrue(row[at] != " " and row[at - 1] == " ",
                                "column %s does not start at %d:\n%s\n%s"
                                % (heading, at, header, row))
            for heading, at in ends.items():
                self.assertTrue(row[at - 1] != " " and (at == len(row) or row[at] == " "),
                                "column %s does not end at %d:\n%s\n%s"
                                % (heading.strip(), at, header, row))

    def assertBackendFields(self, b):
        missing = BACKEND_FIELDS - set(b)
        self.assertFalse(missing, "backend JSON lacks %s: %s" % (sorted(missing), b))
        self.assertEqual(set(b["latency_ms"]), {"p50", "p95", "p99"}, b)


def wait_stderr(m, needle, timeout=3.0):
    """Waits until mcpbraid's stderr (read by another thread) contains `needle`."""
    if not wait_until(lambda: needle in m.stderr, timeout):
        m._fail("%r never appeared on mcpbraid's stderr" % needle)


def stderr_lines(m, event):
    return [l for l in m.stderr.splitlines() if ("event=%s " % event) in l + " "]



# --------------------------------------------------------------------------- 1. control socket


class ControlSocket(HealthCase):

    def test_default_path_modes_and_removed_on_exit(self):
        m = self.start({"a": fixture("a")})
        directory = os.path.join(self.xdg, "mcpbraid")
        path = self.sock(m)
        st = os.lstat(directory)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, "control directory mode")
        st = os.lstat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "control socket mode")
        wait_stderr(m, "event=control.listen path=%s" % path)
        answer = control(path, {"method": "health"})
        self.assertEqual(set(answer), {"result"}, answer)
        self.assertEqual(answer["result"]["mcpbraid"]["pid"], m.pid)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertFalse(os.path.lexists(path), "socket left behind after exit")

        # A directory that exists but is open to others is tightened to 0700.
        os.chmod(directory, 0o755)
        m2 = self.start({"a": fixture("a")})
        self.assertEqual(stat.S_IMODE(os.lstat(directory).st_mode), 0o700)
        self.assertEqual(control(self.sock(m2), {"method": "health"})["result"]["mcpbraid"]["pid"],
                         m2.pid)
        # SIGTERM: the socket is removed too.
        m2.signal(signal.SIGTERM)
        self.assertEqual(m2.wait_exit(10), 0)
        self.assertEqual(os.listdir(directory), [])

    def test_control_socket_option(self):
        path = os.path.join(self.tempdir(0o755), "ctl.sock")
        m = self.start({"a": fixture("a")}, args=["--control-socket", path], wait_socket=False)
        self.assertTrue(wait_until(lambda: socket_answers(path), 5.0), m.stderr_tail())
        st = os.lstat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertFalse(os.path.lexists(self.sock(m)), "a default socket was created too")
        r = self.health("--socket", path, "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()[0]["mcpbraid"]["pid"], m.pid)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertFalse(os.path.lexists(path), "socket left behind after exit")

    def test_no_control_socket(self):
        m = self.start({"a": fixture("a")}, args=["--no-control-socket"], wait_socket=False)
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "hi"})), "hi")
        directory = os.path.join(self.xdg, "mcpbraid")
        self.assertTrue(not os.path.exists(directory) or os.listdir(directory) == [],
                        os.listdir(directory) if os.path.exists(directory) else None)
        wait_stderr(m, "event=backend.spawn")  # logged after the socket would be
        self.assertNotIn("event=control.listen", m.stderr)
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 2, r)
        # --control-socket and --no-control-socket exclude each other.
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a")}))
        rc, out, err, _, _ = self.oneshot(cfg, args=["--no-control-socket", "--control-socket",
                                                     os.path.join(self.xdg, "x.sock")])
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, b"")

    def test_stale_socket_is_replaced(self):
        path = os.path.join(self.xdg, "stale.sock")
        stale_socket(path)
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        self.assertFalse(socket_answers(path))
        m = self.start({"a": fixture("a")}, args=["--control-socket", path], wait_socket=False)
        self.assertTrue(wait_until(lambda: socket_answers(path), 5.0), m.stderr_tail())
        self.assertEqual(control(path, {"method": "health"})["result"]["mcpbraid"]["pid"], m.pid)
        self.assertEqual(stat.S_IMODE(os.lstat(path).st_mode), 0o600)
        wait_stderr(m, "event=control.listen path=%s" % path)
        self.assertNotIn("control.listen_failed", m.stderr)

    def test_answering_socket_is_not_stolen(self):
        path = os.path.join(self.xdg, "busy.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(path)
        listener.listen(8)
        m = self.start({"a": fixture("a")}, args=["--control-socket", path], wait_socket=False)
        self.assertTrue(wait_until(lambda: "event=control.listen_failed" in m.stderr, 5.0),
                        m.stderr_tail())
        failed = stderr_lines(m, "control.listen_failed")[0]
        self.assertIn(path, failed)
        self.assertRegex(failed, r"\berror\b")
        # It still serves MCP.
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "still"})), "still")
        # Our listener still owns the path.
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(c.close)
        c.connect(path)
        listener.settimeout(2)
        conn, _ = listener.accept()   # (the first one may be mcpbraid's own check)
        conn.close()
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode),
                        "mcpbraid removed a socket it did not create")

        # A path that is not a socket is left alone too.
        plain = os.path.join(self.xdg, "plain.sock")
        with open(plain, "w") as f:
            f.write("keep me")
        m2 = self.start({"a": fixture("a")}, args=["--control-socket", plain], wait_socket=False)
        self.assertTrue(wait_until(lambda: "event=control.listen_failed" in m2.stderr, 5.0),
                        m2.stderr_tail())
        self.assertIn("not a socket", stderr_lines(m2, "control.listen_failed")[0])
        self.assertEqual(tool_text(m2.call_tool("a__echo", {"text": "ok"})), "ok")
        m2.close_stdin()
        self.assertEqual(m2.wait_exit(10), 0)
        with open(plain) as f:
            self.assertEqual(f.read(), "keep me")

    def test_wire_protocol(self):
        m = self.start({"a": fixture("a")})
        path = self.sock(m)
        health = control(path, {"method": "health"})
        self.assertEqual(set(health), {"result"})
        self.assertEqual(set(health["result"]), {"mcpbraid", "healthy", "config", "backends"})
        self.assertEqual(health["result"]["config"], {"path": m.config_path, "last_reload": None})
        self.assertEqual(list(health["result"]["backends"]), ["a"])
        servers = control(path, {"method": "list_servers"})
        self.assertEqual([s["name"] for s in servers["result"]["servers"]], ["a"])
        unknown = control(path, {"method": "bogus"})
        self.assertEqual(set(unknown), {"error"}, unknown)
        self.assertIsInstance(unknown["error"]["message"], str)
        self.assertIn("bogus", unknown["error"]["message"])
        for garbage in (b"hello\n", b"[1,2]\n", b'{"method": 5}\n', b"{}\n", b"\xff\xfe\n",
                        b"\n"):
            with self.subTest(garbage=garbage):
                raw = control_raw(path, garbage)
                self.assertTrue(raw.endswith(b"\n") and raw.count(b"\n") == 1, raw)
                answer = json.loads(raw)
                self.assertEqual(set(answer), {"error"}, answer)
                self.assertIsInstance(answer["error"]["message"], str)
        # A request that arrives in pieces is read up to its newline.
        raw = control_raw(path, None, chunks=[b'{"meth', b'od":"health"}\n'])
        self.assertEqual(json.loads(raw)["result"]["mcpbraid"]["pid"], m.pid)
        # An oversized line (no newline within 64 KiB) is dropped without an answer
        # (closed, possibly with a reset since the rest was never read).
        try:
            self.assertEqual(control_raw(path, b"x" * 70000), b"")
        except (ConnectionResetError, BrokenPipeError):
            pass
        # The gateway is unharmed.
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "fine"})), "fine")
        self.assertEqual(control(path, {"method": "health"})["result"]["mcpbraid"]["pid"], m.pid)

    def test_peer_with_another_uid_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to connect from another uid (setuid %d)" % NOBODY)
        # A directory others may traverse, so that only the peer check stands in the way.
        path = os.path.join(self.tempdir(0o755), "ctl.sock")
        m = self.start({"a": fixture("a")}, args=["--control-socket", path], wait_socket=False)
        self.assertTrue(wait_until(lambda: socket_answers(path), 5.0), m.stderr_tail())
        os.chmod(path, 0o666)
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become nobody, connect, ask, report what came back
            code = 1
            try:
                os.close(rfd)
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                try:
                    s.connect(path)
                except OSError as e:
                    os.write(wfd, ("connect-failed %r" % e).encode())
                    os._exit(1)
                data = b""
                try:
                    s.sendall(b'{"method":"health"}\n')
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except socket.timeout:
                    os.write(wfd, b"timeout")
                    os._exit(1)
                except (ConnectionResetError, BrokenPipeError):
                    pass  # closed on us: that is a refusal too
                os.write(wfd, b"closed " + data[:300])
                code = 0
            except BaseException as e:  # noqa: B902
                try:
                    os.write(wfd, ("exception %r" % e).encode())
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(wfd)
        report = b""
        while True:
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            report += chunk
        os.close(rfd)
        os.waitpid(pid, 0)
        self.assertEqual(report, b"closed ", "uid %d got: %r" % (NOBODY, report))
        self.assertTrue(wait_until(lambda: "event=control.refused" in m.stderr, 3.0),
                        m.stderr_tail())
        refused = stderr_lines(m, "control.refused")[0]
        self.assertEqual(line_field(refused, "peer_uid"), str(NOBODY), refused)
        # Our own uid is still served through the same (now 0666) socket.
        self.assertEqual(control(path, {"method": "health"})["result"]["mcpbraid"]["pid"], m.pid)


# --------------------------------------------------------------------------- 2. mcpbraid health


class LiveHealth(HealthCase):

    def test_all_ready(self):
        m = self.start({"a": fixture("a"),
                        "b": fixture("b", "--extra-tools", "5", "--stderr-lines", "3")})
        names = [t["name"] for t in m.result("tools/list")["tools"]]
        self.assertEqual(len(names), 2 * len(FIXTURE_TOOLS) + 5 + len(GATEWAY_TOOLS))
        pid_a, pid_b = m.stats("a")["pid"], m.stats("b")["pid"]
        rc, before = self.snapshot(m)
        for i in range(3):
            self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "x%d" % i})), "x%d" % i)
        rc, s = self.snapshot(m)
        self.assertEqual(rc, 0, s)
        self.assertIs(s["healthy"], True)
        version = subprocess.run([MCPBRAID, "--version"], capture_output=True).stdout.decode()
        self.assertEqual("mcpbraid " + s["mcpbraid"]["version"], version.strip())
        self.assertEqual(s["mcpbraid"]["config"], m.config_path)
        self.assertGreater(s["mcpbraid"]["uptime_s"], 0)
        self.assertLess(s["mcpbraid"]["uptime_s"], 60)
        self.assertEqual(sorted(s["backends"]), ["a", "b"])
        for name, b in s["backends"].items():
            with self.subTest(backend=name):
                self.assertBackendFields(b)
                self.assertEqual(b["state"], "ready")
                self.assertEqual(b["circuit"], "closed")
                self.assertEqual(b["next_probe_ms"], 0)
                self.assertIsNone(b["restart_in_ms"])
                self.assertIs(b["healthy"], True)
                self.assertEqual(b["failures"], 0)
                self.assertEqual(b["consecutive_failures"], 0)
                self.assertEqual(b["restarts"], 0)
                self.assertEqual(b["in_flight"], 0)
                self.assertIsNone(b["last_error"])
                self.assertGreater(b["uptime_s"], 0)
                self.assertLessEqual(b["uptime_s"], s["mcpbraid"]["uptime_s"])
                lat = b["latency_ms"]
                self.assertGreater(lat["p50"], 0)
                self.assertLessEqual(lat["p50"], lat["p95"])
                self.assertLessEqual(lat["p95"], lat["p99"])
                self.assertLess(lat["p99"], 1000)
        a, b = s["backends"]["a"], s["backends"]["b"]
        self.assertEqual(a["pid"], pid_a)
        self.assertEqual(b["pid"], pid_b)
        self.assertEqual(a["tools"], len(FIXTURE_TOOLS))
        self.assertEqual(b["tools"], len(FIXTURE_TOOLS) + 5)
        # Exactly the three calls in between were counted (stats ran before `before`).
        self.assertEqual(a["successes"] - before["backends"]["a"]["successes"], 3)
        self.assertEqual(b["successes"], before["backends"]["b"]["successes"])
        self.assertGreaterEqual(b["successes"], 3)  # initialize, tools/list, stats at least
        self.assertEqual(a["stderr_tail"], [])
        self.assertEqual(b["stderr_tail"], ["fixture b stderr line %d" % i for i in (1, 2, 3)])

        # A call in flight is counted while it runs.
        slow = m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 600}})
        self.wait_backend(m, "a", lambda b: b["in_flight"] == 1, timeout=3)
        m.wait_response(slow, 5)
        self.assertEqual(self.snapshot(m)[1]["backends"]["a"]["in_flight"], 0)

        # The table says the same.
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("\x1b", r.out)
        self.assertFits80(r.out)
        self.assertIn("pid %d" % m.pid, r.out.splitlines()[0])
        rows = {line.split()[0]: line for line in r.out.splitlines()[2:] if line[:1] not in " "}
        # (+1: the slow call since the snapshot.)
        self.assertEqual(rows["a"].split()[1:5], ["ready", "closed", "ok", str(a["successes"] + 1)])
        self.assertTrue(rows["a"].rstrip().endswith(" %d" % len(FIXTURE_TOOLS)), rows["a"])
        self.assertIn("  pid %d " % pid_b, r.out)
        self.assertIn("  stderr: fixture b stderr line 3", r.out)
        self.assertColumnsAligned(r.out)

    def test_no_argument_form_finds_every_instance(self):
        m1 = self.start({"a": fixture("a")})
        m2 = self.start({"b": fixture("b")})
        # Sockets left by instances that died (SIGKILL; a pid that is gone) are
        # removed on the way, and are not errors.
        m3 = self.start({"c": fixture("c")})
        killed = self.sock(m3)
        m3.signal(signal.SIGKILL)
        m3.wait_exit(5)
        self.assertTrue(os.path.lexists(killed), "SIGKILL cannot clean up")
        dead = os.path.join(self.xdg, "mcpbraid", "%d.sock" % dead_pid())
        stale_socket(dead)
        r = self.health("--json")
        self.assertIn(r.rc, (0, 1), r)
        snaps = r.json()
        by_pid = {s["mcpbraid"]["pid"]: s for s in snaps}
        self.assertIn(m1.pid, by_pid, r)
        self.assertIn(m2.pid, by_pid, r)
        self.assertEqual(list(by_pid[m1.pid]["backends"]), ["a"])
        self.assertEqual(list(by_pid[m2.pid]["backends"]), ["b"])
        self.assertTrue(by_pid[m1.pid]["healthy"] and by_pid[m2.pid]["healthy"])
        pids = [s["mcpbraid"]["pid"] for s in snaps]
        self.assertEqual(pids, sorted(pids), "oldest instance (lowest pid) first")
        # (Other test files' instances may show up from /tmp/mcpbraid-<uid>.)
        self.assertEqual(r.rc, 0 if all(s["healthy"] for s in snaps) else 1, r)
        self.assertNotIn(m3.pid, by_pid)
        self.assertFalse(os.path.lexists(killed), "the killed instance's socket was not removed")
        self.assertFalse(os.path.lexists(dead), "the dead instance's socket was not removed")
        self.assertNotIn(os.path.basename(dead), r.err)
        self.assertNotIn(os.path.basename(killed), r.err)
        # The table form: one table per instance, separated by a blank line.
        r = self.health()
        self.assertIn(r.rc, (0, 1), r)
        firsts = [l for l in r.out.splitlines() if l.startswith("mcpbraid ")]
        self.assertTrue(any("pid %d " % m1.pid in l for l in firsts), r)
        self.assertTrue(any("pid %d " % m2.pid in l for l in firsts), r)
        self.assertEqual(r.out.count("\n\nmcpbraid "), len(firsts) - 1, r)

    def test_circuit_open(self):
        srv = with_keys(fixture("a", "--hang-calls", "10"), failsafe={
            "timeout": "200ms",
            "circuit_breaker": {"failure_threshold": 3, "reset_timeout": "30s"}})
        m = self.start({"a": srv, "b": fixture("b")})
        ids = [m.request("tools/call", {"name": "a__add", "arguments": {"a": 1, "b": 2}})
               for _ in range(3)]
        for rid in ids:
            self.assertTrue(m.wait_response(rid, 5)["result"]["isError"])
        rc, s = self.snapshot(m)
        self.assertEqual(rc, 1, s)
        self.assertIs(s["healthy"], False)
        a = s["backends"]["a"]
        self.assertEqual(a["circuit"], "open")
        self.assertGreater(a["next_probe_ms"], 25000)
        self.assertLessEqual(a["next_probe_ms"], 30000)
        self.assertIs(a["healthy"], False)
        self.assertEqual(a["failures"], 3)
        self.assertEqual(a["consecutive_failures"], 3)
        self.assertEqual(a["state"], "ready", "the child itself is still running")
        self.assertIsInstance(a["pid"], int)
        self.assertIsNotNone(a["last_error"])
        self.assertRegex(a["last_error"], r"timeout|no answer")
        self.assertEqual(a["in_flight"], 0)
        b = s["backends"]["b"]
        self.assertEqual((b["state"], b["circuit"], b["healthy"]), ("ready", "closed", True))
        # Table: the row says open (with the time to the probe) and sick.
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 1, r)
        row = [l for l in r.out.splitlines() if l.startswith("a ")][0]
        self.assertRegex(row, r"^a\s+ready\s+open \d+s\s+sick\s+\d+\s+3\s")
        self.assertIn("last error: ", r.out)
        self.assertFits80(r.out)
        self.assertColumnsAligned(r.out)
        # Prometheus.
        r = self.health("--socket", self.sock(m), "--format", "prometheus")
        self.assertEqual(r.rc, 1, r)
        self.assertIn('mcpbraid_backend_circuit{instance="%d",server="a",circuit="open"} 1'
                      % m.pid, r.out.splitlines())
        self.assertIn('mcpbraid_backend_healthy{instance="%d",server="a"} 0' % m.pid,
                      r.out.splitlines())

    def test_backoff_after_crash(self):
        srv = with_keys(fixture("a"), restart={"initial_backoff": "20s", "max_backoff": "30s"})
        m = self.start({"a": srv, "b": fixture("b")})
        msg = m.call("tools/call", {"name": "a__crash", "arguments": {}})
        self.assertTrue(msg["result"]["isError"], msg)
        self.wait_backend(m, "a", lambda b: b["state"] == "backoff", timeout=3)
        rc, s = self.snapshot(m)
        self.assertEqual(rc, 1, s)
        self.assertIs(s["healthy"], False)
        a = s["backends"]["a"]
        self.assertEqual(a["state"], "backoff")
        self.assertIsInstance(a["restart_in_ms"], int)
        self.assertGreater(a["restart_in_ms"], 0)
        self.assertLessEqual(a["restart_in_ms"], 30000)
        self.assertIsNone(a["pid"])
        self.assertIsNone(a["uptime_s"])
        self.assertRegex(a["last_error"] or "", r"exit.*\b7\b", "last_error should say it exited "
                         "with status 7: %r" % a["last_error"])
        self.assertGreaterEqual(a["failures"], 1)
        self.assertEqual(s["backends"]["b"]["state"], "ready")
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.out, r"\n a?\s*pid -  up -  restarts 0 .*restart in \d+s")
        self.assertFits80(r.out)

    def test_failed_after_restarts_and_missing_command(self):
        flappy = with_keys(fixture("f", "--exit-after-ms", "100"), restart={
            "initial_backoff": "20ms", "max_backoff": "50ms", "max_restarts": 2,
            "window": "30s"})
        m = self.start({"f": flappy, "ghost": {"command": MISSING}, "ok": fixture("ok")})
        self.wait_backend(m, "f", lambda b: b["state"] == "failed", timeout=8)
        rc, s = self.snapshot(m)
        self.assertEqual(rc, 1, s)
        self.assertIs(s["healthy"], False)
        f, ghost, ok = (s["backends"][n] for n in ("f", "ghost", "ok"))
        self.assertEqual(f["state"], "failed")
        self.assertEqual(f["restarts"], 2)
        self.assertIsNone(f["pid"])
        self.assertIsNone(f["restart_in_ms"])
        self.assertTrue(f["last_error"], f)
        self.assertEqual(ghost["state"], "failed")
        self.assertIsNone(ghost["pid"])
        self.assertEqual(ghost["restarts"], 0)
        self.assertEqual(ghost["failures"], 1, "a spawn failure counts as a failure")
        self.assertIn(MISSING, ghost["last_error"])
        self.assertIn("No such file", ghost["last_error"])
        self.assertEqual((ok["state"], ok["healthy"]), ("ready", True))
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("last error: cannot start " + MISSING, r.out)

    def test_stderr_tail_keeps_the_last_lines(self):
        # The snapshot keeps at most 20 lines per backend, oldest first; the table 3.
        m = self.start({"a": fixture("a", "--stderr-lines", "25")})
        a = self.wait_backend(m, "a", lambda b: b["stderr_tail"][-1:] ==
                              ["fixture a stderr line 25"], timeout=3)
        self.assertEqual(a["stderr_tail"], ["fixture a stderr line %d" % i for i in range(6, 26)])
        r = self.health("--socket", self.sock(m))
        self.assertEqual([l for l in r.out.splitlines() if "stderr:" in l],
                         ["  stderr: fixture a stderr line %d" % i for i in (23, 24, 25)])

    NON_UTF8 = r"printf 'bad \377\376 bytes\n' >&2;"

    def test_non_utf8_stderr_in_snapshot(self):
        m = self.start({"j": shell_server(self.NON_UTF8, "j", "--stderr-lines", "1")})
        self.assertTrue(wait_until(lambda: "fixture j stderr line 1" in m.stderr, 3.0),
                        m.stderr_tail())
        # The MCP side replaces the bad bytes.
        tail = m.result("gateway_health")["backends"]["j"]["stderr_tail"]
        self.assertEqual(tail, ["bad \ufffd\ufffd bytes", "fixture j stderr line 1"])
        # So must the control socket, and mcpbraid must survive the question.
        raw = control_raw(self.sock(m), b'{"method":"health"}\n')
        if not raw:
            wait_until(lambda: not m.running(), 2.0)
            self.fail("the control socket closed without an answer; mcpbraid %s\n%s"
                      % ("is still running" if m.running() else
                         "died with status %s" % m.proc.returncode, m.stderr_tail(5)))
        self.assertTrue(raw.endswith(b"\n"), "no answer: %r" % raw)
        answer = json.loads(raw.decode("utf-8"))
        self.assertEqual(answer["result"]["backends"]["j"]["stderr_tail"], tail)
        r = self.health("--socket", self.sock(m), "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()[0]["backends"]["j"]["stderr_tail"], tail)
        self.assertEqual(m.result("ping"), {})

    def test_non_utf8_stderr_in_probe_json(self):
        cfg = self.temp_config(mcptest.config_doc(
            {"j": shell_server(self.NON_UTF8, "j")}))
        r = self.health("--probe", "-c", cfg, "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()[0]["backends"]["j"]["stderr_tail"], ["bad \ufffd\ufffd bytes"])

    def test_timeout_covers_a_full_backlog(self):
        # An instance whose loop is stuck stops accepting; once its listen backlog
        # is full, connect() blocks.  --timeout must still bound `mcpbraid health`.
        path = os.path.join(self.xdg, "stuck.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(path)
        listener.listen(0)
        held = []
        while True:  # fill the backlog (never accepted)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            self.addCleanup(c.close)
            try:
                c.connect(path)
            except BlockingIOError:
                break
            held.append(c)
            self.assertLess(len(held), 64, "could not fill the backlog")
        try:
            r = self.health("--socket", path, "--timeout", "300", timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("mcpbraid health --timeout 300 still blocked after 5 s in connect() "
                      "on a socket whose backlog is full")
        self.assertEqual(r.rc, 2, r)
        self.assertLess(r.elapsed, 2.0)
        self.assertIn(path, r.err)

    def test_unreachable_and_usage_errors(self):
        r = self.health("--socket", "/nonexistent/mcpbraid.sock")
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "")
        self.assertIn("/nonexistent/mcpbraid.sock", r.err)
        # A socket file nobody listens on.
        dead = os.path.join(self.xdg, "dead.sock")
        stale_socket(dead)
        r = self.health("--socket", dead, "--json")
        self.assertEqual((r.rc, r.out), (2, ""), r)
        self.assertIn(dead, r.err)
        # A socket that accepts but never answers: --timeout bounds the wait.
        mute = os.path.join(self.xdg, "mute.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(listener.close)
        listener.bind(mute)
        listener.listen(4)
        r = self.health("--socket", mute, "--timeout", "300")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("300 ms", r.err)
        self.assertLess(r.elapsed, 2.0)
        # No instance at all: run as another user whose fallback directory
        # (/tmp/mcpbraid-<uid>) no test uses, with an empty private XDG_RUNTIME_DIR.
        if os.geteuid() == 0:
            empty = self.tempdir()
            os.chown(empty, NOBODY, NOBODY)
            r = self.health(env={"XDG_RUNTIME_DIR": empty}, user=NOBODY, group=NOBODY)
        else:
            empty = self.xdg
            r = self.health()
        if r.rc != 2 and os.geteuid() != 0:
            self.skipTest("instances of other tests visible in /tmp/mcpbraid-%d" % os.geteuid())
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.out, "")
        self.assertIn("no running mcpbraid instance", r.err)
        self.assertIn(os.path.join(empty, "mcpbraid"), r.err)
        # Usage errors.
        for args in (["--format", "xml"], ["--json", "--format", "prometheus"],
                     ["--config", "x.json"], ["--probe", "--socket", dead],
                     ["--timeout", "0"], ["--bogus"]):
            with self.subTest(args=args):
                r = self.health(*args)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "", r)
                self.assertTrue(r.err.strip(), r)


# --------------------------------------------------------------------------- 3. table, colour, Prometheus


class Rendering(HealthCase):

    def run_pty(self, m, env=None, args=()):
        """`mcpbraid health --socket` with stdout on a pseudo-terminal; returns (rc, text)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([MCPBRAID, "health", "--socket", self.sock(m), *args],
                                stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=subprocess.PIPE, env=self.full_env(env))
        os.close(slave)
        data = b""
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    if proc.poll() is not None and not select.select([master], [], [], 0)[0]:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the other side is closed
                    break
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(master)
        rc = proc.wait(10)
        proc.stderr.close()
        return rc, data.decode("utf-8").replace("\r\n", "\n")

    def test_table_fits_80_columns(self):
        long_name = "s" + "x" * 50
        servers = {long_name: fixture(long_name, "--stderr-lines", "2"),
                   "ghost": {"command": "/nonexistent/" + "d" * 120},
                   "ok": fixture("ok")}
        m = self.start(servers)
        m.result("tools/list")
        self.wait_backend(m, long_name, lambda b: len(b["stderr_tail"]) == 2, timeout=3)
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 1, r)
        self.assertNotIn("\x1b", r.out, "colour on a pipe")
        self.assertFits80(r.out)
        lines = r.out.splitlines()
        self.assertTrue(lines[1].startswith("SERVER"), r.out)
        self.assertTrue(any(l.startswith(long_name[:12] + "~ ready") for l in lines), r.out)
        errors = [l for l in lines if l.startswith("  last error: cannot start /nonexistent/ddd")]
        self.assertEqual(len(errors), 1, r.out)
        self.assertTrue(errors[0].endswith("~"), "a cut line is marked: %r" % errors[0])
        self.assertEqual(len([l for l in lines if l.startswith("  stderr: fixture sxxx")]), 2)
        self.assertColumnsAligned(r.out)
        # The gateway_health tool's text is the same table, uncoloured.
        text = tool_text(m.call_tool("gateway_health"))
        self.assertFits80(text, "gateway_health text")
        self.assertNotIn("\x1b", text)

    def test_no_servers(self):
        m = self.start({})
        rc, s = self.snapshot(m)
        self.assertEqual((rc, s["healthy"], s["backends"]), (0, True, {}))
        r = self.health("--socket", self.sock(m))
        self.assertEqual(r.rc, 0, r)
        self.assertIn("(no servers configured)", r.out)
        r = self.health("--socket", self.sock(m), "--format", "prometheus")
        self.assertEqual(r.rc, 0, r)
        self.assertIn('mcpbraid_uptime_seconds{instance="%d"} ' % m.pid, r.out)
        self.assertEqual(m.call_tool("gateway_list_servers")["structuredContent"], {"servers": []})
        self.assertEqual(tool_text(m.call_tool("gateway_list_servers")).strip(),
                         "no servers configured")

    def test_colour_on_a_terminal_only(self):
        m = self.start({"a": fixture("a"), "ghost": {"command": MISSING}})
        rc, out = self.run_pty(m)
        self.assertEqual(rc, 1, out)
        self.assertIn("\x1b[32m", out, "ready should be green on a terminal: %r" % out)
        self.assertIn("\x1b[31m", out, "failed should be red on a terminal: %r" % out)
        self.assertIn("\x1b[0m", out)
        self.assertFits80(ANSI.sub("", out), "table on a terminal (escapes removed)")
        self.assertColumnsAligned(out)
        for env in ({"NO_COLOR": "1"}, {"NO_COLOR": "yes"}):
            with self.subTest(env=env):
                rc, out = self.run_pty(m, env)
                self.assertEqual(rc, 1, out)
                self.assertNotIn("\x1b", out)
                self.assertIn("ghost", out)
        # An empty NO_COLOR does not count (no-color.org).
        rc, out = self.run_pty(m, {"NO_COLOR": ""})
        self.assertIn("\x1b[32m", out)
        # JSON and Prometheus are never coloured, not even on a terminal.
        for args in (["--json"], ["--format", "prometheus"]):
            with self.subTest(args=args):
                rc, out = self.run_pty(m, args=args)
                self.assertEqual(rc, 1, out)
                self.assertNotIn("\x1b", out)
                self.assertIn("ghost", out)

    def test_prometheus(self):
        m = self.start({"x": fixture("x"), "ghost": {"command": MISSING}})
        for i in range(2):
            m.call_tool("x__echo", {"text": str(i)})
        rc, s = self.snapshot(m)
        r = self.health("--socket", self.sock(m), "--format", "prometheus")
        self.assertEqual(r.rc, 1, r)   # ghost failed
        self.assertTrue(r.out.endswith("\n"))
        lines = r.out.splitlines()
        helps, types, first_sample, seen = {}, {}, {}, []
        for i, line in enumerate(lines):
            if line.startswith("# HELP "):
                name = line.split()[2]
                self.assertTrue(line.split(None, 3)[3:], "empty HELP: %r" % line)
                helps[name] = i
            elif line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                self.assertIn(kind, ("gauge", "counter"), line)
                types[name] = i
            else:
                match = PROM_SAMPLE.match(line)
                self.assertTrue(match, "not a Prometheus sample line: %r" % line)
                first_sample.setdefault(match.group(1), i)
                seen.append(line)
        self.assertTrue(seen)
        for name, at in first_sample.items():
            self.assertIn(name, helps, "no # HELP for %s" % name)
            self.assertIn(name, types, "no # TYPE for %s" % name)
            self.assertLess(types[name], at, "# TYPE %s after its first sample" % name)
            if name.endswith("_total"):
                self.assertEqual(lines[types[name]].split()[3], "counter", name)
        label = 'instance="%d",server="x"' % m.pid
        self.assertIn('mcpbraid_backend_state{%s,state="ready"} 1' % label, lines)
        self.assertIn('mcpbraid_backend_state{%s,state="failed"} 0' % label, lines)
        self.assertIn('mcpbraid_backend_state{instance="%d",server="ghost",state="failed"} 1'
                      % m.pid, lines)
        self.assertIn('mcpbraid_backend_circuit{%s,circuit="closed"} 1' % label, lines)
        x = s["backends"]["x"]
        self.assertIn('mcpbraid_backend_requests_total{%s,outcome="success"} %d'
                      % (label, x["successes"]), lines)
        self.assertIn('mcpbraid_backend_tools{%s} %d' % (label, len(FIXTURE_TOOLS)), lines)
        self.assertIn('mcpbraid_backend_restarts_total{%s} 0' % label, lines)
        p50 = [l for l in lines if l.startswith('mcpbraid_backend_latency_seconds{%s,quantile="0.5"}'
                                                % label)]
        self.assertEqual(len(p50), 1, lines)
        self.assertAlmostEqual(float(p50[0].split()[-1]), x["latency_ms"]["p50"] / 1000,
                               delta=x["latency_ms"]["p50"] / 1000 * 1e-3)
        self.assertTrue(any(l.startswith('mcpbraid_uptime_seconds{instance="%d"} ' % m.pid)
                            for l in lines))


# --------------------------------------------------------------------------- 4. --probe


class Probe(HealthCase):

    def setUp(self):
        super().setUp()
        self.probe_marker = "probe-marker-%d-%d" % (os.getpid(), time.monotonic_ns())

    def server(self, name, *flags):
        return fixture(name, *flags, fixture_name="%s-%s" % (self.probe_marker, name))

    def assertNoProbeChildren(self):
        p = subprocess.run(["pgrep", "-f", self.probe_marker], capture_output=True)
        self.assertEqual(p.returncode, 1, "children left running: %s" % p.stdout.decode())

    def test_probe_good_config(self):
        cfg = self.temp_config(mcptest.config_doc(
            {"p": self.server("p"), "q": self.server("q", "--extra-tools", "3")}))
        r = self.health("--probe", "-c", cfg, "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertNoProbeChildren()
        snaps = r.json()
        self.assertEqual(len(snaps), 1, r)
        s = snaps[0]
        self.assertIs(s["healthy"], True)
        self.assertEqual(s["mcpbraid"]["config"], cfg)
        self.assertEqual(sorted(s["backends"]), ["p", "q"])
        for name, tools in (("p", len(FIXTURE_TOOLS)), ("q", len(FIXTURE_TOOLS) + 3)):
            with self.subTest(backend=name):
                b = s["backends"][name]
                self.assertBackendFields(b)
                self.assertEqual(b["state"], "ready")
                self.assertEqual(b["circuit"], "closed")
                self.assertEqual(b["tools"], tools)
                self.assertEqual(b["successes"], 3, "initialize, tools/list, ping")
                self.assertEqual(b["failures"], 0)
                self.assertIsNone(b["last_error"])
                self.assertIsInstance(b["pid"], int)
                self.assertNotEqual(b["pid"], s["mcpbraid"]["pid"])
                self.assertGreater(b["latency_ms"]["p50"], 0)
        # With every trace line on, stdout still holds only the JSON.
        r = self.health("--probe", "-c", cfg, "--json", env={"MCPBRAID_LOG": "debug"})
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(sorted(r.json()[0]["backends"]), ["p", "q"])
        self.assertIn("event=backend.spawn", r.err)
        # The table, and the config found through $MCPBRAID_CONFIG.
        r = self.health("--probe", env={"MCPBRAID_CONFIG": cfg})
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.out, r"\np\s+ready\s+closed\s+ok\s+3\s+0\s")
        self.assertFits80(r.out)
        self.assertNoProbeChildren()

    def test_probe_missing_command(self):
        cfg = self.temp_config(mcptest.config_doc(
            {"good": self.server("good"), "ghost": {"command": MISSING}}))
        r = self.health("--probe", "-c", cfg, "--json")
        self.assertEqual(r.rc, 1, r)
        self.assertNoProbeChildren()
        s = r.json()[0]
        self.assertIs(s["healthy"], False)
        self.assertEqual(s["backends"]["good"]["state"], "ready")
        ghost = s["backends"]["ghost"]
        self.assertEqual(ghost["state"], "failed")
        self.assertIn(MISSING, ghost["last_error"])
        self.assertIsNone(ghost["tools"])

    def test_probe_exit_during_initialize_and_disabled(self):
        cfg = self.temp_config(mcptest.config_doc({
            "early": self.server("early", "--exit-after-ms", "20", "--start-delay-ms", "300"),
            "off": with_keys(self.server("off"), disabled=True)}))
        r = self.health("--probe", "-c", cfg, "--json")
        self.assertEqual(r.rc, 1, r)
        self.assertNoProbeChildren()
        s = r.json()[0]
        self.assertEqual(list(s["backends"]), ["early"], "a disabled server is not probed")
        early = s["backends"]["early"]
        self.assertEqual(early["state"], "failed")
        self.assertEqual(early["last_error"], "initialize failed: exited with status 3")
        self.assertEqual(early["failures"], 1)
        self.assertIsNone(early["pid"])
        self.assertIn("--exit-after-ms elapsed", " ".join(early["stderr_tail"]))

    def test_probe_initialize_never_answered(self):
        cfg = self.temp_config(mcptest.config_doc(
            {"good": self.server("good"), "mute": self.server("mute", "--no-init-response")}))
        r = self.health("--probe", "-c", cfg, "--timeout", "500", "--json")
        self.assertEqual(r.rc, 1, r)
        self.assertLess(r.elapsed, 4.0, "--timeout 500 should bound the probe")
        self.assertNoProbeChildren()
        s = r.json()[0]
        self.assertEqual(s["backends"]["good"]["state"], "ready")
        mute = s["backends"]["mute"]
        self.assertEqual(mute["state"], "failed")
        self.assertRegex(mute["last_error"] or "", r"initialize")
        self.assertRegex(mute["last_error"] or "", r"timeout|no answer|500")
        self.assertIsNone(mute["tools"])

    def test_probe_invalid_config(self):
        bad_json = self.temp_config("{not json")
        no_command = self.temp_config(mcptest.config_doc({"a": {"args": []}}))
        for path in (bad_json, no_command, "/nonexistent/mcpbraid-health.json"):
            with self.subTest(path=path):
                r = self.health("--probe", "-c", path)
                self.assertEqual(r.rc, 2, r)
                self.assertEqual(r.out, "")
                self.assertIn(path, r.err)


# --------------------------------------------------------------------------- 5. gateway tools


class GatewayTools(HealthCase):

    def test_tools_listed_and_called(self):
        m = self.start({"a": fixture("a"), "ghost": {"command": MISSING}})
        tools = m.result("tools/list")["tools"]
        names = [t["name"] for t in tools]
        self.assertEqual(names[-2:], GATEWAY_TOOLS)
        self.assertEqual(len(names), len(FIXTURE_TOOLS) + 2)
        for tool in tools[-2:]:
            self.assertEqual(tool["inputSchema"]["type"], "object")
            self.assertIs(tool["annotations"]["readOnlyHint"], True)
            self.assertTrue(tool["description"])

        result = m.call_tool("gateway_list_servers")
        self.assertIs(result["isError"], False)
        self.assertEqual(result["content"][0]["type"], "text")
        text = tool_text(result)
        self.assertIn("a: ready, circuit closed, %d tools" % len(FIXTURE_TOOLS), text)
        self.assertIn("ghost: failed", text)
        self.assertIn("last error: cannot start " + MISSING, text)
        servers = result["structuredContent"]["servers"]
        self.assertEqual([s["name"] for s in servers], ["a", "ghost"])
        a, ghost = servers
        for s in servers:
            self.assertTrue({"name", "state", "circuit", "tools", "last_error"} <= set(s), s)
        self.assertEqual((a["state"], a["circuit"], a["tools"], a["last_error"]),
                         ("ready", "closed", len(FIXTURE_TOOLS), None))
        self.assertEqual((ghost["state"], ghost["tools"]), ("failed", None))
        self.assertIn(MISSING, ghost["last_error"])

        result = m.call_tool("gateway_health")
        self.assertIs(result["isError"], False)
        self.assertEqual(result["content"][0]["type"], "text")
        self.assertTrue(tool_text(result).startswith("mcpbraid "), tool_text(result))
        self.assertIn("SERVER", tool_text(result))
        snap = result["structuredContent"]
        self.assertEqual(snap["mcpbraid"]["pid"], m.pid)
        self.assertIs(snap["healthy"], False)
        self.assertEqual(sorted(snap["backends"]), ["a", "ghost"])
        self.assertBackendFields(snap["backends"]["a"])
        self.assertEqual(snap["backends"]["a"]["pid"], m.stats("a")["pid"])

        # The bare methods answer the same structures.
        bare = m.result("gateway_list_servers")
        self.assertEqual(bare, {"servers": servers})
        bare = m.result("gateway_health")
        self.assertEqual(set(bare), {"mcpbraid", "healthy", "config", "backends"})
        self.assertEqual(sorted(bare["backends"]), ["a", "ghost"])
        self.assertEqual(bare["backends"]["ghost"]["last_error"],
                         snap["backends"]["ghost"]["last_error"])
        # ... as does the control socket.
        self.assertEqual(control(self.sock(m), {"method": "list_servers"})["result"],
                         {"servers": servers})

    def test_bare_methods_before_initialize(self):
        m = self.start({"a": fixture("a")}, initialize=False)
        servers = m.result("gateway_list_servers")["servers"]
        self.assertEqual([s["name"] for s in servers], ["a"])
        self.assertIn(servers[0]["state"], ("starting", "ready"))
        snap = m.result("gateway_health")
        self.assertEqual(list(snap["backends"]), ["a"])
        self.assertEqual(snap["mcpbraid"]["pid"], m.pid)
        result = m.call_tool("gateway_health")
        self.assertIs(result["isError"], False)
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "piped"})), "piped")
        # A shell pipe: answered, then mcpbraid exits 0.
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a")}))
        rc, out, err, _, _ = self.oneshot(
            cfg, jsonl(req(1, "gateway_list_servers"), req(2, "gateway_health")))
        self.assertEqual(rc, 0, err)
        answers = {msg["id"]: msg for msg in mcptest.parse_stdout(out)}
        self.assertEqual(sorted(answers), [1, 2])
        self.assertEqual(answers[1]["result"]["servers"][0]["name"], "a")
        self.assertEqual(list(answers[2]["result"]["backends"]), ["a"])

    def test_gateway_tools_false(self):
        m = self.start({"a": fixture("a")}, extra_top={"gateway_tools": False})
        names = [t["name"] for t in m.result("tools/list")["tools"]]
        self.assertEqual(sorted(names), sorted("a__" + t for t in FIXTURE_TOOLS))
        for tool in GATEWAY_TOOLS:
            with self.subTest(tool=tool):
                msg = m.call("tools/call", {"name": tool, "arguments": {}})
                self.assertErrorCode(msg, -32602)
        # The bare methods still answer (implemented behaviour).
        self.assertEqual([s["name"] for s in m.result("gateway_list_servers")["servers"]], ["a"])
        self.assertEqual(list(m.result("gateway_health")["backends"]), ["a"])
        # A non-boolean is a config error.
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a")}, gateway_tools="no"))
        rc, out, err, _, _ = self.oneshot(cfg)
        self.assertEqual(rc, 2, err)
        self.assertIn("gateway_tools", err)


# --------------------------------------------------------------------------- 6. traces


class Traces(HealthCase):

    def request_ids(self, m):
        """{client id (as text): request_id} from the request.start lines."""
        out = {}
        for line in stderr_lines(m, "request.start"):
            out[line_field(line, "id")] = line_field(line, "request_id")
        return out

    def test_json_log_format(self):
        # A server whose stderr holds bytes that are not UTF-8, quotes, a backslash, a tab.
        script = (r"printf 'bad \377\376 bytes\n' >&2; "
                  r"""printf 'quote " back \\ tab \t end\n' >&2;""")
        m = self.start({"j": shell_server(script, "j", "--stderr-lines", "1"), "a": fixture("a")},
                       args=["--log-format", "json"], log_level="debug")
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "json"})), "json")
        # (Not through the control socket: see test_non_utf8_stderr_in_snapshot.)
        self.assertTrue(wait_until(lambda: "fixture j stderr line 1" in m.stderr, 3.0),
                        m.stderr_tail())
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        with m.cond:
            raw = bytes(m._stderr)
        text = raw.decode("utf-8")  # strict: every line must be valid UTF-8
        events = []
        for line in text.splitlines():
            try:
                obj = json.loads(line)
            except ValueError as e:
                self.fail("stderr line is not JSON (%s): %r" % (e, line))
            self.assertIsInstance(obj, dict, line)
            for key in ("ts", "level", "event"):
                self.assertIn(key, obj, line)
            self.assertRegex(obj["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
            self.assertIn(obj["level"], ("trace", "debug", "info", "warning", "error"), line)
            events.append(obj)
        kinds = {e["event"] for e in events}
        for event in ("gateway.start", "control.listen", "backend.spawn", "request.start",
                      "backend.response", "stderr", "gateway.exit"):
            self.assertIn(event, kinds)
        relayed = [e["line"] for e in events if e["event"] == "stderr" and e.get("server") == "j"]
        self.assertIn("bad \ufffd\ufffd bytes", relayed)
        self.assertIn('quote " back \\ tab \t end', relayed)
        self.assertIn("fixture j stderr line 1", relayed)
        spawn = [e for e in events if e["event"] == "backend.spawn" and e["server"] == "a"][0]
        self.assertIsInstance(spawn["pid"], int)

    def test_component_levels(self):
        m = self.start({"a": fixture("a")}, log_level="info,backend=debug")
        m.call_tool("a__echo", {"text": "x"})
        wait_stderr(m, "method=tools/call")
        responses = stderr_lines(m, "backend.response")
        self.assertTrue(any("method=tools/call" in l for l in responses), m.stderr)
        self.assertTrue(all(re.search(r"\bdebug\b", l) for l in responses))
        self.assertEqual(stderr_lines(m, "request.start"), [], "request stays at info")
        self.assertTrue(stderr_lines(m, "gateway.start"))
        # error, with the gateway at info: the start line but no spawn line.
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a")}))
        rc, out, err, _, _ = self.oneshot(cfg, log_level="error,gateway=info")
        self.assertEqual(rc, 0, err)
        self.assertIn("event=gateway.start", err)
        self.assertNotIn("event=backend.spawn", err)
        rc, out, err, _, _ = self.oneshot(cfg, log_level="off")
        self.assertEqual((rc, err), (0, ""))

    def test_request_id_on_backend_lines(self):
        m = self.start({"a": fixture("a")}, log_level="info,request=debug,backend=debug")
        rid = m.request("tools/call", {"name": "a__echo", "arguments": {"text": "corr"}})
        m.wait_response(rid)
        wait_stderr(m, "method=tools/call server=a latency_ms")
        request_id = self.request_ids(m).get(str(rid))
        self.assertTrue(request_id and re.match(r"^r\d+$", request_id), m.stderr)
        calls = [l for l in stderr_lines(m, "backend.response") if "method=tools/call" in l]
        self.assertEqual(len(calls), 1, m.stderr)
        self.assertEqual(line_field(calls[0], "request_id"), request_id,
                         "backend.response should carry the client request's request_id:\n"
                         + m.stderr_tail())

    def test_retry_lines_share_the_request_id(self):
        srv = with_keys(fixture("a", "--hang-calls", "1"), failsafe={
            "timeout": "300ms",
            "retry": {"max_attempts": 3, "initial_backoff": "20ms", "max_backoff": "100ms"}})
        m = self.start({"a": srv}, log_level="info,request=debug,backend=debug")
        rid = m.request("tools/call", {"name": "a__echo", "arguments": {"text": "again"}})
        msg = m.wait_response(rid, 5)
        self.assertEqual(tool_text(msg["result"]), "again")
        wait_stderr(m, "method=tools/call server=a latency_ms")
        request_id = self.request_ids(m).get(str(rid))
        self.assertTrue(request_id, m.stderr)
        retries = stderr_lines(m, "request.retry")
        self.assertEqual(len(retries), 1, m.stderr)
        self.assertEqual(line_field(retries[0], "request_id"), request_id)
        self.assertEqual(line_field(retries[0], "attempt"), "2")
        timeouts = stderr_lines(m, "request.timeout")
        self.assertEqual(len(timeouts), 1, m.stderr)
        self.assertEqual(line_field(timeouts[0], "request_id"), request_id,
                         "request.timeout should carry the request_id:\n" + m.stderr_tail())
        answers = [l for l in stderr_lines(m, "backend.response")
                   if line_field(l, "request_id") == request_id]
        self.assertEqual([line_field(l, "outcome") for l in answers], ["failure", "result"],
                         "both attempts' backend.response lines should carry the request_id:\n"
                         + m.stderr_tail())

    def test_unknown_component_or_level(self):
        cfg = self.temp_config(mcptest.config_doc({"a": fixture("a")}))
        rc, out, err, _, marker = self.oneshot(cfg, log_level="foo=debug")
        self.assertEqual((rc, out), (2, b""), err)
        self.assertIn("unknown component 'foo'", err)
        self.assertIn("--log-level", err)
        rc, out, err, _, _ = self.oneshot(cfg, log_level=None, env={"MCPBRAID_LOG": "info,foo=debug"})
        self.assertEqual((rc, out), (2, b""), err)
        self.assertIn("MCPBRAID_LOG", err)
        self.assertIn("'foo'", err)
        rc, out, err, _, _ = self.oneshot(cfg, log_level="backend=loud")
        self.assertEqual(rc, 2, err)
        self.assertIn("'loud'", err)
        r = subprocess.run([MCPBRAID, "--log-level", "foo=debug", "health"], capture_output=True,
                           env=self.full_env(), timeout=10)
        self.assertEqual(r.returncode, 2, r)
        self.assertIn(b"foo", r.stderr)

    STDERR_SCRIPT = "echo 'Error: boom' >&2; echo 'WARN disk almost full' >&2; " \
                    "echo 'plain line' >&2;"

    def relay_run(self, log_level):
        """A server printing an error, a warning and two ordinary lines on stderr;
        returns mcpbraid's stderr once all four went through the relay."""
        m = self.start({"x": shell_server(self.STDERR_SCRIPT, "x", "--stderr-lines", "1")},
                       log_level=log_level)
        self.wait_backend(m, "x", lambda b: len(b["stderr_tail"]) == 4, timeout=3)
        # Every relay line is written by now; a warning about bad client input,
        # written after them, tells when our reader has caught up.
        m.send_raw("not json\n")
        self.assertErrorCode(m.wait_response(None), -32700)
        wait_stderr(m, "event=client.bad_input")
        return [l for l in m.stderr.splitlines() if "event=stderr " in l]

    def test_stderr_relay_default_level(self):
        lines = self.relay_run(None)
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0], r'^\S+ error +event=stderr server=x line="Error: boom"$')
        self.assertRegex(lines[1], r'^\S+ warn(ing)? +event=stderr server=x '
                                   r'line="WARN disk almost full"$')

    def test_stderr_relay_debug(self):
        lines = self.relay_run("info,stderr=debug")
        self.assertEqual(len(lines), 4, lines)
        self.assertRegex(lines[2], r'^\S+ debug +event=stderr server=x line="plain line"$')
        self.assertRegex(lines[3], r'^\S+ debug +event=stderr server=x '
                                   r'line="fixture x stderr line 1"$')

    def test_stderr_relay_off(self):
        self.assertEqual(self.relay_run("info,stderr=off"), [])


if __name__ == "__main__":
    mcptest.main()
