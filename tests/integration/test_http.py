"""Remote servers (issue 12): mcpbraid in front of MCP servers over Streamable HTTP
(`"type": "http"`), the 2024-11-05 HTTP+SSE transport (`"type": "sse"`), and `url`
without a type (Streamable HTTP, SSE after a 4xx to the initialize POST).

The servers run on 127.0.0.1, on ports the kernel chose:

  tests/fixtures/http_server.mjs   our SDK-based fixture, faults chosen by flags (its
                                   header says which), counters at GET /stats
  server-everything                `streamableHttp` and `sse` modes, kept on 127.0.0.1
                                   by tests/fixtures/localhost_only.mjs

Both print "PORT <n>" once listening and exit when their stdin closes.
tests/fixtures/HTTP_NOTES.md says what each does on the wire.

Needs node and tests/interop/node_modules (.ci/setup.sh installs them).
"""

import http.client
import http.server
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import MCPBRAID, fixture, tool_text, wait_until  # noqa: E402

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP_FIXTURE = os.path.join(TESTS, "fixtures", "http_server.mjs")
LOCALHOST_ONLY = os.path.join(TESTS, "fixtures", "localhost_only.mjs")
NODE_MODULES = os.path.join(TESTS, "interop", "node_modules")
EVERYTHING = os.path.join(NODE_MODULES, "@modelcontextprotocol", "server-everything", "dist",
                          "index.js")
NODE = shutil.which("node") or "node"

# The tools of http_server.mjs, in its order.
HTTP_TOOLS = ["echo", "slow", "fail5xx", "malformed", "cut", "ask", "notify_changed", "sessions",
              "cancelled_count", "big"]
# mcpbraid reaches 127.0.0.1 directly, whatever proxy the machine has.
NO_PROXY = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
# Restarts (for a remote server: reconnect and re-initialize) quick enough for a test.
FAST_RESTART = {"restart": {"initial_backoff": "200ms", "max_backoff": "1s"}}
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def setUpModule():
    if not os.path.isfile(EVERYTHING):
        raise RuntimeError("%s is missing: run .ci/setup.sh (or npm ci in tests/interop)"
                           % EVERYTHING)


# --------------------------------------------------------------------------- servers


class HttpServer:
    """`node args...` that prints "PORT <n>" once listening; its stdout and stderr are
    read all along (server-everything logs every request on stdout)."""

    def __init__(self, args, env=None, label="http server", timeout=15.0):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.label = label
        self.proc = subprocess.Popen([NODE, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env)
        self.cond = threading.Condition()
        self.out_lines = []
        self.err = bytearray()
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        port_line = wait_until(lambda: self._port_line() or self.proc.poll() is not None,
                               timeout)
        if not isinstance(port_line, str):
            self.stop()
            raise AssertionError("%s: no PORT line within %.0fs\n%s"
                                 % (label, timeout, self.stderr()))
        self.port = int(port_line.split()[1])
        self.origin = "http://127.0.0.1:%d" % self.port

    def _port_line(self):
        with self.cond:
            return next((l for l in self.out_lines if l.startswith("PORT ")), None)

    def _read_out(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.out_lines.append(raw.decode(errors="replace").rstrip("\n"))

    def _read_err(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.err.extend(raw)

    def url(self, path):
        return self.origin + path

    def stdout(self):
        with self.cond:
            return "\n".join(self.out_lines)

    def stderr(self):
        with self.cond:
            return self.err.decode(errors="replace")

    def stats(self):
        """http_server.mjs's counters (GET /stats)."""
        with _direct.open(self.url("/stats"), timeout=5) as answer:
            return json.load(answer)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


class ForwardingProxy:
    """A plain HTTP forward proxy on 127.0.0.1: it takes absolute-URI requests
    ("POST http://127.0.0.1:<port>/mcp HTTP/1.1"), sends them on to that origin, and
    streams the answer back chunk by chunk (an SSE stream stays a stream), one request per
    connection. It keeps (method, url, JSON-RPC method) of each request it relayed."""

    HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
           "transfer-encoding", "te", "trailer", "upgrade", "content-length"}

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def relay(self):
                self.close_connection = True
                target = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                try:
                    rpc_method = json.loads(body).get("method", "(response)") if body else None
                except ValueError:
                    rpc_method = "(not JSON)"
                with proxy.lock:
                    proxy.seen.append((self.command, self.path, rpc_method))
                if target.scheme != "http" or not target.hostname:
                    self.send_error(400, "absolute http:// URI expected")
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP}
                upstream = http.client.HTTPConnection(target.hostname, target.port)
                try:
                    path = target.path + ("?" + target.query if target.query else "")
                    upstream.request(self.command, path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    self.send_response_only(answer.status, answer.reason)
                    for k, v in answer.getheaders():
                        if k.lower() not in proxy.HOP:
                            self.send_header(k, v)
                    self.send_header("Connection", "close")  # the body ends with the socket
                    self.end_headers()
                    while True:
                        chunk = answer.read1(65536)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except OSError:
                    pass  # the client or the server went away: so does this relay
                finally:
                    upstream.close()

            do_GET = do_POST = do_DELETE = relay

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def requests(self, method=None):
        with self.lock:
            return [r for r in self.seen if method is None or r[0] == method]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def remote(url, type_="http", headers=None, **keys):
    """A remote server entry (`type_` None: no "type" key, the url-only form)."""
    entry = {"url": url}
    if type_ is not None:
        entry["type"] = type_
    if headers is not None:
        entry["headers"] = headers
    entry.update(keys)
    return entry


def failure_text(msg):
    """The text of a failed call (an isError result or a JSON-RPC error), None if it
    succeeded."""
    if "error" in msg:
        return json.dumps(msg["error"])
    if msg["result"].get("isError") is True:
        return tool_text(msg["result"])
    return None


class HttpCase(mcptest.MuxTestCase):
    """Servers started here are stopped after mcpbraid (cleanups run after tearDown), so
    a test can look at what a server saw of mcpbraid's shutdown."""

    def fixture_server(self, *flags):
        srv = HttpServer([HTTP_FIXTURE, *flags], label="http_server.mjs %s" % " ".join(flags))
        self.addCleanup(srv.stop)
        return srv

    def everything(self, mode, port=0):
        srv = HttpServer(["--import", LOCALHOST_ONLY, EVERYTHING, mode], env={"PORT": str(port)},
                         label="server-everything %s" % mode)
        self.addCleanup(srv.stop)
        return srv

    def start(self, servers, capabilities=None, env=None, **kwargs):
        full = dict(NO_PROXY)
        full.update(env or {})
        kwargs.setdefault("extra_top", FAST_RESTART)
        m = self.mux(servers, env=full, **kwargs)
        m.initialize(capabilities=capabilities)
        return m

    def wait_tools(self, m, wanted, timeout=10.0):
        """Polls tools/list until every name in `wanted` is listed; returns the names."""
        last = [[]]

        def listed():
            last[0] = [t["name"] for t in m.result("tools/list")["tools"]]
            return all(w in last[0] for w in wanted)
        if not wait_until(listed, timeout, 0.1):
            m._fail("tools never listed: %s; tools/list: %s"
                    % (sorted(set(wanted) - set(last[0])), last[0]))
        return last[0]

    def backend(self, m, name):
        return m.result("gateway_health")["backends"][name]

    def wait_backend(self, m, name, predicate, timeout=10.0):
        last = [None]

        def check():
            last[0] = self.backend(m, name)
            return predicate(last[0])
        if not wait_until(check, timeout, 0.1):
            m._fail("backend %s never reached the expected state; last: %s" % (name, last[0]))
        return last[0]

    def echo(self, m, tool, text="hi", timeout=10.0):
        """Calls <tool> {text} and checks the answer (fixture echo)."""
        self.assertEqual(tool_text(m.call_tool(tool, {"text": text}, timeout=timeout)), text)

    def assertFailed(self, msg, *needles):
        text = failure_text(msg)
        self.assertIsNotNone(text, "expected a failure, got %s" % msg)
        for needle in needles:
            self.assertIn(needle, text, msg)
        return text


# --------------------------------------------------------------------------- Streamable HTTP


class StreamableHttp(HttpCase):
    """http_server.mjs over `"type": "http"`, next to a stdio fixture."""

    def setUp(self):
        super().setUp()
        self.srv = self.fixture_server()
        self.m = self.start({"local": fixture("local"),
                             "remote": remote(self.srv.url("/mcp"))},
                            capabilities={"elicitation": {}, "sampling": {}})
        self.tools = self.wait_tools(self.m, ["remote__" + t for t in HTTP_TOOLS] +
                                     ["local__echo"])

    def test_tools_listed_with_prefix_and_callable(self):
        remote_tools = [t for t in self.tools if t.startswith("remote__")]
        self.assertEqual(sorted(remote_tools), sorted("remote__" + t for t in HTTP_TOOLS))
        self.echo(self.m, "remote__echo", "over http")
        self.echo(self.m, "local__echo", "over stdio")
        # Both at once, interleaved.
        ids = [self.m.request("tools/call", {"name": "%s__echo" % s,
                                             "arguments": {"text": s + str(i)}})
               for i in range(10) for s in ("remote", "local")]
        for i, rid in enumerate(ids):
            s = "remote" if i % 2 == 0 else "local"
            self.assertEqual(tool_text(self.m.wait_response(rid)["result"]), s + str(i // 2))

    def test_session_header_and_protocol_version_on_every_post(self):
        self.echo(self.m, "remote__echo")
        stats = self.srv.stats()
        self.assertEqual(stats["sessions"], 1, "one session, initialized once: %s" % stats)
        self.assertEqual(stats["not_found"], 0, stats)
        # Every POST after initialize carried Mcp-Session-Id (else a 400 and no answer) and
        # MCP-Protocol-Version (spec 2025-11-25 basic/transports).
        self.assertNotIn("(none)", stats["protocol_versions"], stats)
        self.assertEqual(stats["methods"].get("notifications/initialized"), 1, stats)

    def test_progress_relayed_with_the_clients_token(self):
        r = self.m.call_tool("remote__slow", {"ms": 350}, meta={"progressToken": "tok-http"})
        self.assertEqual(tool_text(r), "slept 350")
        got = self.m.wait_notification("notifications/progress",
                                       lambda n: n["params"]["progressToken"] == "tok-http",
                                       count=4)
        self.assertEqual([(p["params"]["progress"], p["params"]["total"]) for p in got],
                         [(1, 4), (2, 4), (3, 4), (4, 4)])
        # Streamed as they came, before the answer.
        with self.m.cond:
            order = [("p" if "method" in msg else "r") for _, msg in self.m.messages
                     if msg.get("method") == "notifications/progress" or
                     ("id" in msg and "result" in msg and tool_text(msg["result"]) == "slept 350")]
        self.assertEqual(order, ["p", "p", "p", "p", "r"])
        # An integer token keeps its type.
        self.m.call_tool("remote__slow", {"ms": 150}, meta={"progressToken": 5})
        got = self.m.wait_notification("notifications/progress",
                                       lambda n: n["params"]["progressToken"] == 5, count=2)
        self.assertTrue(all(type(n["params"]["progressToken"]) is int for n in got))

    def test_cancel_reaches_the_server(self):
        self.m.request("tools/call", {"name": "remote__slow", "arguments": {"ms": 4000}}, id=77)
        time.sleep(0.4)
        self.m.notify("notifications/cancelled", {"requestId": 77, "reason": "user stop"})
        ok = wait_until(lambda: self.srv.stats()["aborted"] == 1, 3.0, 0.1)
        self.assertTrue(ok, "the server never saw the cancel: %s" % self.srv.stats())
        counted = self.m.call_tool("remote__cancelled_count")["structuredContent"]
        self.assertEqual(counted["cancelled"], 1, counted)
        time.sleep(0.5)
        self.assertFalse(self.m.has_response(77), "a cancelled request must not be answered")
        self.echo(self.m, "remote__echo", "after cancel")

    def test_elicitation_and_sampling_relayed_from_the_http_backend(self):
        call = self.m.request("tools/call", {"name": "remote__ask", "arguments": {}})
        req = self.m.wait_server_request("elicitation/create")
        self.assertEqual(req["params"]["message"], "fixture asks")
        self.m.respond(req["id"], {"action": "accept", "content": {"answer": "over POST"}})
        answer = json.loads(tool_text(self.m.wait_response(call)["result"]))
        self.assertEqual(answer, {"action": "accept", "content": {"answer": "over POST"}})

        call = self.m.request("tools/call", {"name": "remote__ask",
                                             "arguments": {"mode": "sample"}})
        req = self.m.wait_server_request("sampling/createMessage")
        self.m.respond(req["id"], {"model": "itest", "role": "assistant",
                                   "content": {"type": "text", "text": "sampled"}})
        answer = json.loads(tool_text(self.m.wait_response(call)["result"]))
        self.assertEqual(answer["content"]["text"], "sampled")

    def test_list_changed_from_the_get_stream(self):
        self.assertTrue(wait_until(lambda: self.srv.stats()["get_open"] == 1, 5.0, 0.1),
                        "mcpbraid opened no GET stream: %s" % self.srv.stats())
        self.assertEqual(tool_text(self.m.call_tool("remote__notify_changed")), "added added_1")
        self.m.wait_notification("notifications/tools/list_changed", timeout=5)
        self.wait_tools(self.m, ["remote__added_1"])
        self.assertEqual(tool_text(self.m.call_tool("remote__added_1")), "added_1")

    def test_500_is_an_error_and_a_failure(self):
        before = self.backend(self.m, "remote")
        msg = self.m.call("tools/call", {"name": "remote__fail5xx", "arguments": {}})
        self.assertFailed(msg, "remote", "500")
        self.assertEqual(self.srv.stats()["faults"]["fail5xx"], 1, "a tools/call is not retried")
        after = self.backend(self.m, "remote")
        self.assertEqual(after["failures"], before["failures"] + 1, after)
        self.echo(self.m, "remote__echo", "after 500")

    def test_malformed_body_is_an_error_and_the_gateway_goes_on(self):
        before = self.backend(self.m, "remote")
        msg = self.m.call("tools/call", {"name": "remote__malformed", "arguments": {}})
        self.assertFailed(msg, "remote")
        self.assertEqual(self.backend(self.m, "remote")["failures"], before["failures"] + 1)
        self.echo(self.m, "remote__echo", "after malformed")
        self.echo(self.m, "local__echo", "local too")
        self.assertEqual(self.m.result("gateway_health")["mcpbraid"].get("internal_errors", 0), 0)

    def test_stream_cut_mid_answer_fails_that_call_only(self):
        t0 = time.monotonic()
        msg = self.m.call("tools/call", {"name": "remote__cut", "arguments": {},
                                         "_meta": {"progressToken": "cut-tok"}}, timeout=10)
        self.assertLess(time.monotonic() - t0, 5.0, "a cut stream must fail the call at once")
        self.assertFailed(msg, "remote")
        # The event sent before the cut was relayed.
        self.m.wait_notification("notifications/progress",
                                 lambda n: n["params"]["progressToken"] == "cut-tok")
        self.echo(self.m, "remote__echo", "after cut")
        self.assertEqual(self.srv.stats()["faults"]["cut"], 1)

    def test_health_shows_the_origin(self):
        b = self.backend(self.m, "remote")
        self.assertEqual(b["state"], "ready", b)
        self.assertEqual(b["origin"], self.srv.origin, b)
        self.assertIsNone(b["last_error"], b)
        self.assertIn(self.srv.origin, tool_text(self.m.call_tool("gateway_health")))
        servers = self.m.result("gateway_list_servers")["servers"]
        self.assertEqual([s["name"] for s in servers], ["local", "remote"])

    def test_eof_ends_quickly_and_deletes_the_session(self):
        self.echo(self.m, "remote__echo")
        t0 = time.monotonic()
        self.m.close_stdin()
        self.assertEqual(self.m.wait_exit(8), 0)
        self.assertLess(time.monotonic() - t0, 3.0, "shutdown with a remote backend")
        stats = self.srv.stats()
        self.assertEqual(stats["deletes"], 1, stats)
        self.assertEqual(stats["sessions_open"], 0, stats)
        self.assertEqual(stats["get_open"], 0, stats)
        self.m.assert_no_leftovers()


class JsonResponses(HttpCase):
    """A server that answers POSTs with application/json bodies."""

    def test_json_bodies_and_requests_over_the_get_stream(self):
        srv = self.fixture_server("--json-response")
        m = self.start({"remote": remote(srv.url("/mcp"))}, capabilities={"elicitation": {}})
        self.wait_tools(m, ["remote__echo"])
        self.echo(m, "remote__echo", "json")
        self.assertEqual(tool_text(m.call_tool("remote__slow", {"ms": 100})), "slept 100")
        self.assertTrue(wait_until(lambda: srv.stats()["get_open"] == 1, 5.0, 0.1),
                        "mcpbraid opened no GET stream: %s" % srv.stats())
        # Here the server's request comes on the GET stream, the answer is POSTed back.
        call = m.request("tools/call", {"name": "remote__ask", "arguments": {}})
        req = m.wait_server_request("elicitation/create")
        m.respond(req["id"], {"action": "accept", "content": {"answer": "via GET"}})
        self.assertEqual(json.loads(tool_text(m.wait_response(call)["result"]))["content"],
                         {"answer": "via GET"})


# --------------------------------------------------------------------------- bearer tokens


class Auth(HttpCase):

    def test_bearer_token_from_env(self):
        token = "tok-" + secrets.token_hex(8)
        srv = self.fixture_server("--token", token)
        headers = {"Authorization": "Bearer ${MCPBRAID_ITEST_TOKEN}"}
        m = self.start({"remote": remote(srv.url("/mcp"), headers=headers)},
                       env={"MCPBRAID_ITEST_TOKEN": token})
        self.wait_tools(m, ["remote__echo"])
        self.echo(m, "remote__echo", "authorized")
        stats = srv.stats()
        self.assertEqual(stats["unauthorized"], 0, stats)
        self.assertEqual(stats["authorization_seen"], stats["requests"], "every request had it")

    def check_unauthorized(self, srv, entry, env=None):
        m = self.start({"remote": entry, "local": fixture("local")}, env=env)
        b = self.wait_backend(m, "remote", lambda b: b["state"] == "failed")
        metadata = srv.url("/.well-known/oauth-protected-resource")
        self.assertIn("unauthorized (HTTP 401)", b["last_error"] or "", b)
        self.assertIn(metadata, b["last_error"], b)
        # No retry storm: a 401 is not retried like a crash.
        first = srv.stats()["requests"]
        self.assertLessEqual(first, 3, srv.stats())
        time.sleep(3)
        stats = srv.stats()
        self.assertLessEqual(stats["requests"], 3,
                             "requests to a server that said 401: %s" % stats)
        self.assertEqual(stats["sessions"], 0)
        # Its tools are not listed; calling one is answered (not hung); the rest works.
        names = [t["name"] for t in m.result("tools/list")["tools"]]
        self.assertFalse(any(n.startswith("remote__") for n in names), names)
        msg = m.call("tools/call", {"name": "remote__echo", "arguments": {"text": "x"}})
        self.assertIsNotNone(failure_text(msg), msg)
        self.echo(m, "local__echo", "local still works")
        self.assertEqual(self.backend(m, "remote")["state"], "failed")
        return m

    def test_401_without_token_fails_with_the_reason(self):
        srv = self.fixture_server("--token", "tok-" + secrets.token_hex(8))
        self.check_unauthorized(srv, remote(srv.url("/mcp")))

    def test_401_with_a_wrong_token(self):
        srv = self.fixture_server("--token", "tok-" + secrets.token_hex(8))
        self.check_unauthorized(srv, remote(srv.url("/mcp"),
                                            headers={"Authorization": "Bearer ${WRONG}"}),
                                env={"WRONG": "wrong-" + secrets.token_hex(8)})

    def test_403_to_one_call_refuses_that_call_only(self):
        srv = self.fixture_server("--forbid-tool", "slow")
        m = self.start({"remote": remote(srv.url("/mcp"))})
        self.wait_tools(m, ["remote__slow", "remote__echo"])
        before = self.backend(m, "remote")
        msg = m.call("tools/call", {"name": "remote__slow", "arguments": {"ms": 10}})
        self.assertIn("error", msg, "a 403 is the server's refusal: a JSON-RPC error")
        self.assertFailed(msg, "HTTP 403 from " + srv.origin, "needs a wider scope")
        self.assertEqual(srv.stats()["forbidden"], 1)
        # Not the credentials refused: the server stays ready, and it is no failure.
        after = self.backend(m, "remote")
        self.assertEqual(after["state"], "ready", after)
        self.assertEqual(after["failures"], before["failures"], after)
        self.echo(m, "remote__echo", "still allowed")
        msg = m.call("tools/call", {"name": "remote__slow", "arguments": {"ms": 10}})
        self.assertFailed(msg, "403")
        self.assertEqual(self.backend(m, "remote")["state"], "ready")
        self.assertEqual(srv.stats()["sessions"], 1, "no new session for a 403")

    def test_401_after_initialize_fails_the_server(self):
        srv = self.fixture_server("--revoke-tool", "slow")
        m = self.start({"remote": remote(srv.url("/mcp")), "local": fixture("local")})
        self.wait_tools(m, ["remote__slow", "remote__echo"])
        self.echo(m, "remote__echo", "before")
        msg = m.call("tools/call", {"name": "remote__slow", "arguments": {"ms": 10}})
        self.assertIsNotNone(failure_text(msg), msg)
        b = self.wait_backend(m, "remote", lambda b: b["state"] == "failed")
        self.assertIn("unauthorized (HTTP 401)", b["last_error"] or "", b)
        self.assertIn(srv.url("/.well-known/oauth-protected-resource"), b["last_error"], b)
        time.sleep(1)
        self.assertEqual(srv.stats()["sessions"], 1, "a 401 is not retried: %s" % srv.stats())
        self.assertEqual(self.backend(m, "remote")["state"], "failed")
        self.echo(m, "local__echo", "local still works")


# --------------------------------------------------------------------------- proxies


# No proxy from the machine's environment: only the one a test names.
NO_PROXY_ENV = {k: "" for k in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")}


class Proxy(HttpCase):
    """libcurl alone reads only lower-case http_proxy for http:// URLs; mcpbraid reads
    HTTP_PROXY too, and NO_PROXY."""

    def proxy(self):
        proxy = ForwardingProxy()
        self.addCleanup(proxy.stop)
        return proxy

    def test_upper_case_http_proxy_is_used(self):
        srv = self.fixture_server()
        proxy = self.proxy()
        m = self.start({"remote": remote(srv.url("/mcp"))},
                       env=dict(NO_PROXY_ENV, HTTP_PROXY=proxy.url))
        self.wait_tools(m, ["remote__echo"])
        self.echo(m, "remote__echo", "via the proxy")
        # An SSE answer streams through it: the progress comes before the answer.
        r = m.call_tool("remote__slow", {"ms": 300}, meta={"progressToken": "px"})
        self.assertEqual(tool_text(r), "slept 300")
        m.wait_notification("notifications/progress",
                            lambda n: n["params"]["progressToken"] == "px", count=3)
        posts = proxy.requests("POST")
        self.assertEqual({url for _, url, _ in posts}, {srv.url("/mcp")}, posts)
        methods = [rpc for _, _, rpc in posts]
        for wanted in ("initialize", "notifications/initialized", "tools/list", "tools/call"):
            self.assertIn(wanted, methods, posts)
        # Every POST the server saw came through the proxy.
        self.assertEqual(srv.stats()["posts"], len(posts), (srv.stats(), posts))
        self.assertTrue(wait_until(lambda: proxy.requests("GET"), 5.0, 0.1),
                        "the GET stream did not go through the proxy: %s" % proxy.requests())

    def test_no_proxy_bypasses_it(self):
        srv = self.fixture_server()
        proxy = self.proxy()
        m = self.start({"remote": remote(srv.url("/mcp"))},
                       env=dict(NO_PROXY_ENV, HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1"))
        self.wait_tools(m, ["remote__echo"])
        self.echo(m, "remote__echo", "direct")
        self.assertGreaterEqual(srv.stats()["posts"], 3)
        self.assertEqual(proxy.requests(), [], "NO_PROXY=127.0.0.1 must bypass the proxy")


# --------------------------------------------------------------------------- max_line


class Oversized(HttpCase):
    """An answer longer than max_line fails its call at once, not at the deadline. The
    fixture writes "result" before "id", so the id is not in the kept head: only the
    transport knows which call the answer was for."""

    MAX_LINE = 64 * 1024

    def check_oversized(self, *flags):
        srv = self.fixture_server(*flags)
        m = self.start({"remote": remote(srv.url("/mcp"), failsafe={"timeout": "30s"}),
                        "local": fixture("local")},
                       extra_top=dict(FAST_RESTART, max_line="64KiB"))
        self.wait_tools(m, ["remote__big"])
        fits = m.call_tool("remote__big", {"bytes": 1000})
        self.assertEqual(tool_text(fits), "x" * 1000)
        t0 = time.monotonic()
        msg = m.call("tools/call", {"name": "remote__big",
                                    "arguments": {"bytes": 2 * self.MAX_LINE}}, timeout=15)
        took = time.monotonic() - t0
        self.assertFailed(msg, "remote", "max_line")
        self.assertLess(took, 3.0, "the oversized answer must fail the call at once, not "
                                   "at the 30 s deadline (%.1fs)" % took)
        # The gateway goes on, and so does this server.
        self.echo(m, "remote__echo", "after the big one")
        self.assertEqual(tool_text(m.call_tool("remote__big", {"bytes": 2000})), "x" * 2000)
        self.echo(m, "local__echo")
        self.assertEqual(self.backend(m, "remote")["state"], "ready")
        self.assertEqual(m.result("gateway_health")["mcpbraid"].get("internal_errors", 0), 0)

    def test_oversized_json_answer_fails_that_call_promptly(self):
        self.check_oversized("--json-response")

    def test_oversized_sse_answer_fails_that_call_promptly(self):
        self.check_oversized()


# --------------------------------------------------------------------------- connections


class ShortLane(HttpCase):
    """Answer streams (the GET, the POSTs of requests) use max_connections - 1
    connections; notifications and the client's answers to the server's requests have
    one of their own."""

    def test_answer_to_the_server_does_not_queue_behind_open_streams(self):
        # Three connections: the GET stream and the `ask` POST take both stream ones, so
        # the elicitation answer gets through only on the short lane. Behind them it
        # would wait for the `ask` that waits for it, until the 4 s deadline.
        srv = self.fixture_server()
        m = self.start({"remote": remote(srv.url("/mcp"), max_connections=3,
                                         failsafe={"timeout": "4s"})},
                       capabilities={"elicitation": {}})
        self.wait_tools(m, ["remote__ask"])
        self.assertTrue(wait_until(lambda: srv.stats()["get_open"] == 1, 5.0, 0.1),
                        "mcpbraid opened no GET stream: %s" % srv.stats())
        for answer in ("first", "second"):
            call = m.request("tools/call", {"name": "remote__ask", "arguments": {}})
            req = m.wait_server_request("elicitation/create")
            m.respond(req["id"], {"action": "accept", "content": {"answer": answer}})
            msg = m.wait_response(call, 8)
            self.assertIsNone(failure_text(msg), msg)
            self.assertEqual(json.loads(tool_text(msg["result"]))["content"],
                             {"answer": answer})
        self.assertEqual(srv.stats()["get_open"], 1)

    def test_calls_beyond_max_connections_wait_their_turn(self):
        srv = self.fixture_server()
        m = self.start({"remote": remote(srv.url("/mcp"), max_connections=3,
                                         failsafe={"timeout": "8s"})})
        self.wait_tools(m, ["remote__slow"])
        self.assertTrue(wait_until(lambda: srv.stats()["get_open"] == 1, 5.0, 0.1),
                        "mcpbraid opened no GET stream: %s" % srv.stats())
        t0 = time.monotonic()
        ids = [m.request("tools/call", {"name": "remote__slow", "arguments": {"ms": 400}})
               for _ in range(5)]
        for rid in ids:
            msg = m.wait_response(rid, 10)
            self.assertIsNone(failure_text(msg), msg)
            self.assertEqual(tool_text(msg["result"]), "slept 400")
        # One stream connection left beside the GET: one call at a time.
        self.assertGreaterEqual(time.monotonic() - t0, 5 * 0.4 - 0.1)
        self.assertEqual(self.backend(m, "remote")["failures"], 0)


# --------------------------------------------------------------------------- secrets


class Secrets(HttpCase):
    """Header values, URL userinfo and query strings never appear in trace lines,
    health output or errors."""

    def test_header_values_and_url_secrets_never_shown(self):
        token = "tok-" + secrets.token_hex(8)
        key = "key-" + secrets.token_hex(8)
        query = "qs-" + secrets.token_hex(8)
        password = "pw-" + secrets.token_hex(8)
        denied = "denied-" + secrets.token_hex(8)
        hidden = [token, key, query, password, denied]
        guarded = self.fixture_server("--token", token)
        plain = self.fixture_server()
        refusing = self.fixture_server("--token", "other-" + secrets.token_hex(8))
        servers = {
            "sec": remote(guarded.url("/mcp?api_key=" + query),
                          headers={"Authorization": "Bearer ${MCPBRAID_ITEST_TOKEN}",
                                   "X-Api-Key": key}),
            "userinfo": remote("http://user:%s@127.0.0.1:%d/mcp" % (password, plain.port)),
            "denied": remote(refusing.url("/mcp"), headers={"Authorization": "Bearer " + denied}),
        }
        env = {"MCPBRAID_ITEST_TOKEN": token}
        sock_dir = tempfile.mkdtemp(prefix="mcpbraid-http-")
        self.addCleanup(shutil.rmtree, sock_dir, True)
        sock = os.path.join(sock_dir, "ctl.sock")
        m = self.start(servers, env=env, log_level="trace", args=["--control-socket", sock])
        self.wait_tools(m, ["sec__echo", "userinfo__echo"])
        self.wait_backend(m, "denied", lambda b: b["state"] == "failed")
        self.echo(m, "sec__echo", "secret-free")
        self.echo(m, "userinfo__echo", "secret-free")
        m.call("tools/call", {"name": "sec__fail5xx", "arguments": {}})
        m.call("tools/call", {"name": "sec__cut", "arguments": {}})
        self.assertEqual(guarded.stats()["unauthorized"], 0, "the token did reach the server")

        shown = {
            "gateway_health": json.dumps(m.result("gateway_health")),
            "gateway_health tool": json.dumps(m.call_tool("gateway_health")),
            "gateway_list_servers": json.dumps(m.result("gateway_list_servers")),
        }
        for fmt in ("json", "table", "prometheus"):
            r = subprocess.run([MCPBRAID, "health", "--socket", sock, "--format", fmt],
                               capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
            self.assertIn(r.returncode, (0, 1), r)
            shown["health --format " + fmt] = r.stdout.decode() + r.stderr.decode()
        probe_env = dict(os.environ, MCPBRAID_LOG="trace", **env, **NO_PROXY)
        r = subprocess.run([MCPBRAID, "health", "--probe", "-c", m.config_path, "--json"],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                           env=probe_env)
        self.assertIn(r.returncode, (0, 1), r)
        shown["health --probe"] = r.stdout.decode() + r.stderr.decode()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        shown["mcpbraid stderr (trace)"] = m.stderr
        self.assertIn("sec", shown["mcpbraid stderr (trace)"])
        for where, text in shown.items():
            for secret in hidden:
                with self.subTest(where=where, secret=secret[:4]):
                    self.assertNotIn(secret, text, "%s shows a secret" % where)
        # The origins are shown, for a human to tell the servers apart.
        self.assertIn(guarded.origin, shown["gateway_health"])
        self.assertIn(plain.origin, shown["gateway_health"])

    def test_probe_reaches_a_remote_server(self):
        srv = self.fixture_server()
        cfg = self.temp_config(mcptest.config_doc({"remote": remote(srv.url("/mcp"))}))
        r = subprocess.run([MCPBRAID, "health", "--probe", "-c", cfg, "--json"],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, **NO_PROXY))
        self.assertEqual(r.returncode, 0, r)
        b = json.loads(r.stdout)["backends"]["remote"]
        self.assertEqual((b["state"], b["tools"], b["origin"]),
                         ("ready", len(HTTP_TOOLS), srv.origin), b)
        stats = srv.stats()
        self.assertEqual(stats["sessions"], 1, stats)
        self.assertEqual(stats["sessions_open"], 0, "the probe ends its session: %s" % stats)


# --------------------------------------------------------------------------- session expiry


class SessionExpiry(HttpCase):
    """A 404 to a request that carried the session id: the session expired. mcpbraid
    re-initializes once and re-sends that request; only answers still owed on the old
    session fail."""

    LIMIT = 10  # POSTs a session serves (initialize included)

    def call_until_expired(self, m, srv, prefix="e"):
        for i in range(3 * self.LIMIT):
            self.echo(m, "remote__echo", "%s%d" % (prefix, i))
            if srv.stats()["expired"] >= 1:
                return i
        self.fail("the session never expired: %s" % srv.stats())

    def test_expired_session_is_reinitialized_transparently(self):
        srv = self.fixture_server("--expire-after", str(self.LIMIT))
        m = self.start({"remote": remote(srv.url("/mcp"))})
        self.wait_tools(m, ["remote__echo"])
        self.call_until_expired(m, srv)
        self.echo(m, "remote__echo", "on the new session")
        self.assertEqual(tool_text(m.call_tool("remote__sessions")), "2")
        stats = srv.stats()
        self.assertEqual((stats["sessions"], stats["expired"]), (2, 1), stats)
        self.assertEqual(self.backend(m, "remote")["state"], "ready")
        # Same tools after the re-initialize: no list_changed.
        self.assertEqual(m.notifications_of("notifications/tools/list_changed"), [])

    def test_answers_owed_on_the_old_session_fail_clearly(self):
        srv = self.fixture_server("--expire-after", str(self.LIMIT))
        m = self.start({"remote": remote(srv.url("/mcp"))})
        self.wait_tools(m, ["remote__echo"])
        owed = m.request("tools/call", {"name": "remote__slow", "arguments": {"ms": 6000}})
        time.sleep(0.2)
        t0 = time.monotonic()
        self.call_until_expired(m, srv)
        msg = m.wait_response(owed, 4)
        self.assertLess(time.monotonic() - t0, 4.0, "the owed answer must fail at once")
        self.assertFailed(msg, "remote")
        self.echo(m, "remote__echo", "after")
        self.assertEqual(srv.stats()["sessions"], 2)

    def test_answers_owed_fail_at_once_even_if_the_old_streams_stay_open(self):
        # A server that forgets a session without ending its streams: the owed answer
        # would only fail at its deadline (20 s); it must fail when the session is renewed.
        srv = self.fixture_server("--expire-after", str(self.LIMIT), "--expire-keeps-streams")
        m = self.start({"remote": remote(srv.url("/mcp"))})
        self.wait_tools(m, ["remote__echo"])
        owed = m.request("tools/call", {"name": "remote__slow", "arguments": {"ms": 20000}})
        time.sleep(0.2)
        t0 = time.monotonic()
        self.call_until_expired(m, srv)
        msg = m.wait_response(owed, 4)
        self.assertLess(time.monotonic() - t0, 4.0, "the owed answer must fail at once")
        self.assertFailed(msg, "remote")
        self.assertIn("session expired before it answered", json.dumps(msg))
        self.echo(m, "remote__echo", "after")


# --------------------------------------------------------------------------- the GET stream


class GetStream(HttpCase):

    def test_dropped_get_stream_is_reopened(self):
        srv = self.fixture_server("--drop-get-after", "500")
        m = self.start({"remote": remote(srv.url("/mcp"))})
        self.wait_tools(m, ["remote__echo"])
        reopened = wait_until(lambda: (lambda s: s["get_dropped"] == 1 and s["gets"] >= 2 and
                                       s["get_open"] == 1)(srv.stats()), 10.0, 0.1)
        self.assertTrue(reopened, "GET stream not reopened: %s" % srv.stats())
        # A list_changed sent on the new stream reaches the client.
        m.call_tool("remote__notify_changed")
        m.wait_notification("notifications/tools/list_changed", timeout=5)
        self.wait_tools(m, ["remote__added_1"])
        stats = srv.stats()
        self.assertEqual(stats["sessions"], 1, "a dropped GET is not a lost session: %s" % stats)
        self.assertLessEqual(stats["gets"], 3, "no reconnect storm: %s" % stats)


# --------------------------------------------------------------------------- HTTP+SSE


class LegacySse(HttpCase):
    """http_server.mjs --sse over `"type": "sse"`."""

    def test_tools_progress_requests_and_list_changed(self):
        srv = self.fixture_server("--sse")
        m = self.start({"old": remote(srv.url("/sse"), "sse"), "local": fixture("local")},
                       capabilities={"elicitation": {}})
        names = self.wait_tools(m, ["old__" + t for t in HTTP_TOOLS])
        self.assertEqual(sorted(n for n in names if n.startswith("old__")),
                         sorted("old__" + t for t in HTTP_TOOLS))
        self.echo(m, "old__echo", "over sse")
        m.call_tool("old__slow", {"ms": 250}, meta={"progressToken": "sse-tok"})
        got = m.wait_notification("notifications/progress",
                                  lambda n: n["params"]["progressToken"] == "sse-tok", count=3)
        self.assertEqual([n["params"]["progress"] for n in got], [1, 2, 3])
        call = m.request("tools/call", {"name": "old__ask", "arguments": {}})
        req = m.wait_server_request("elicitation/create")
        m.respond(req["id"], {"action": "accept", "content": {"answer": "sse"}})
        self.assertIn('"sse"', tool_text(m.wait_response(call)["result"]))
        m.call_tool("old__notify_changed")
        m.wait_notification("notifications/tools/list_changed", timeout=5)
        self.wait_tools(m, ["old__added_1"])
        msg = m.call("tools/call", {"name": "old__fail5xx", "arguments": {}})
        self.assertFailed(msg, "old")
        self.echo(m, "old__echo", "after 500")
        self.assertEqual(self.backend(m, "old")["origin"], srv.origin)

    def test_cancel_is_posted(self):
        srv = self.fixture_server("--sse")
        m = self.start({"old": remote(srv.url("/sse"), "sse")})
        self.wait_tools(m, ["old__slow"])
        m.request("tools/call", {"name": "old__slow", "arguments": {"ms": 4000}}, id="s-1")
        time.sleep(0.4)
        m.notify("notifications/cancelled", {"requestId": "s-1"})
        self.assertTrue(wait_until(lambda: srv.stats()["aborted"] == 1, 3.0, 0.1), srv.stats())
        self.echo(m, "old__echo", "after cancel")

    def test_dropped_stream_reconnects_and_reinitializes(self):
        srv = self.fixture_server("--sse", "--drop-get-after", "800")
        m = self.start({"old": remote(srv.url("/sse"), "sse")})
        self.wait_tools(m, ["old__echo"])
        self.echo(m, "old__echo", "first")
        again = wait_until(lambda: (lambda s: s["get_dropped"] == 1 and s["gets"] >= 2 and
                                    s["sessions"] >= 2)(srv.stats()), 10.0, 0.1)
        self.assertTrue(again, "no reconnect after the SSE stream ended: %s" % srv.stats())
        ok = wait_until(lambda: failure_text(m.call("tools/call", {
            "name": "old__echo", "arguments": {"text": "x"}})) is None, 10.0, 0.3)
        self.assertTrue(ok, "calls never worked again after the reconnect")
        self.assertEqual(tool_text(m.call_tool("old__sessions")), "2")

    def test_eof_closes_the_stream(self):
        srv = self.fixture_server("--sse")
        m = self.start({"old": remote(srv.url("/sse"), "sse")})
        self.wait_tools(m, ["old__echo"])
        self.assertEqual(srv.stats()["get_open"], 1)
        t0 = time.monotonic()
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertTrue(wait_until(lambda: srv.stats()["get_open"] == 0, 2.0, 0.05), srv.stats())


# --------------------------------------------------------------------------- server-everything


class Everything(HttpCase):
    """The reference server in both HTTP modes, through each config form."""

    def check_everything(self, m, name):
        self.wait_tools(m, ["%s__echo" % name, "%s__get-sum" % name])
        self.assertEqual(tool_text(m.call_tool(name + "__echo", {"message": "hi"})), "Echo: hi")
        self.assertEqual(tool_text(m.call_tool(name + "__get-sum", {"a": 40, "b": 2})),
                         "The sum of 40 and 2 is 42.")
        r = m.call_tool(name + "__trigger-long-running-operation", {"duration": 0.6, "steps": 3},
                        meta={"progressToken": name + "-tok"}, timeout=15)
        self.assertEqual(tool_text(r), "Long running operation completed. "
                                       "Duration: 0.6 seconds, Steps: 3.")
        got = m.wait_notification("notifications/progress",
                                  lambda n: n["params"]["progressToken"] == name + "-tok", count=3)
        self.assertEqual([(n["params"]["progress"], n["params"]["total"]) for n in got],
                         [(1, 3), (2, 3), (3, 3)])

    def test_streamable_http(self):
        ev = self.everything("streamableHttp")
        m = self.start({"ev": remote(ev.url("/mcp")), "local": fixture("local")})
        self.check_everything(m, "ev")
        self.echo(m, "local__echo")
        self.assertEqual(self.backend(m, "ev")["origin"], ev.origin)
        m.close_stdin()
        self.assertEqual(m.wait_exit(8), 0)
        self.assertTrue(wait_until(lambda: "Received session termination request" in ev.stdout(),
                                   2.0), "no DELETE at shutdown:\n%s" % ev.stdout()[-2000:])

    def test_type_aliases(self):
        ev = self.everything("streamableHttp")
        m = self.start({"a": remote(ev.url("/mcp"), "streamable-http"),
                        "b": remote(ev.url("/mcp"), "streamableHttp"),
                        "c": {"type": "http", "serverUrl": ev.url("/mcp")}})
        for name in ("a", "b", "c"):
            self.assertEqual(tool_text(m.call_tool(name + "__echo", {"message": name})),
                             "Echo: " + name)

    def test_sse(self):
        ev = self.everything("sse")
        m = self.start({"ev": remote(ev.url("/sse"), "sse")})
        self.check_everything(m, "ev")

    def test_url_without_type_streamable(self):
        ev = self.everything("streamableHttp")
        m = self.start({"ev": remote(ev.url("/mcp"), None)})
        self.check_everything(m, "ev")
        self.assertIn("Session initialized with ID", ev.stdout())

    def test_url_without_type_falls_back_to_sse(self):
        ev = self.everything("sse")  # POST /sse is a 404 there
        m = self.start({"ev": remote(ev.url("/sse"), None)})
        self.check_everything(m, "ev")
        self.assertIn("Client Connected", ev.stderr())

    def test_url_without_type_fallback_on_our_fixture(self):
        srv = self.fixture_server("--sse")
        m = self.start({"old": remote(srv.url("/sse"), None)})
        self.wait_tools(m, ["old__echo"])
        self.echo(m, "old__echo", "fell back")
        stats = srv.stats()
        self.assertEqual(stats["gets"], 1, stats)
        self.assertEqual(stats["sessions"], 1, stats)
        self.assertLessEqual(stats["requests"] - stats["posts"] - stats["gets"], 2,
                             "one or two POSTs to /sse before the fallback: %s" % stats)

    def test_restarted_server_answering_400_gets_a_new_session(self):
        # server-everything answers an unknown session id with 400, not 404: mcpbraid must
        # still notice the lost connection and re-initialize.
        ev = self.everything("streamableHttp")
        m = self.start({"ev": remote(ev.url("/mcp"))})
        self.wait_tools(m, ["ev__echo"])
        self.assertEqual(tool_text(m.call_tool("ev__echo", {"message": "1"})), "Echo: 1")
        port = ev.port
        ev.stop()
        ev2 = self.everything("streamableHttp", port=port)

        def works():
            msg = m.call("tools/call", {"name": "ev__echo", "arguments": {"message": "2"}},
                         timeout=10)
            return failure_text(msg) is None and tool_text(msg["result"]) == "Echo: 2"
        self.assertTrue(wait_until(works, 20.0, 0.5), "never recovered after the restart\n%s"
                        % m.stderr_tail())
        self.assertIn("Session initialized with ID", ev2.stdout())
        self.wait_backend(m, "ev", lambda b: b["state"] == "ready")


# --------------------------------------------------------------------------- config


class RemoteConfig(HttpCase):

    def check_bad(self, servers, *needles, top=None):
        doc = {"mcpServers": servers} if top is None else top
        path = self.temp_config(doc)
        rc, out, err, _, _ = mcptest.run_oneshot(path, stdin_data=b"", timeout=10)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, b"")
        for needle in needles:
            self.assertIn(needle, err)

    def test_bad_remote_entries_are_config_errors(self):
        self.check_bad({"bad": {"type": "http", "url": "ftp://127.0.0.1/mcp"}}, "bad")
        self.check_bad({"bad": {"type": "http", "url": "not a url"}}, "bad")
        self.check_bad({"both": {"command": "true", "url": "http://127.0.0.1:1/mcp"}}, "both")
        self.check_bad({"hdr": {"type": "http", "url": "http://127.0.0.1:1/mcp",
                                "headers": {"X-N": 5}}}, "hdr")

    def test_vscode_servers_alias(self):
        srv = self.fixture_server()
        m = self.start(None, config={"servers": {"remote": remote(srv.url("/mcp"))}})
        self.echo(m, "remote__echo", "vscode")
        entry = {"remote": remote(srv.url("/mcp"))}
        self.check_bad(None, "servers", "mcpServers", top={"servers": entry, "mcpServers": entry})

    def test_unreachable_server_does_not_hold_the_others(self):
        # A port nothing listens on: connection refused, a failure, the others go on.
        srv = self.fixture_server()
        dead = srv.port
        srv.stop()
        t0 = time.monotonic()
        m = self.start({"gone": remote("http://127.0.0.1:%d/mcp" % dead),
                        "local": fixture("local")})
        self.assertLess(time.monotonic() - t0, 6.0)
        self.echo(m, "local__echo")
        b = self.wait_backend(m, "gone", lambda b: b["state"] in ("backoff", "failed") and
                              b["last_error"])
        self.assertIn("127.0.0.1:%d" % dead, json.dumps(b))


if __name__ == "__main__":
    mcptest.main()
