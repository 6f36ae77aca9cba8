"""Shared helpers for the mcpbraid integration tests (Python 3 stdlib only).

A test starts the real `mcpbraid` binary in front of fixture servers
(tests/fixtures/fixture_server.cpp), talks JSON-RPC to it over pipes and checks
what comes back.  The pieces:

  fixture(name, *flags, ...)  a server entry for the config
  Mux                         one running mcpbraid: send, read responses by id,
                              collect notifications and server->client
                              requests, answer them, close stdin, wait for exit
  MuxTestCase                 a unittest.TestCase that cleans up every Mux it
                              started and checks that stdout carried nothing but
                              JSON-RPC lines and that no fixture was left running

Every Mux gets a unique marker in its environment (inherited by the fixtures),
so the processes it started can be found in /proc even after mcpbraid is gone.

Environment: MCPBRAID_BIN and MCPBRAID_FIXTURE (default: the build tree).
"""

import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

MCPBRAID = os.environ.get("MCPBRAID_BIN", "/work/main/build/mcpbraid")
FIXTURE = os.environ.get("MCPBRAID_FIXTURE", "/work/main/build/tests/mcpbraid_fixture")

LATEST_VERSION = "2025-11-25"
SUPPORTED_VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
MARKER_VAR = "MCPBRAID_ITEST_MARKER"

# The tool names every fixture offers (before prefixing).
# The gateway's own tools, listed after the backends' (unless "gateway_tools": false).
GATEWAY_TOOLS = ["gateway_list_servers", "gateway_health"]
FIXTURE_TOOLS = [
    "echo", "add", "slow", "fail", "crash", "ask_sampling", "ask_roots", "ask_elicit",
    "add_tool", "stats", "env", "cwd", "log",
]

_counter = itertools.count(1)


# --------------------------------------------------------------------------- config


def fixture(name, *flags, env=None, cwd=None, disabled=None, fixture_name=None):
    """A server entry running the fixture with --name <fixture_name or name>."""
    entry = {"command": FIXTURE, "args": ["--name", fixture_name or name, *flags]}
    if env is not None:
        entry["env"] = env
    if cwd is not None:
        entry["cwd"] = cwd
    if disabled is not None:
        entry["disabled"] = disabled
    return entry


def write_config(doc, directory=None):
    """Writes `doc` (a dict, or a str written verbatim) to a temp file; returns its path."""
    fd, path = tempfile.mkstemp(prefix="mcpbraid-itest-", suffix=".json", dir=directory)
    with os.fdopen(fd, "w") as f:
        if isinstance(doc, str):
            f.write(doc)
        else:
            json.dump(doc, f)
    return path


def config_doc(servers, **top):
    doc = {"mcpServers": servers}
    doc.update(top)
    return doc


# --------------------------------------------------------------------------- JSON-RPC checks


def check_jsonrpc_line(line):
    """Returns None if `line` (str, without newline) is one valid JSON-RPC 2.0 message,
    else a reason."""
    try:
        msg = json.loads(line)
    except ValueError as e:
        return "not JSON (%s)" % e
    if not isinstance(msg, dict):
        return "not a JSON object"
    if msg.get("jsonrpc") != "2.0":
        return "jsonrpc is not \"2.0\""
    if "method" in msg:
        if not isinstance(msg["method"], str):
            return "method is not a string"
        if "id" in msg and not isinstance(msg["id"], (str, int)):
            return "request id is not a string or integer"
        return None
    if "id" not in msg:
        return "neither a request, a notification nor a response"
    if ("result" in msg) == ("error" in msg):
        return "a response needs exactly one of result and error"
    if "error" in msg:
        err = msg["error"]
        if not isinstance(err, dict) or not isinstance(err.get("code"), int) or \
                not isinstance(err.get("message"), str):
            return "error must be {code: int, message: str}"
    return None


def parse_stdout(data):
    """Splits raw stdout bytes into messages; raises AssertionError on anything that
    is not a newline-terminated JSON-RPC line."""
    text = data.decode("utf-8")
    if text and not text.endswith("\n"):
        raise AssertionError("stdout does not end with a newline: %r" % text[-200:])
    messages = []
    for line in text.split("\n")[:-1] if text else []:
        reason = check_jsonrpc_line(line)
        if reason:
            raise AssertionError("stdout line is not JSON-RPC (%s): %r" % (reason, line[:300]))
        messages.append(json.loads(line))
    return messages


def id_key(value):
    """A key that keeps 1 and "1" apart."""
    return json.dumps(value, sort_keys=True)


def tool_text(result):
    """The concatenated text content of a CallToolResult."""
    parts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
    return "".join(parts)


# --------------------------------------------------------------------------- processes


def proc_state(pid):
    """The one-letter state of /proc/<pid>, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(")") + 2:].split()[0]


def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(")") + 2:].split()[1])


def pid_running(pid):
    """True if the process exists and is not a zombie."""
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X")


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pids_with_marker(marker, exclude=()):
    """Live processes whose environment contains MARKER_VAR=marker."""
    needle = ("%s=%s" % (MARKER_VAR, marker)).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in exclude or pid == os.getpid():
            continue
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env.split(b"\0") and pid_running(pid):
            found.append(pid)
    return found


def children_of(pid):
    """[(child pid, state)] of a process."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and proc_ppid(int(entry)) == pid:
            out.append((int(entry), proc_state(int(entry))))
    return out


def line_field(line, key):
    """The value of key=value in a text trace line ("" for key="")."""
    found = re.search(r'\b%s=("(?:[^"\\]|\\.)*"|\S*)' % re.escape(key), line)
    if not found:
        return None
    value = found.group(1)
    return json.loads(value) if value.startswith('"') else value


def wait_until(predicate, timeout, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------- the mcpbraid process


class Mux:
    """One running mcpbraid with pipes on stdin/stdout/stderr."""

    def __init__(self, servers=None, config=None, config_path=None, args=(), log_level="debug",
                 env=None, extra_top=None, cwd=None):
        if config_path is None:
            if config is None:
                config = config_doc(servers or {}, **(extra_top or {}))
            config_path = write_config(config)
            self._own_config = config_path
        else:
            self._own_config = None
        self.config_path = config_path
        self.marker = "%d-%d-%d" % (os.getpid(), next(_counter), time.monotonic_ns())
        full_env = dict(os.environ)
        full_env.pop("MCPBRAID_LOG", None)
        full_env[MARKER_VAR] = self.marker
        if env:
            full_env.update(env)
        cmd = [MCPBRAID]
        if log_level:
            cmd += ["--log-level", log_level]
        if config_path:
            cmd += ["-c", config_path]
        cmd += list(args)
        self.cmd = cmd
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=full_env, cwd=cwd)
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        self.raw_stdout = bytearray()
        self.lines = []            # every stdout line (str)
        self.messages = []         # every parsed message, in order, with arrival time
        self.bad_lines = []        # (line, reason)
        self.responses = {}        # id_key -> message
        self.response_times = {}   # id_key -> monotonic arrival
        self.response_counts = {}  # id_key -> how many responses with that id
        self.notifications = []    # (monotonic time, message)
        self.server_requests = []  # messages with method and id (server -> client)
        self._claimed_requests = 0
        self.stdout_closed = False
        self._stderr = bytearray()
        self._next_id = 1000
        self._stdin_closed = False
        self._out_thread = threading.Thread(target=self._read_stdout, daemon=True)
        self._err_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._out_thread.start()
        self._err_thread.start()

    # ----------------------------------------------------------- readers

    def _read_stdout(self):
        fd = self.proc.stdout.fileno()
        buf = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            with self.cond:
                self.raw_stdout.extend(chunk)
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                self._on_line(line.decode("utf-8", errors="replace"))
        with self.cond:
            if buf:
                self.bad_lines.append((buf.decode(errors="replace"), "unterminated last line"))
            self.stdout_closed = True
            self.cond.notify_all()

    def _on_line(self, line):
        now = time.monotonic()
        reason = check_jsonrpc_line(line)
        with self.cond:
            self.lines.append(line)
            if reason:
                self.bad_lines.append((line, reason))
                self.cond.notify_all()
                return
            msg = json.loads(line)
            self.messages.append((now, msg))
            if "method" in msg and "id" in msg:
                self.server_requests.append(msg)
            elif "method" in msg:
                self.notifications.append((now, msg))
            else:
                key = id_key(msg["id"])
                self.response_counts[key] = self.response_counts.get(key, 0) + 1
                self.responses.setdefault(key, msg)
                self.response_times.setdefault(key, now)
            self.cond.notify_all()

    def _read_stderr(self):
        fd = self.proc.stderr.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            with self.cond:
                self._stderr.extend(chunk)

    @property
    def stderr(self):
        with self.cond:
            return self._stderr.decode(errors="replace")

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr.splitlines()[-n:])

    def _fail(self, text):
        raise AssertionError("%s\n--- mcpbraid stderr (tail) ---\n%s" % (text, self.stderr_tail()))

    # ----------------------------------------------------------- writing

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail("mcpbraid closed its stdin while we were writing")

    def send(self, msg):
        self.send_raw(json.dumps(msg, separators=(",", ":")) + "\n")

    def new_id(self):
        self._next_id += 1
        return self._next_id

    def request(self, method, params=None, id=None):
        """Sends a request; returns its id."""
        if id is None:
            id = self.new_id()
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return id

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def respond(self, id, result):
        self.send({"jsonrpc": "2.0", "id": id, "result": result})

    def respond_error(self, id, code, message, data=None):
        err = {"code": code, "message": message}
        if data is not None:
            err["data"] = data
        self.send({"jsonrpc": "2.0", "id": id, "error": err})

    def close_stdin(self):
        if not self._stdin_closed:
            self._stdin_closed = True
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    # ----------------------------------------------------------- reading

    def wait_response(self, id, timeout=10.0):
        key = id_key(id)
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or (self.stdout_closed and key not in self.responses):
                    break
                self.cond.wait(min(left, 0.2))
            if key in self.responses:
                return self.responses[key]
        self._fail("no response for id %s within %.1fs (exit code %s)"
                   % (key, timeout, self.proc.poll()))

    def has_response(self, id):
        with self.cond:
            return id_key(id) in self.responses

    def response_count(self, id):
        with self.cond:
            return self.response_counts.get(id_key(id), 0)

    def call(self, method, params=None, timeout=10.0, id=None):
        """Sends a request and returns the whole response message."""
        return self.wait_response(self.request(method, params, id), timeout)

    def result(self, method, params=None, timeout=10.0, id=None):
        """Sends a request and returns its result (fails on an error response)."""
        msg = self.call(method, params, timeout, id)
        if "error" in msg:
            self._fail("%s %s answered with an error: %s" % (method, json.dumps(params), msg))
        return msg["result"]

    def error(self, method, params=None, timeout=10.0, id=None):
        """Sends a request and returns its error object (fails on a result)."""
        msg = self.call(method, params, timeout, id)
        if "error" not in msg:
            self._fail("%s %s should have failed but answered %s" % (method, json.dumps(params), msg))
        return msg["error"]

    def call_tool(self, name, arguments=None, timeout=10.0, meta=None, id=None):
        params = {"name": name, "arguments": arguments or {}}
        if meta is not None:
            params["_meta"] = meta
        return self.result("tools/call", params, timeout, id)

    def stats(self, server, timeout=10.0):
        """The fixture's `stats` (structuredContent) for server `server`."""
        return self.call_tool(server + "__stats", timeout=timeout)["structuredContent"]

    def initialize(self, version=LATEST_VERSION, capabilities=None, client_info=None,
                   initialized=True, timeout=10.0):
        params = {
            "protocolVersion": version,
            "capabilities": capabilities if capabilities is not None else {},
            "clientInfo": client_info or {"name": "mcpbraid-itest", "version": "1.0"},
        }
        result = self.result("initialize", params, timeout)
        if initialized:
            self.notify("notifications/initialized")
        return result

    def notifications_of(self, method):
        with self.cond:
            return [m for _, m in self.notifications if m.get("method") == method]

    def wait_notification(self, method, predicate=None, timeout=5.0, count=1):
        """Waits until `count` notifications of `method` matching `predicate` arrived;
        returns the list of the matching ones."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for _, m in self.notifications if m.get("method") == method and
                         (predicate is None or predicate(m))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self.stdout_closed:
                    break
                self.cond.wait(min(left, 0.2))
        self._fail("expected %d %s notification(s) within %.1fs, got %d: %s"
                   % (count, method, timeout, len(found), found[:5]))

    def wait_server_request(self, method=None, timeout=5.0):
        """Returns the next unclaimed server->client request (optionally of `method`)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, msg in enumerate(self.server_requests):
                    if msg is not None and (method is None or msg["method"] == method):
                        self.server_requests[i] = None
                        return msg
                left = deadline - time.monotonic()
                if left <= 0 or self.stdout_closed:
                    break
                self.cond.wait(min(left, 0.2))
        self._fail("no server->client request %s within %.1fs" % (method or "", timeout))

    def unclaimed_server_requests(self):
        with self.cond:
            return [m for m in self.server_requests if m is not None]

    # ----------------------------------------------------------- the process

    def wait_exit(self, timeout=10.0):
        """Waits for mcpbraid to exit; returns its exit code (fails on timeout)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail("mcpbraid did not exit within %.1fs" % timeout)
        self._out_thread.join(5)
        self._err_thread.join(5)
        return code

    def running(self):
        return self.proc.poll() is None

    def signal(self, signo):
        self.proc.send_signal(signo)

    def leftover_pids(self):
        exclude = {self.pid} if self.running() else set()
        return pids_with_marker(self.marker, exclude)

    def assert_no_leftovers(self, timeout=3.0):
        """Fails if a process started by this mcpbraid is still running after `timeout`."""
        left = wait_until(lambda: not self.leftover_pids(), timeout)
        if not left:
            pids = self.leftover_pids()
            self._fail("processes left running: %s"
                       % ["%d: %s" % (p, proc_cmdline(p)) for p in pids])

    def zombie_children(self):
        return [pid for pid, state in children_of(self.pid) if state == "Z"]

    def assert_stdout_clean(self):
        with self.cond:
            bad = list(self.bad_lines)
        if bad:
            self._fail("stdout carried non-JSON-RPC output: %s" % bad[:5])

    def cleanup(self):
        """Kills what is left (mcpbraid, then its children) and removes the temp config."""
        if self.running():
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self.close_stdin()
        for pid in pids_with_marker(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        if self._own_config:
            try:
                os.unlink(self._own_config)
            except OSError:
                pass



def socket_answers(path):
    """Whether something accepts a connection on the Unix socket at path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()

def run_oneshot(config_path, stdin_data=None, stdin_file=None, args=(), timeout=20.0,
                log_level="debug", env=None):
    """Runs mcpbraid to completion with stdin from bytes, a file path, or /dev/null.
    Returns (exit code, stdout bytes, stderr str, elapsed seconds, marker)."""
    marker = "%d-%d-%d" % (os.getpid(), next(_counter), time.monotonic_ns())
    full_env = dict(os.environ)
    full_env.pop("MCPBRAID_LOG", None)
    full_env[MARKER_VAR] = marker
    if env:
        full_env.update(env)
    cmd = [MCPBRAID]
    if log_level:
        cmd += ["--log-level", log_level]
    if config_path:
        cmd += ["-c", config_path]
    cmd += list(args)
    start = time.monotonic()
    if stdin_file is not None:
        with open(stdin_file, "rb") as f:
            proc = subprocess.run(cmd, stdin=f, capture_output=True, env=full_env, timeout=timeout)
    else:
        proc = subprocess.run(cmd, input=stdin_data, capture_output=True, env=full_env,
                              timeout=timeout)
    elapsed = time.monotonic() - start
    return proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"), elapsed, marker


def jsonl(*messages):
    return "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in messages).encode()


def req(id, method, params=None):
    msg = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        msg["params"] = params
    return msg


# --------------------------------------------------------------------------- test case base


class MuxTestCase(unittest.TestCase):
    """Starts mcpbraid instances with self.mux(...) and checks each one at the end:
    stdout held only JSON-RPC lines, and no process it started is still running."""

    def setUp(self):
        self._muxes = []
        self._temp_paths = []

    def mux(self, servers=None, **kwargs):
        m = Mux(servers, **kwargs)
        self._muxes.append(m)
        return m

    def temp_config(self, doc):
        path = write_config(doc)
        self._temp_paths.append(path)
        return path

    def tearDown(self):
        problems = []
        for m in self._muxes:
            if m.running():
                m.close_stdin()
                try:
                    m.proc.wait(8)
                except subprocess.TimeoutExpired:
                    problems.append("mcpbraid pid %d still running 8 s after stdin EOF" % m.pid)
            left = wait_until(lambda: not m.leftover_pids(), 5.0)
            if not left:
                problems.append("processes left running after mcpbraid exited: %s" % [
                    "%d: %s" % (p, proc_cmdline(p)) for p in m.leftover_pids()])
            m._out_thread.join(2)
            with m.cond:
                bad = list(m.bad_lines)
            if bad:
                problems.append("stdout carried non-JSON-RPC output: %s" % bad[:5])
            m.cleanup()
        for path in self._temp_paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        if problems:
            self.fail("; ".join(problems))

    # Assertion helpers.

    def assertErrorCode(self, msg, code, id_expected="__any__"):
        self.assertIn("error", msg, "expected an error response, got %s" % msg)
        self.assertEqual(msg["error"]["code"], code, "wrong error code in %s" % msg)
        if id_expected != "__any__":
            self.assertIn("id", msg)
            self.assertEqual(msg["id"], id_expected)
            self.assertIs(type(msg["id"]), type(id_expected))


def main():
    unittest.main(verbosity=2)
