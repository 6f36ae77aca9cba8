"""MCP 2026-07-28 toward the client over a raw pipe: server/discover before (or
instead of) initialize, per-request envelopes and their errors, results shaped
for the revision (resultType, ttlMs/cacheScope, serverInfo in _meta), the
removed methods, and a legacy request on the same stdin seeing what it always
saw."""

import json
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture  # noqa: E402

VERSION = "2026-07-28"
PV = "io.modelcontextprotocol/protocolVersion"
CI = "io.modelcontextprotocol/clientInfo"
CC = "io.modelcontextprotocol/clientCapabilities"
LL = "io.modelcontextprotocol/logLevel"
SI = "io.modelcontextprotocol/serverInfo"
ALL_VERSIONS = [VERSION, "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]


def envelope(version=VERSION, caps=None, info=None, **extra):
    meta = {PV: version, CC: caps if caps is not None else {},
            CI: info or {"name": "modern-itest", "version": "2.0"}}
    meta.update(extra)
    return meta


def with_meta(params=None, **kw):
    params = dict(params or {})
    params["_meta"] = envelope(**kw)
    return params


REPLAY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "fixtures", "replay_backend.py")
REFUSAL = ('{"jsonrpc":"2.0","id":$ID,"error":{"code":-32022,"message":"Unsupported protocol '
           'version","data":{"supported":%s,"requested":"2025-11-25"}}}')
DISCOVER = ('{"jsonrpc":"2.0","id":$ID,"result":{"supportedVersions":["2026-07-28"],'
            '"capabilities":{"tools":{},"logging":{}},"instructions":"stateless replay",'
            '"resultType":"complete","_meta":{"%s":{"name":"replay-modern","version":"3"}}}}' % SI)


class Modern(mcptest.MuxTestCase):

    def replay(self, script):
        fd, path = tempfile.mkstemp(prefix="mcpbraid-modern-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(script, f)
        self.addCleanup(os.unlink, path)
        return {"command": sys.executable, "args": [REPLAY, path]}

    def stateless_replay(self, failsafe=None):
        entry = self.replay({"initialize_raw": REFUSAL % '["2026-07-28"]', "discover_raw": DISCOVER})
        if failsafe:
            entry["failsafe"] = failsafe
        return entry

    @staticmethod
    def asking(*methods):
        """emit arguments: answer the call input_required, asking for `methods`."""
        requests = {"k%d" % i: {"method": m, "params": {"message": "which?",
                                                         "requestedSchema": {"type": "object"}}}
                    for i, m in enumerate(methods)}
        line = json.dumps({"jsonrpc": "2.0", "id": 0, "result": {
            "resultType": "input_required", "inputRequests": requests, "requestState": "s1"}})
        return {"lines": [line.replace('"id": 0', '"id": $ID')], "then": "none"}

    def test_a_cancel_of_a_call_waiting_for_input_withdraws_the_asks_at_the_client(self):
        m = self.mux({"r": self.stateless_replay()})
        m.initialize(capabilities={"elicitation": {}, "sampling": {}})
        call = m.request("tools/call", {"name": "r__emit",
                                        "arguments": self.asking("elicitation/create",
                                                                 "sampling/createMessage")})
        asks = [m.wait_server_request("elicitation/create"),
                m.wait_server_request("sampling/createMessage")]
        ids = sorted(a["id"] for a in asks)
        self.assertTrue(all(i.startswith("mcpbraid-input-") for i in ids), ids)
        m.notify("notifications/cancelled", {"requestId": call, "reason": "user gave up"})
        got = m.wait_notification("notifications/cancelled", count=2)
        self.assertEqual(sorted(n["params"]["requestId"] for n in got), ids)
        self.assertEqual({n["params"]["reason"] for n in got}, {"user gave up"})
        self.assertEqual(m.result("ping"), {})
        self.assertFalse(m.has_response(call))  # a cancelled request gets no answer
        # A late answer to a withdrawn ask is dropped quietly.
        m.respond(ids[0], {"action": "decline"})
        self.assertEqual(m.result("ping"), {})

    def test_a_round_the_client_never_answers_ends_at_max_timeout(self):
        m = self.mux({"r": self.stateless_replay({"timeout": "300ms", "max_timeout": "1s"})})
        m.initialize(capabilities={"elicitation": {}})
        call = m.request("tools/call", {"name": "r__emit",
                                        "arguments": self.asking("elicitation/create")})
        ask = m.wait_server_request("elicitation/create")
        err = m.wait_response(call, timeout=5)["error"]
        self.assertEqual(err["code"], -32603)
        self.assertIn("did not answer the server's request for input within 1000 ms",
                      err["message"])
        got = m.wait_notification("notifications/cancelled")
        self.assertEqual(got[0]["params"]["requestId"], ask["id"])

    def test_one_refused_ask_answers_the_call_and_withdraws_the_others(self):
        m = self.mux({"r": self.stateless_replay()})
        m.initialize(capabilities={"elicitation": {}, "sampling": {}})
        call = m.request("tools/call", {"name": "r__emit",
                                        "arguments": self.asking("elicitation/create",
                                                                 "sampling/createMessage")})
        elicit = m.wait_server_request("elicitation/create")
        sample = m.wait_server_request("sampling/createMessage")
        m.respond_error(sample["id"], -1, "user rejected sampling")
        err = m.wait_response(call)["error"]
        self.assertEqual(err["code"], -1)
        self.assertIn("user rejected sampling", err["message"])
        got = m.wait_notification("notifications/cancelled")
        self.assertEqual([n["params"]["requestId"] for n in got], [elicit["id"]])

    def test_a_backend_that_refuses_initialize_for_2026_07_28_is_discovered(self):
        told = ('{"jsonrpc":"2.0","method":"notifications/message",'
                '"params":{"level":"error","data":"initialized was sent"}}')
        m = self.mux({"r": self.replay({"initialize_raw": REFUSAL % '["2026-07-28"]',
                                        "discover_raw": DISCOVER, "on_initialized": [told]}),
                      "a": fixture("a")})
        init = m.initialize(capabilities={"elicitation": {}},
                            client_info={"name": "legacy-itest", "version": "1.5"})
        self.assertIn("## r\nstateless replay", init["instructions"])
        self.assertIn("backend.stateless", m.stderr)
        # Every request to it carries the envelope: the client's info and capabilities.
        meta = json.loads(mcptest.tool_text(m.call_tool("r__meta")))
        self.assertEqual(len(meta.pop("traceparent")), 55)  # SEP-414: a trace per request
        self.assertEqual(meta, {PV: VERSION, CI: {"name": "legacy-itest", "version": "1.5"},
                                CC: {"elicitation": {}}})
        # No setLevel for it: the level rides in the envelope from then on.
        m.result("logging/setLevel", {"level": "warning"})
        meta = json.loads(mcptest.tool_text(m.call_tool("r__meta")))
        self.assertEqual(meta[LL], "warning")
        self.assertNotIn("logging/setLevel", self.backend_methods(m))
        self.assertIn("tools/list", self.backend_methods(m))
        self.assertFalse([n for n in m.notifications_of("notifications/message")
                          if n["params"]["data"] == "initialized was sent"])
        health = m.result("gateway_health")["backends"]
        self.assertEqual((health["r"]["protocol"], health["r"]["era"]), (VERSION, "stateless"))
        self.assertEqual((health["a"]["protocol"], health["a"]["era"]), ("2025-11-25", "handshake"))
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

    def test_a_requests_log_level_rides_in_its_envelope_to_a_stateless_backend(self):
        m = self.mux({"r": self.replay({"initialize_raw": REFUSAL % '["2026-07-28"]',
                                        "discover_raw": DISCOVER})})

        def meta(**extra):
            params = {"name": "r__meta", "arguments": {}, "_meta": envelope(**extra)}
            return json.loads(mcptest.tool_text(m.result("tools/call", params)))

        self.assertEqual(meta(**{LL: "notice"})[LL], "notice")
        self.assertNotIn(LL, meta())  # per request: the next one has none
        self.assertNotIn("logging/setLevel", self.backend_methods(m))

    def backend_methods(self, m):
        # The replay backend logs nothing it is sent; the trace has our requests.
        return [mcptest.line_field(line, "method") for line in m.stderr.splitlines()
                if "event=backend.response" in line and "server=r" in line]

    def test_resources_subscribe_toward_a_stateless_backend_rides_on_its_listen(self):
        discover = DISCOVER.replace('"capabilities":{"tools":{},"logging":{}}',
                                    '"capabilities":{"tools":{},"logging":{},'
                                    '"resources":{"subscribe":true,"listChanged":true}}')
        # The backend logs each listen it gets, and says a resource changed on it.
        said = ('{"jsonrpc":"2.0","method":"notifications/message",'
                '"params":{"level":"info","logger":"listen","data":$PARAMS}}')
        updated = ('{"jsonrpc":"2.0","method":"notifications/resources/updated","params":'
                   '{"uri":"note://one","_meta":{"io.modelcontextprotocol/subscriptionId":$ID}}}')
        m = self.mux({"r": self.replay({"initialize_raw": REFUSAL % '["2026-07-28"]',
                                        "discover_raw": discover,
                                        "resources": [{"uri": "note://one", "name": "one"}],
                                        "answers": {"subscriptions/listen": [said, updated]}})})
        m.initialize()
        init_filter = {"resourcesListChanged": True}

        def listens():
            return [n["params"]["data"]["notifications"] for n in m.notifications_of("notifications/message")
                    if n["params"].get("logger") == "listen"]
        self.assertTrue(mcptest.wait_until(lambda: listens() == [init_filter], 5), listens())
        self.assertEqual(m.result("resources/subscribe", {"uri": "note://one"}), {})
        self.assertTrue(mcptest.wait_until(lambda: len(listens()) == 2, 5), listens())
        self.assertEqual(listens()[1], dict(init_filter, resourceSubscriptions=["note://one"]))
        # Its update reaches the client as a plain resources/updated.
        got = m.wait_notification("notifications/resources/updated", count=2)
        self.assertEqual(got[-1]["params"], {"uri": "note://one"})
        self.assertEqual(m.result("resources/unsubscribe", {"uri": "note://one"}), {})
        self.assertTrue(mcptest.wait_until(lambda: len(listens()) == 3, 5), listens())
        self.assertEqual(listens()[2], init_filter)
        self.assertNotIn("resources/subscribe", self.backend_methods(m))
        # Each listen withdrew the one before it at the backend.
        ids = [(mcptest.line_field(l, "id"), mcptest.line_field(l, "replaces"))
               for l in m.stderr.splitlines() if "event=backend.listen" in l]
        self.assertEqual([r for _, r in ids[1:]], [i for i, _ in ids[:-1]])

    def test_a_stateless_backends_list_is_kept_for_its_ttl(self):
        def listing(ttl):
            return ('{"jsonrpc":"2.0","id":$ID,"result":{"tools":[{"name":"t","inputSchema":'
                    '{"type":"object"}}],"resultType":"complete","ttlMs":%d,"cacheScope":"public"}}'
                    % ttl)
        base = {"initialize_raw": REFUSAL % '["2026-07-28"]', "discover_raw": DISCOVER}
        m = self.mux({"r": self.replay(dict(base, tools_list_raw=listing(2000))),
                      "z": self.replay(dict(base, tools_list_raw=listing(0)))})
        m.initialize()

        def fetched(server):
            return [l for l in m.stderr.splitlines() if "event=backend.response" in l
                    and "server=%s" % server in l and "method=tools/list" in l]
        for _ in range(3):
            names = [t["name"] for t in m.result("tools/list")["tools"] if t["name"].endswith("__t")]
            self.assertEqual(sorted(names), ["r__t", "z__t"])
        # stderr is read by its own thread: wait for the lines, not only the answers.
        self.assertTrue(mcptest.wait_until(lambda: len(fetched("z")) == 3, 5),
                        fetched("z"))  # ttlMs 0: stale at once, fetched each time
        self.assertEqual(len(fetched("r")), 1)  # fresh for 2 s
        mcptest.wait_until(lambda: False, 2.1)
        m.result("tools/list")
        self.assertTrue(mcptest.wait_until(lambda: len(fetched("r")) == 2, 5), fetched("r"))
        self.assertIn("backend.list_expired", m.stderr)

    def test_a_refusal_without_2026_07_28_or_a_failed_discover_fails_the_backend(self):
        cases = [
            ("no 2026-07-28", {"initialize_raw": REFUSAL % '["2027-01-01"]'},
             "initialize failed: Unsupported protocol version"),
            ("discover refused", {"initialize_raw": REFUSAL % '["2026-07-28"]'},
             "server/discover failed: Method not found: server/discover"),
            ("discover without 2026-07-28", {
                "initialize_raw": REFUSAL % '["2026-07-28"]',
                "discover_raw": DISCOVER.replace('["2026-07-28"]', '["2025-11-25"]')},
             "server/discover failed: server/discover does not list 2026-07-28"),
        ]
        for what, script, reason in cases:
            with self.subTest(what):
                m = self.mux({"r": self.replay(script), "a": fixture("a")})
                m.initialize()
                r = m.result("gateway_health")["backends"]["r"]
                self.assertEqual(r["state"], "failed")
                self.assertEqual(r["last_error"], reason)
                self.assertIsNone(r["era"])
                # The other backend serves on.
                self.assertEqual(mcptest.tool_text(m.call_tool("a__echo", {"text": "ok"})), "ok")
                m.close_stdin()
                self.assertEqual(m.wait_exit(10), 0)

    def test_discover_without_initialize_then_calls(self):
        m = self.mux({"a": fixture("a", "--instructions", "Use a."), "b": fixture("b")})
        r = m.result("server/discover", with_meta(caps={"sampling": {}, "elicitation": {},
                                                         "experimental": {"x": {}}}))
        self.assertEqual(r["resultType"], "complete")
        self.assertEqual(r["supportedVersions"], ALL_VERSIONS)
        self.assertEqual(r["ttlMs"], 0)
        self.assertEqual(r["cacheScope"], "private")
        self.assertEqual(r["_meta"][SI]["name"], "mcpbraid")
        self.assertNotIn("serverInfo", r)
        self.assertNotIn("protocolVersion", r)
        for kind in ("tools", "prompts", "resources", "completions", "logging"):
            self.assertIn(kind, r["capabilities"])
        self.assertIn("## a\nUse a.", r["instructions"])

        # A call with its envelope: the result carries resultType and serverInfo.
        res = m.result("tools/call", with_meta({"name": "a__echo", "arguments": {"text": "hi"}}))
        self.assertEqual(mcptest.tool_text(res), "hi")
        self.assertEqual(res["resultType"], "complete")
        self.assertEqual(res["_meta"][SI]["name"], "mcpbraid")
        self.assertEqual(res["structuredContent"], {"echo": "hi"})
        self.assertNotIn("ttlMs", res)

        # Backends were initialized for this client: its clientInfo, and the
        # capabilities the gateway serves to them (sampling and elicitation
        # through input_required rounds; experimental is not relayed).
        stats = m.result("tools/call", with_meta({"name": "a__stats"}))["structuredContent"]
        self.assertTrue(stats["initialized"])
        self.assertEqual(stats["clientInfo"], {"name": "modern-itest", "version": "2.0"})
        self.assertEqual(stats["clientCapabilities"], {"sampling": {}, "elicitation": {}})
        self.assertEqual(stats["protocolVersion"], "2025-11-25")
        self.assertIn("client.discover", m.stderr)
        self.assertNotIn("client.initialize", m.stderr)
        m.assert_stdout_clean()
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

    def test_first_request_needs_no_discover_and_no_initialize(self):
        # The TS v2 client's real session starts with the app's first call.
        m = self.mux({"a": fixture("a")})
        r = m.result("tools/list", with_meta(), id=0)
        self.assertEqual(r["resultType"], "complete")
        self.assertEqual(r["ttlMs"], 0)
        self.assertEqual(r["cacheScope"], "private")
        self.assertEqual(r["_meta"][SI]["name"], "mcpbraid")
        self.assertIn("a__echo", [t["name"] for t in r["tools"]])
        for method, params in [("prompts/list", {}), ("resources/list", {}),
                               ("resources/templates/list", {})]:
            with self.subTest(method=method):
                r = m.result(method, with_meta(params))
                self.assertEqual((r["resultType"], r["ttlMs"], r["cacheScope"]),
                                 ("complete", 0, "private"))

    def test_legacy_requests_on_the_same_stdin_are_unchanged(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        legacy = m.result("tools/list")
        for key in ("resultType", "ttlMs", "cacheScope", "_meta"):
            self.assertNotIn(key, legacy)
        modern = m.result("tools/list", with_meta())
        self.assertEqual(modern["resultType"], "complete")
        self.assertEqual([t["name"] for t in modern["tools"]], [t["name"] for t in legacy["tools"]])
        legacy_call = m.call_tool("a__echo", {"text": "x"})
        self.assertNotIn("resultType", legacy_call)
        self.assertEqual(m.result("ping"), {})
        err = m.error("resources/read", {"uri": "nope://x"})
        self.assertEqual(err["code"], -32002)

    def test_envelope_errors(self):
        m = self.mux({"a": fixture("a")})
        no_caps = envelope()
        del no_caps[CC]
        cases = [
            ("missing clientCapabilities", {"_meta": no_caps}, -32602),
            ("clientCapabilities not an object", {"_meta": envelope(caps=[])}, -32602),
            ("version not a string", {"_meta": envelope(version=20260728)}, -32602),
            ("clientInfo without version", {"_meta": envelope(info={"name": "x"})}, -32602),
            ("unknown logLevel", {"_meta": envelope(**{LL: "loud"})}, -32602),
        ]
        for what, params, code in cases:
            with self.subTest(what):
                params = dict(params, name="a__echo", arguments={"text": "x"})
                err = m.error("tools/call", params)
                self.assertEqual(err["code"], code, err)
        # discover with no envelope at all
        err = m.error("server/discover", {})
        self.assertEqual(err["code"], -32602)
        self.assertIn("missing the required _meta envelope", err["message"])
        # A version we do not speak per request.
        for version in ["1999-01-01", "2025-11-25", "2030-01-01"]:
            with self.subTest(version=version):
                err = m.error("tools/list", {"_meta": envelope(version=version)})
                self.assertEqual(err["code"], -32022)
                self.assertEqual(err["data"], {"supported": ALL_VERSIONS, "requested": version})
        # A good log level is accepted, and the session goes on.
        ok = m.result("tools/call", with_meta({"name": "a__echo", "arguments": {"text": "ok"}},
                                              **{LL: "warning"}))
        self.assertEqual(mcptest.tool_text(ok), "ok")
        self.assertIn("client.bad_envelope", m.stderr)

    def test_removed_methods_and_resource_not_found(self):
        m = self.mux({"a": fixture("a")})
        for method, params in [("ping", {}), ("logging/setLevel", {"level": "info"}),
                               ("resources/subscribe", {"uri": "fixture://a/hello"}),
                               ("resources/unsubscribe", {"uri": "fixture://a/hello"})]:
            with self.subTest(method=method):
                err = m.error(method, with_meta(params))
                self.assertEqual(err["code"], -32601, err)
                self.assertIn(VERSION, err["message"])
        err = m.error("resources/read", with_meta({"uri": "nope://x"}))
        self.assertEqual(err["code"], -32602)
        self.assertEqual(err["data"], {"uri": "nope://x"})
        self.assertEqual(m.error("no/such", with_meta())["code"], -32601)

    CAPS = {"sampling": {}, "elicitation": {}, "roots": {}}

    def ask(self, m, tool, args, id=None, caps=None):
        """A modern tools/call that must come back input_required: (request, state, key, id)."""
        params = with_meta({"name": tool, "arguments": args},
                           caps=self.CAPS if caps is None else caps)
        msg = m.call("tools/call", params, timeout=5, id=id)
        r = msg["result"]
        self.assertEqual(r["resultType"], "input_required", r)
        self.assertEqual(r["_meta"][SI]["name"], "mcpbraid")
        self.assertIsInstance(r["requestState"], str)
        (key, request), = r["inputRequests"].items()
        self.assertNotIn("id", request)
        self.assertNotIn("jsonrpc", request)
        return request, r["requestState"], key, params

    def retry(self, m, params, state, responses, id=None):
        params = dict(params, requestState=state, inputResponses=responses)
        return m.call("tools/call", params, timeout=5, id=id)

    def test_a_backend_request_during_a_modern_call_is_a_round_trip(self):
        m = self.mux({"a": fixture("a")})
        # sampling/createMessage
        request, state, key, params = self.ask(m, "a__ask_sampling", {"prompt": "p"})
        self.assertEqual(request["method"], "sampling/createMessage")
        self.assertEqual(request["params"]["maxTokens"], 100)
        self.assertEqual(request["params"]["messages"][0]["content"]["text"], "p")
        answer = {"role": "assistant", "content": {"type": "text", "text": "hello"}, "model": "m"}
        done = self.retry(m, params, state, {key: answer})["result"]
        self.assertEqual(mcptest.tool_text(done), "sampled: hello")
        self.assertEqual(done["resultType"], "complete")
        # elicitation/create
        request, state, key, params = self.ask(m, "a__ask_elicit", {"message": "name?"})
        self.assertEqual(request["method"], "elicitation/create")
        self.assertEqual(request["params"]["message"], "name?")
        done = self.retry(m, params, state, {key: {"action": "accept", "content": {"n": "x"}}})
        self.assertIn("elicited:", mcptest.tool_text(done["result"]))
        self.assertIn('"x"', mcptest.tool_text(done["result"]))
        # roots/list
        request, state, key, params = self.ask(m, "a__ask_roots", {})
        self.assertEqual(request["method"], "roots/list")
        roots = [{"uri": "file:///tmp", "name": "tmp"}]
        done = self.retry(m, params, state, {key: {"roots": roots}})["result"]
        self.assertEqual(mcptest.tool_text(done), '[{"name":"tmp","uri":"file:///tmp"}]')
        # No server->client request ever reached stdout, and each id had one answer.
        self.assertEqual(m.unclaimed_server_requests(), [])
        m.assert_stdout_clean()
        self.assertIn("round.ask", m.stderr)

    def test_the_first_id_is_free_again_and_a_missing_response_is_asked_again(self):
        m = self.mux({"a": fixture("a")})
        request, state, key, params = self.ask(m, "a__ask_sampling", {"prompt": "p"}, id=1)
        # The answered id can be used again at once (the call is parked).
        m.request("tools/call", with_meta({"name": "a__echo", "arguments": {"text": "reuse"}}), id=1)
        self.assertTrue(mcptest.wait_until(lambda: m.response_count(1) == 2, 5))
        second = [msg for _, msg in m.messages if msg.get("id") == 1 and "method" not in msg][1]
        self.assertEqual(mcptest.tool_text(second["result"]), "reuse")
        # A retry without the response: the same request again, a new state.
        again = self.retry(m, params, state, {}, id=2)["result"]
        self.assertEqual(again["resultType"], "input_required")
        self.assertNotEqual(again["requestState"], state)
        self.assertEqual(list(again["inputRequests"].values()), [request])
        new_key = next(iter(again["inputRequests"]))
        # The old state is spent: replaying it starts a new call.
        replay = self.retry(m, params, state, {key: {}}, id=3)["result"]
        self.assertEqual(replay["resultType"], "input_required")
        answer = {"role": "assistant", "content": {"type": "text", "text": "late"}, "model": "m"}
        done = self.retry(m, params, again["requestState"], {new_key: answer}, id=4)["result"]
        self.assertEqual(mcptest.tool_text(done), "sampled: late")
        for id in (1, 2, 3, 4):
            self.assertEqual(m.response_count(id), 1 if id != 1 else 2)

    def assert_missing(self, err, capability):
        """A -32021 naming `capability` (basic/index.mdx, MissingRequiredClientCapabilityError)."""
        self.assertEqual(err["code"], -32021, err)
        self.assertEqual(err["data"], {"requiredCapabilities": {capability: {}}}, err)
        self.assertIn(capability, err["message"])

    def test_without_the_capability_the_call_answers_32021(self):
        m = self.mux({"a": fixture("a")})
        # The first envelope declares nothing: the backend's sampling request
        # is this call's input, which the call cannot ask for.
        err = m.error("tools/call", with_meta({"name": "a__ask_sampling",
                                               "arguments": {"prompt": "p"}}), timeout=5)
        self.assert_missing(err, "sampling")
        # The call was cancelled at the backend, and its request refused.
        self.assertTrue(mcptest.wait_until(lambda: len(m.stats("a")["cancelled"]) == 1, 5))
        self.assertEqual(m.unclaimed_server_requests(), [])
        self.assertIn("round.missing_capability", m.stderr)
        # Per request: a call that declares it gets the round trip, the next
        # one that does not gets -32021, though an earlier envelope had it.
        self.ask(m, "a__ask_elicit", {"message": "m"}, caps={"elicitation": {}})
        err = m.error("tools/call", with_meta({"name": "a__ask_elicit", "arguments": {"message": "m"}},
                                              caps={"sampling": {}}), timeout=5)
        self.assert_missing(err, "elicitation")

    def test_a_retry_without_the_capability_answers_32021(self):
        m = self.mux({"a": fixture("a")})
        request, state, key, params = self.ask(m, "a__ask_sampling", {"prompt": "p"}, id=1)
        # The retry answers nothing and drops sampling: what is still missing
        # would be asked again, which this retry's envelope does not allow.
        params = dict(params, _meta=envelope(caps={"roots": {}}))
        msg = self.retry(m, params, state, {}, id=2)
        self.assert_missing(msg["error"], "sampling")
        self.assertEqual(m.response_count(1), 1)
        self.assertEqual(m.response_count(2), 1)
        self.assertTrue(mcptest.wait_until(lambda: len(m.stats("a")["cancelled"]) == 1, 5))
        self.assertEqual(m.unclaimed_server_requests(), [])

    def test_a_requests_log_level_brings_the_backends_log_messages_during_it(self):
        m = self.mux({"a": fixture("a")})

        def log(level, log_level=None):
            extra = {} if log_level is None else {"io.modelcontextprotocol/logLevel": log_level}
            params = {"name": "a__log", "arguments": {"level": level, "message": "at " + level}}
            params["_meta"] = envelope(**extra)
            self.assertEqual(mcptest.tool_text(m.result("tools/call", params)), "logged")

        def messages():
            return [n["params"]["data"] for n in m.notifications_of("notifications/message")]

        log("error")  # no logLevel: the spec's MUST NOT
        log("info", "warning")  # below the request's level
        self.assertEqual(messages(), [])
        # The handshake-era backend was set to the request's level first.
        self.assertEqual(m.stats("a")["logLevel"], "warning")
        log("error", "warning")
        self.assertEqual(messages(), ["at error"])
        # A more verbose request lowers the backend's level; a less verbose
        # one leaves it (other calls may want more), the gateway filters.
        log("debug", "debug")
        self.assertEqual(m.stats("a")["logLevel"], "debug")
        log("notice", "error")
        self.assertEqual(m.stats("a")["logLevel"], "debug")
        log("critical", "error")
        # The fixture logs its new level (at info): that came during the
        # debug call, which asked for it; "level set to warning" did not.
        self.assertEqual(messages(), ["at error", "level set to debug", "at debug", "at critical"])
        self.assertIn("backend.set_level", m.stderr)
        m.assert_stdout_clean()

    def test_a_parked_call_ends_when_the_client_leaves(self):
        m = self.mux({"a": fixture("a")})
        self.ask(m, "a__ask_elicit", {"message": "never answered"})
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertIn("round.ended", m.stderr)
        m.assert_no_leftovers()

    def test_listen_acknowledges_then_carries_list_changed_until_cancelled(self):
        m = self.mux({"a": fixture("a")})
        m.request("subscriptions/listen", with_meta({"notifications": {
            "toolsListChanged": True, "promptsListChanged": False,
            "resourceSubscriptions": ["fixture://a/hello"]}}), id="listen:0")
        ack = m.wait_notification("notifications/subscriptions/acknowledged")[0]["params"]
        self.assertEqual(ack["_meta"], {"io.modelcontextprotocol/subscriptionId": "listen:0"})
        # Only what is honored: tools; resource subscriptions are not served yet.
        self.assertEqual(ack["notifications"], {"toolsListChanged": True})
        m.result("tools/list", with_meta())
        m.result("tools/call", with_meta({"name": "a__add_tool"}))
        changed = m.wait_notification("notifications/tools/list_changed")[0]["params"]
        self.assertEqual(changed, {"_meta": {"io.modelcontextprotocol/subscriptionId": "listen:0"}})
        self.assertFalse(m.has_response("listen:0"))  # a listen is never answered while open
        # Cancelled: no more list_changed.
        m.notify("notifications/cancelled", {"requestId": "listen:0", "_meta": envelope()})
        m.result("tools/list", with_meta())
        m.result("tools/call", with_meta({"name": "a__add_tool"}))
        mcptest.wait_until(lambda: False, 0.3)
        self.assertEqual(len(m.notifications_of("notifications/tools/list_changed")), 1)
        self.assertFalse(m.has_response("listen:0"))
        self.assertIn("client.listen_end", m.stderr)

    def test_listen_errors_and_an_open_listen_at_eof(self):
        m = self.mux({"a": fixture("a")})
        for params in [{}, {"notifications": []}, {"notifications": {"toolsListChanged": 1}},
                       {"notifications": {"resourceSubscriptions": [1]}}]:
            with self.subTest(params=params):
                err = m.error("subscriptions/listen", with_meta(params))
                self.assertEqual(err["code"], -32602)
        m.request("subscriptions/listen", with_meta({"notifications": {}}), id=99)
        ack = m.wait_notification("notifications/subscriptions/acknowledged")[0]["params"]
        self.assertEqual(ack["notifications"], {})
        # An open listen does not keep the gateway alive after stdin closes.
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)
        self.assertFalse(m.has_response(99))
        m.assert_no_leftovers()

    def test_unsolicited_notifications_are_not_sent_to_a_modern_client(self):
        m = self.mux({"a": fixture("a")})
        m.result("tools/list", with_meta())
        # add_tool makes the fixture announce tools/list_changed; log messages
        # and list_changed need a listen stream (or a logLevel) in 2026-07-28.
        m.result("tools/call", with_meta({"name": "a__add_tool"}))
        r = m.result("tools/list", with_meta())
        self.assertIn("a__dynamic", [t["name"] for t in r["tools"]])
        self.assertEqual(m.notifications_of("notifications/tools/list_changed"), [])
        self.assertEqual(m.notifications_of("notifications/message"), [])


if __name__ == "__main__":
    mcptest.main()
