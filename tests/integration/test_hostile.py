#!/usr/bin/env python3
"""Hostile content (issue 10): a client or a backend that is alive and speaks JSON
but sends what no good peer sends, and the limits that keep mcpbraid alive and
small in front of it.

  1. initialize answered with a result that is not an object, or a malformed error
  2. malformed entries in tools/list
  3. malformed answers to a tools/call (too deep, result not an object, bad error)
  4. client input nested far deeper than max_json_depth
  5. lines longer than max_line, from the client and from a backend
  6. a URI template that would make a backtracking matcher explode
  7. backpressure: a client that stops reading while 200 MiB of answers are due
  8. fairness: a backend flooding notifications does not starve another one
  9. the stop ladder of an old child never signals the restarted child
 10. notifications without params, malformed notifications and server->client requests

Most backends here are tests/fixtures/replay_backend.py, a Python MCP server whose
answers come from a script file and whose `emit` tool writes raw lines. Every
scenario ends by checking that the gateway still answers, that its last-resort guard
caught nothing (mcpbraid.internal_errors == 0), and that at stdin EOF it exits 0
with no child left.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import line_field  # noqa: E402
from mcptest import fixture, id_key, tool_text, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPLAY = os.environ.get("MCPBRAID_REPLAY",
                        os.path.join(os.path.dirname(HERE), "fixtures", "replay_backend.py"))
MiB = 1024 * 1024


# --------------------------------------------------------------------------- helpers


def warn_lines(stderr, event, server=None):
    """stderr trace lines at warning level carrying event=<event> (and server=<server>)."""
    out = []
    for line in stderr.splitlines():
        if not re.search(r"^\S+ +warn(ing)? ", line):
            continue
        if not re.search(r"\bevent=%s(\s|$)" % re.escape(event), line):
            continue
        if server is not None and not re.search(r"\bserver=%s(\s|$)" % re.escape(server), line):
            continue
        out.append(line)
    return out


def event_lines(stderr, event):
    """stderr trace lines (any level) carrying event=<event>."""
    return [l for l in stderr.splitlines()
            if re.search(r"\bevent=%s(\s|$)" % re.escape(event), l)]



def raw_answer(member, value_text):
    """A raw JSON-RPC answer line with the replay backend's $ID placeholder."""
    return '{"jsonrpc":"2.0","id":$ID,"%s":%s}' % (member, value_text)


def sanitized(pid):
    """True if the process runs under AddressSanitizer (its RSS is not comparable)."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            if "libasan" in f.read():
                return True
        with open("/proc/%d/exe" % pid, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def vm_rss(pid):
    """VmRSS of a process in bytes (None if it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# A backend that closes its stdout on `close` and stays alive, ignoring SIGTERM and
# stdin EOF, recording "<pid> <what>" lines (start, SIGTERM, ...) in the file argv[1].
# A generation that did not close its stdout exits at stdin EOF (so shutdown is quick).
LADDER_BACKEND = r'''
import json, os, signal, sys, time

LOG = sys.argv[1]


def record(what):
    with open(LOG, "a") as f:
        f.write("%d %s\n" % (os.getpid(), what))


signal.signal(signal.SIGTERM, lambda signo, frame: record("SIGTERM"))
record("start")
closed = False


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    method, id = msg.get("method"), msg.get("id")
    if method is None or id is None:
        continue
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": id, "result": {
            "protocolVersion": msg.get("params", {}).get("protocolVersion", "2025-11-25"),
            "capabilities": {"tools": {}}, "serverInfo": {"name": "ladder", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": id, "result": {"tools": [
            {"name": "close", "inputSchema": {"type": "object"}},
            {"name": "echo", "inputSchema": {"type": "object"}}]}})
    elif method == "ping":
        send({"jsonrpc": "2.0", "id": id, "result": {}})
    elif method == "tools/call" and msg["params"]["name"] == "close":
        record("close")
        # Closes the pipe to mcpbraid; fd 1 now points to /dev/null.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        closed = True
    elif method == "tools/call":
        send({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": "echo from %d" % os.getpid()}]}})
    else:
        send({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "no"}})

if closed:
    record("stdin eof, staying")
    while True:
        time.sleep(1)
record("exit")
'''


class HostileCase(mcptest.MuxTestCase):

    def temp_file(self, text, suffix=".json"):
        fd, path = tempfile.mkstemp(prefix="mcpbraid-hostile-", suffix=suffix)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self._temp_paths.append(path)
        return path

    def replay(self, script=None):
        """A server entry running the replay backend with `script` (a dict)."""
        args = [REPLAY]
        if script is not None:
            args.append(self.temp_file(json.dumps(script)))
        return {"command": sys.executable, "args": args}

    def health(self, m):
        return m.result("gateway_health")

    def backend(self, m, name):
        return self.health(m)["backends"][name]

    def wait_backend(self, m, name, predicate, timeout=5.0):
        last = [None]

        def check():
            last[0] = self.backend(m, name)
            return predicate(last[0])
        if not wait_until(check, timeout, interval=0.05):
            m._fail("backend %s never reached the expected state; last: %s" % (name, last[0]))
        return last[0]

    def assertNoInternalErrors(self, m):
        snap = self.health(m)["mcpbraid"]
        self.assertIn("internal_errors", snap, "health JSON lacks mcpbraid.internal_errors")
        self.assertEqual(snap["internal_errors"], 0, "the last-resort guard caught something:\n"
                         + m.stderr_tail())

    def assertAlive(self, m):
        self.assertTrue(m.running(), "mcpbraid died:\n" + m.stderr_tail())
        self.assertEqual(m.call("ping", timeout=5)["result"], {})
        self.assertNoInternalErrors(m)

    def assertError(self, msg, code, id):
        """An error response with `code` and exactly this id (messages shown truncated)."""
        shown = str(msg)[:500]
        self.assertIn("error", msg, "expected an error response, got %s" % shown)
        self.assertEqual(msg["error"].get("code"), code, "wrong error code in %s" % shown)
        self.assertIn("id", msg, shown)
        self.assertEqual(msg["id"], id, shown)
        self.assertIs(type(msg["id"]), type(id), shown)

    def assertOneAnswerEach(self, m):
        with m.cond:
            dup = {k: c for k, c in m.response_counts.items() if c != 1}
        self.assertEqual(dup, {}, "requests answered more than once")

    def assertBadAnswer(self, msg, server, *needles):
        """A tools/call answered with an isError result naming the server and 'bad answer'."""
        self.assertIn("result", msg, "expected an isError result, got %s" % str(msg)[:500])
        result = msg["result"]
        self.assertIsInstance(result, dict, str(msg)[:500])
        self.assertIs(result.get("isError"), True, str(msg)[:500])
        text = tool_text(result)
        self.assertIn("server '%s'" % server, text)
        self.assertIn("bad answer", text)
        for needle in needles:
            self.assertIn(needle, text)

    def finish(self, m):
        """Alive, nothing caught by the guard, one answer each; then stdin EOF -> exit 0
        with no child left and only JSON-RPC on stdout."""
        self.assertAlive(m)
        self.assertOneAnswerEach(m)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0, m.stderr_tail())
        m.assert_no_leftovers()
        m.assert_stdout_clean()


# --------------------------------------------------------------------------- 1. initialize


class BadInitializeAnswer(HostileCase):

    CASES = [
        ("result null", raw_answer("result", "null")),
        ("result []", raw_answer("result", "[]")),
        ("error string", raw_answer("error", '"boom"')),
        ("error without code", raw_answer("error", '{"message":"x"}')),
    ]

    def test_bad_initialize_answer_fails_only_that_backend(self):
        for what, line in self.CASES:
            with self.subTest(answer=what):
                m = self.mux({"bad": self.replay({"initialize_raw": line}), "good": fixture("good")})
                result = m.initialize()
                self.assertIn("protocolVersion", result)
                b = self.wait_backend(m, "bad", lambda b: b["state"] == "failed")
                self.assertIsInstance(b["last_error"], str, b)
                self.assertTrue(b["last_error"].startswith("initialize failed:"), b)
                self.assertEqual(self.backend(m, "good")["state"], "ready")
                self.assertEqual(tool_text(m.call_tool("good__echo", {"text": "fine"})), "fine")
                names = {t["name"] for t in m.result("tools/list")["tools"]}
                self.assertIn("good__echo", names)
                self.assertFalse([n for n in names if n.startswith("bad__")], names)
                self.finish(m)


# --------------------------------------------------------------------------- 2. list entries


class BadListEntries(HostileCase):

    GOOD = {"name": "fine", "inputSchema": {"type": "object"},
            "execution": {"taskSupport": "optional"}}
    CASES = [
        ("taskSupport not a string", {"name": "tasky", "inputSchema": {"type": "object"},
                                      "execution": {"taskSupport": 1}}),
        ("name missing", {"description": "nameless", "inputSchema": {"type": "object"}}),
        ("name not a string", {"name": 7, "inputSchema": {"type": "object"}}),
        ("inputSchema a string", {"name": "strschema", "inputSchema": "object"}),
        ("annotations a string", {"name": "badann", "inputSchema": {"type": "object"},
                                  "annotations": "readOnly"}),
        ("not an object", 42),
    ]

    def test_bad_entry_skipped_good_tools_listed(self):
        for what, entry in self.CASES:
            with self.subTest(entry=what):
                m = self.mux({"r": self.replay({"tools": [entry, self.GOOD]}), "b": fixture("b")})
                m.initialize()
                names = {t["name"] for t in m.result("tools/list")["tools"]}
                self.assertEqual({n for n in names if n.startswith("r__")},
                                 {"r__emit", "r__blob", "r__echo", "r__sleep", "r__meta",
                                  "r__fine"})
                self.assertIn("b__echo", names)
                self.assertTrue(wait_until(
                    lambda: warn_lines(m.stderr, "backend.bad_list_entry", "r"), 2.0),
                    "no WARN event=backend.bad_list_entry server=r:\n" + m.stderr_tail())
                self.assertEqual(tool_text(m.call_tool("r__echo", {"k": what})),
                                 json.dumps({"k": what}))
                self.assertEqual(tool_text(m.call_tool("r__blob", {"bytes": 5})), "xxxxx")
                self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "b"})), "b")
                self.assertEqual(self.backend(m, "r")["state"], "ready")
                self.finish(m)


# --------------------------------------------------------------------------- 3. call answers


class BadCallAnswer(HostileCase):

    DEPTH = 100000
    CASES = [
        ("result nested 100000 deep",
         raw_answer("result", '{"a":' * DEPTH + "1" + "}" * DEPTH)),
        ("result a string", raw_answer("result", '"hello"')),
        ("error a string", raw_answer("error", '"boom"')),
        ("error without code", raw_answer("error", '{"message":"x"}')),
    ]

    def test_bad_answer_is_an_error_result_and_a_failure(self):
        for what, line in self.CASES:
            with self.subTest(answer=what):
                m = self.mux({"r": self.replay()})
                m.initialize()
                self.assertEqual(tool_text(m.call_tool("r__echo", {})), "{}")
                before = self.backend(m, "r")["failures"]
                msg = m.call("tools/call", {"name": "r__emit",
                                            "arguments": {"lines": [line], "then": "none"}})
                self.assertBadAnswer(msg, "r")
                self.assertTrue(wait_until(
                    lambda: self.backend(m, "r")["failures"] == before + 1, 2.0),
                    "backends.r.failures should be %d: %s" % (before + 1, self.backend(m, "r")))
                # Still serving, that backend included.
                self.assertEqual(tool_text(m.call_tool("r__echo", {"after": 1})),
                                 json.dumps({"after": 1}))
                self.assertEqual(self.backend(m, "r")["failures"], before + 1)
                self.finish(m)


# --------------------------------------------------------------------------- 4. deep client input


class DeepClientInput(HostileCase):

    DEPTH = 300000

    def test_deep_params_rejected_with_id(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        deep = "[" * self.DEPTH + "]" * self.DEPTH
        cases = [
            ("id before params", 7,
             '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":%s}}' % deep),
            ("id after params", 8,
             '{"jsonrpc":"2.0","method":"tools/call","params":{"x":%s},"id":8}' % deep),
            ("string id", "deep",
             '{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"x":%s}}' % deep),
        ]
        for what, id, line in cases:
            with self.subTest(case=what):
                n_bad = len(warn_lines(m.stderr, "client.bad_input"))
                m.send_raw(line + "\n")
                msg = m.wait_response(id, 10)
                self.assertError(msg, -32600, id)
                self.assertIn("nested deeper than", msg["error"]["message"])
                self.assertEqual(m.call("ping", timeout=5)["result"], {})
                self.assertTrue(wait_until(
                    lambda: len(warn_lines(m.stderr, "client.bad_input")) > n_bad, 2.0),
                    "no WARN event=client.bad_input:\n" + m.stderr_tail())
        self.finish(m)

    def test_depth_limit_boundary(self):
        # The top-level object is depth 1, params depth 2; k arrays inside make 2 + k.
        m = self.mux({"a": fixture("a")})
        m.initialize()
        for depth, ok in ((128, True), (129, False)):
            with self.subTest(depth=depth):
                k = depth - 2
                id = "d%d" % depth
                m.send_raw('{"jsonrpc":"2.0","id":"%s","method":"ping","params":{"a":%s}}\n'
                           % (id, "[" * k + "]" * k))
                msg = m.wait_response(id, 5)
                if ok:
                    self.assertEqual(msg.get("result"), {}, msg)
                else:
                    self.assertError(msg, -32600, id)
                    self.assertIn("nested deeper than", msg["error"]["message"])
        self.finish(m)


# --------------------------------------------------------------------------- 5. long lines


class LongLines(HostileCase):

    def oversized_bytes(self, m, n_before):
        lines = warn_lines(m.stderr, "client.oversized")[n_before:]
        return [int(line_field(l, "bytes")) for l in lines if line_field(l, "bytes")]

    def assertOversized(self, m, id, n_warn, size):
        msg = m.wait_response(id, 30)
        self.assertError(msg, -32600, id)
        self.assertIn("exceeds max_line", msg["error"]["message"])
        self.assertEqual(m.call("ping", timeout=10)["result"], {})
        self.assertTrue(wait_until(lambda: self.oversized_bytes(m, n_warn), 2.0),
                        "no WARN event=client.oversized with bytes=:\n" + m.stderr_tail())
        got = self.oversized_bytes(m, n_warn)[0]
        # The size of the line, with or without its newline.
        self.assertIn(got, (size - 1, size), "bytes= should be the line's size")

    def test_small_max_line(self):
        m = self.mux({"r": self.replay()}, extra_top={"max_line": "1MiB"})
        m.initialize()
        payload = "x" * (2 * MiB)

        with self.subTest(case="client line, id at the start"):
            line = ('{"jsonrpc":"2.0","id":51,"method":"tools/call","params":'
                    '{"name":"r__echo","arguments":{"x":"%s"}}}\n' % payload)
            n = len(warn_lines(m.stderr, "client.oversized"))
            m.send_raw(line)
            self.assertOversized(m, 51, n, len(line))

        with self.subTest(case="client line, id unreadable"):
            line = ('{"jsonrpc":"2.0","method":"tools/call","params":'
                    '{"name":"r__echo","arguments":{"x":"%s"}},"id":52}\n' % payload)
            n = len(warn_lines(m.stderr, "client.oversized"))
            with m.cond:
                n_null = len([x for _, x in m.messages if "error" in x and x.get("id") is None])
            m.send_raw(line)
            self.assertEqual(m.call("ping", timeout=10)["result"], {})
            with m.cond:
                nulls = [x for _, x in m.messages if "error" in x and x.get("id") is None][n_null:]
            self.assertEqual(len(nulls), 1, nulls)
            self.assertEqual(nulls[0]["error"]["code"], -32600)
            self.assertIn("exceeds max_line", nulls[0]["error"]["message"])
            self.assertFalse(m.has_response(52), "the id beyond the first 4096 bytes is unread")
            self.assertTrue(wait_until(lambda: self.oversized_bytes(m, n), 2.0), m.stderr_tail())

        with self.subTest(case="a line just under the limit still works"):
            text = "y" * (MiB - 200)
            self.assertTrue(tool_text(m.call_tool("r__echo", {"t": text})) ==
                            json.dumps({"t": text}), "a line under max_line was mangled")

        with self.subTest(case="backend answer over max_line"):
            before = self.backend(m, "r")["failures"]
            msg = m.call("tools/call", {"name": "r__blob", "arguments": {"bytes": 2 * MiB}})
            self.assertBadAnswer(msg, "r", "exceeds max_line")
            self.assertTrue(wait_until(
                lambda: self.backend(m, "r")["failures"] == before + 1, 2.0),
                self.backend(m, "r"))
            self.assertEqual(tool_text(m.call_tool("r__blob", {"bytes": 10})), "x" * 10)
        self.finish(m)

    def test_100_mib_line_default_limit(self):
        m = self.mux({"a": fixture("a")}, log_level="info")
        m.initialize()
        head = ('{"jsonrpc":"2.0","id":53,"method":"tools/call","params":'
                '{"name":"a__echo","arguments":{"text":"').encode()
        tail = b'"}}}\n'
        chunk = b"x" * MiB
        n_chunks = 100
        size = len(head) + n_chunks * len(chunk) + len(tail)
        errors = []

        def writer():
            try:
                m.send_raw(head)
                for _ in range(n_chunks):
                    m.send_raw(chunk)
                m.send_raw(tail)
            except BaseException as e:  # noqa: B902 - reported by the main thread
                errors.append(e)

        n = len(warn_lines(m.stderr, "client.oversized"))
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        t.join(60)
        self.assertFalse(t.is_alive(), "writing the 100 MiB line did not finish in 60 s")
        self.assertEqual(errors, [])
        self.assertOversized(m, 53, n, size)
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "after"})), "after")
        self.finish(m)


# --------------------------------------------------------------------------- 6. URI templates


class TemplateBlowup(HostileCase):

    TEMPLATE = "bt://{a}{b}{c}{d}{e}{f}{g}{h}{i}{j}/end"

    def test_non_matching_uri_answered_fast(self):
        # A second resource-capable backend, so an unlisted URI must go through the
        # template matcher instead of being routed to the only resource server.
        m = self.mux({"r": self.replay({"templates": [{"uriTemplate": self.TEMPLATE,
                                                       "name": "bt"}]}),
                      "f": fixture("f")})
        m.initialize()
        templates = [t["uriTemplate"] for t in
                     m.result("resources/templates/list")["resourceTemplates"]]
        self.assertIn(self.TEMPLATE, templates)
        uri = "bt://" + "a" * 39
        self.assertEqual(len(uri), 44)
        t0 = time.monotonic()
        id = m.request("resources/read", {"uri": uri})
        msg = m.wait_response(id, 2.0)
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 1.0, "resources/read against the template took %.2fs" % elapsed)
        self.assertTrue("result" in msg or "error" in msg, msg)
        # Other requests keep being answered, and the matcher still matches.
        self.assertEqual(m.call("ping", timeout=2)["result"], {})
        good = "bt://abcdefghij/end"
        t0 = time.monotonic()
        contents = m.result("resources/read", {"uri": good}, timeout=2)["contents"]
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(contents[0]["text"], "read " + good)
        self.finish(m)


# --------------------------------------------------------------------------- 7. backpressure


class PausedClient:
    """mcpbraid with a client that reads its stdout only when told to."""

    def __init__(self, config_path, log_level="info", env=None):
        self.marker = "hostile-%d-%d" % (os.getpid(), time.monotonic_ns())
        full = dict(os.environ)
        full.pop("MCPBRAID_LOG", None)
        full[mcptest.MARKER_VAR] = self.marker
        full.update(env or {})
        self.proc = subprocess.Popen(
            [mcptest.MCPBRAID, "--log-level", log_level, "-c", config_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
        self.pid = self.proc.pid
        self._err = bytearray()
        self._lock = threading.Lock()
        self._err_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self._err_thread.start()

    def _read_stderr(self):
        while True:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                return
            with self._lock:
                self._err.extend(chunk)

    @property
    def stderr(self):
        with self._lock:
            return self._err.decode(errors="replace")

    def send(self, msg):
        self.proc.stdin.write((json.dumps(msg, separators=(",", ":")) + "\n").encode())
        self.proc.stdin.flush()

    def read_message(self):
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("mcpbraid closed stdout:\n" + self.stderr[-3000:])
        reason = mcptest.check_jsonrpc_line(line.decode().rstrip("\n"))
        if reason:
            raise AssertionError("stdout line is not JSON-RPC (%s): %r" % (reason, line[:300]))
        return json.loads(line)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pid in mcptest.pids_with_marker(self.marker):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


class Backpressure(HostileCase):

    CALLS = 200
    LIMIT = 60 * MiB

    def test_paused_client_bounds_memory(self):
        cfg = self.temp_config(mcptest.config_doc({"r": self.replay()},
                                                  failsafe={"max_in_flight": 256}))
        # Under ASan, freed chunks would sit in its quarantine and count in the RSS.
        asan_options = ":".join(o for o in (os.environ.get("ASAN_OPTIONS"),
                                            "quarantine_size_mb=0") if o)
        c = PausedClient(cfg, env={"ASAN_OPTIONS": asan_options})
        self.addCleanup(c.cleanup)
        c.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": mcptest.LATEST_VERSION, "capabilities": {},
            "clientInfo": {"name": "paused", "version": "1"}}})
        self.assertEqual(c.read_message()["id"], 1)
        c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        asan = sanitized(c.pid)
        baseline = vm_rss(c.pid)
        ids = list(range(100, 100 + self.CALLS))
        for id in ids:
            c.send({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                    "params": {"name": "r__blob", "arguments": {"bytes": MiB}}})
        # Not reading for ~3 s; the gateway's RSS meanwhile.
        peak = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:
            peak = max(peak, vm_rss(c.pid) or 0)
            time.sleep(0.05)
        if asan:
            # ASan's shadow memory and quarantine: only the growth is meaningful.
            self.assertLess(peak - baseline, self.LIMIT, "RSS grew by %.1f MiB"
                            % ((peak - baseline) / MiB))
        else:
            self.assertLess(peak, self.LIMIT, "RSS reached %.1f MiB while the client did not read"
                            % (peak / MiB))
        on = event_lines(c.stderr, "client.backpressure")
        self.assertTrue([l for l in on if "state=on" in l and "queued_bytes=" in l],
                        "no event=client.backpressure state=on while the client did not read:\n"
                        + c.stderr[-3000:])
        # Reading again: every answer arrives, complete.
        want = "x" * MiB
        seen = {}
        deadline = time.monotonic() + 60
        while len(seen) < self.CALLS and time.monotonic() < deadline:
            msg = c.read_message()
            if "method" in msg:
                continue
            self.assertIn(msg["id"], ids)
            self.assertNotIn(msg["id"], seen, "answered twice")
            self.assertNotIn("error", msg, str(msg)[:300])
            self.assertFalse(msg["result"].get("isError"), str(msg)[:300])
            self.assertTrue(tool_text(msg["result"]) == want, "answer %s incomplete" % msg["id"])
            seen[msg["id"]] = True
        self.assertEqual(sorted(seen), ids)
        self.assertTrue(wait_until(lambda: [l for l in event_lines(c.stderr, "client.backpressure")
                                            if "state=off" in l], 3.0),
                        "no event=client.backpressure state=off after the client read again")
        c.send({"jsonrpc": "2.0", "id": 2, "method": "gateway_health"})
        snap = c.read_message()
        self.assertEqual(snap["result"]["mcpbraid"].get("internal_errors"), 0, snap)
        c.proc.stdin.close()
        rest = c.proc.stdout.read()
        self.assertEqual(c.proc.wait(10), 0)
        mcptest.parse_stdout(rest)
        self.assertTrue(wait_until(lambda: not mcptest.pids_with_marker(c.marker), 3.0),
                        "children left running")


# --------------------------------------------------------------------------- 8. fairness


class Fairness(HostileCase):

    def test_notification_flood_does_not_starve_other_backend(self):
        m = self.mux({"a": self.replay(), "b": self.replay()}, log_level="info")
        m.initialize()
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                           "params": {"level": "info", "logger": "flood", "data": "f" * 200}})
        flood = m.request("tools/call", {"name": "a__emit",
                                         "arguments": {"lines": [note], "repeat": 20000}})
        wait_until(lambda: m.notifications_of("notifications/message"), 5.0)
        worst = 0.0
        first_b = None
        for i in range(50):
            t0 = time.monotonic()
            r = m.call_tool("b__echo", {"i": i}, timeout=5)
            worst = max(worst, time.monotonic() - t0)
            first_b = first_b or time.monotonic()
            self.assertEqual(tool_text(r), json.dumps({"i": i}))
        self.assertLess(worst, 5.0)
        self.assertEqual(tool_text(m.wait_response(flood, 60)["result"]), "emitted")
        with m.cond:
            flood_done = m.response_times[id_key(flood)]
        self.assertLess(first_b, flood_done, "b was answered only after a's flood was over")
        self.finish(m)


# --------------------------------------------------------------------------- 9. stop ladder


class StopLadderOwnership(HostileCase):

    def records(self, path):
        try:
            with open(path) as f:
                return [line.split(" ", 1) for line in f.read().splitlines()]
        except OSError:
            return []

    def signals_of(self, path, pid):
        return [what for p, what in self.records(path) if int(p) == pid and what == "SIGTERM"]

    def test_old_ladder_never_signals_new_child(self):
        script = self.temp_file(LADDER_BACKEND, suffix=".py")
        log = self.temp_file("", suffix=".log")
        m = self.mux({"lad": {"command": sys.executable, "args": [script, log]},
                      "b": fixture("b")},
                     extra_top={"restart": {"initial_backoff": "100ms", "max_backoff": "500ms"}})
        m.initialize()
        old = self.wait_backend(m, "lad", lambda b: b["state"] == "ready")["pid"]
        self.assertTrue(mcptest.pid_running(old))
        t0 = time.monotonic()
        msg = m.call("tools/call", {"name": "lad__close", "arguments": {}}, timeout=5)
        self.assertLess(time.monotonic() - t0, 2.0, "a closed stdout fails the call at once")
        self.assertTrue("error" in msg or msg["result"].get("isError") is True, msg)
        new = self.wait_backend(m, "lad", lambda b: b["state"] == "ready" and b["pid"] != old,
                                timeout=8.0)["pid"]
        self.assertLess(time.monotonic() - t0, 2.0, "restarted after 100ms, before the old "
                        "child's ladder reached SIGTERM")
        self.assertTrue(mcptest.pid_running(old), "the old child is still being stopped")
        # The old ladder runs to its end: SIGTERM (ignored), then SIGKILL, and a reap.
        gone = wait_until(lambda: mcptest.proc_state(old) is None, 8.0, 0.05)
        self.assertTrue(gone, "old child %d: state %s" % (old, mcptest.proc_state(old)))
        time.sleep(0.3)
        self.assertEqual(self.signals_of(log, old), ["SIGTERM"],
                         "the old ladder sends SIGTERM while the new child runs: %s"
                         % self.records(log))
        self.assertEqual(self.signals_of(log, new), [],
                         "the new child received SIGTERM meant for the old one: %s"
                         % self.records(log))
        self.assertTrue(mcptest.pid_running(new))
        self.assertEqual(tool_text(m.call_tool("lad__echo", {})), "echo from %d" % new)
        self.assertEqual(self.backend(m, "lad")["pid"], new)
        self.assertEqual(m.zombie_children(), [], "mcpbraid left zombie children")
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "b"})), "b")
        self.finish(m)
        self.assertEqual(self.signals_of(log, new), [], self.records(log))


# --------------------------------------------------------------------------- 10. notifications


class BadNotifications(HostileCase):

    def emit(self, m, *lines):
        r = m.call_tool("r__emit", {"lines": list(lines)})
        self.assertEqual(tool_text(r), "emitted")

    def test_notification_without_params_has_no_params_key(self):
        m = self.mux({"r": self.replay()})
        m.initialize()
        self.emit(m, '{"jsonrpc":"2.0","method":"notifications/custom"}')
        found = m.wait_notification("notifications/custom", timeout=3)
        self.assertNotIn("params", found[0], "relayed with params: %s" % found[0])
        with m.cond:
            raw = [l for l in m.lines if "notifications/custom" in l]
        self.assertNotIn('"params"', raw[0])
        self.finish(m)

    def test_malformed_notifications_dropped(self):
        m = self.mux({"r": self.replay()})
        m.initialize()
        cases = [
            ("progress with params a string", "notifications/progress",
             '{"jsonrpc":"2.0","method":"notifications/progress","params":"x"}'),
            ("progress without a token", "notifications/progress",
             '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}'),
            ("message with params a string", "notifications/message",
             '{"jsonrpc":"2.0","method":"notifications/message","params":"x"}'),
        ]
        for what, method, line in cases:
            with self.subTest(case=what):
                n = len(warn_lines(m.stderr, "backend.bad_notification", "r"))
                self.emit(m, line)
                self.assertEqual(m.call("ping")["result"], {})
                self.assertEqual(m.notifications_of(method), [], "relayed: %s" % what)
                self.assertTrue(wait_until(
                    lambda: len(warn_lines(m.stderr, "backend.bad_notification", "r")) > n, 2.0),
                    "no WARN event=backend.bad_notification server=r:\n" + m.stderr_tail())
        self.finish(m)

    def test_malformed_server_request_answered_to_backend(self):
        m = self.mux({"r": self.replay()})
        m.initialize(capabilities={"roots": {}})
        self.emit(m, '{"jsonrpc":"2.0","id":99,"method":"roots/list","params":"x"}')

        def answers_to_99():
            out = []
            for l in event_lines(m.stderr, "stderr"):
                text = line_field(l, "line") or ""
                if not text.startswith("replay_backend: answer "):
                    continue
                body = text[len("replay_backend: answer "):]
                try:
                    msg = json.loads(body)
                except ValueError:
                    # The backend cuts its log line at 2000 characters.
                    if not re.search(r'"id": 99\b', body):
                        continue
                    code = re.search(r'"error": \{"code": (-?\d+)', body)
                    msg = {"id": 99, "raw": body}
                    if code:
                        msg["error"] = {"code": int(code.group(1))}
                if msg.get("id") == 99:
                    out.append(msg)
            return out
        self.assertTrue(wait_until(answers_to_99, 3.0),
                        "the backend got no answer to its request 99:\n" + m.stderr_tail())
        answer = answers_to_99()[0]
        self.assertIn("error", answer, answer)
        self.assertEqual(answer["error"]["code"], -32602, answer)
        self.assertTrue(wait_until(lambda: warn_lines(m.stderr, "backend.bad_request", "r"), 2.0),
                        "no WARN event=backend.bad_request server=r:\n" + m.stderr_tail())
        self.assertEqual(m.unclaimed_server_requests(), [], "relayed to the client")
        self.assertEqual(len(answers_to_99()), 1)
        self.finish(m)


if __name__ == "__main__":
    mcptest.main()
