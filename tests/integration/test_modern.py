"""MCP 2026-07-28 toward the client over a raw pipe: server/discover before (or
instead of) initialize, per-request envelopes and their errors, results shaped
for the revision (resultType, ttlMs/cacheScope, serverInfo in _meta), the
removed methods, and a legacy request on the same stdin seeing what it always
saw."""

import os
import sys

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


class Modern(mcptest.MuxTestCase):

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

        # Backends were initialized for this client: its clientInfo, and none of
        # the capabilities a 2026-07-28 client on stdio cannot serve to servers.
        stats = m.result("tools/call", with_meta({"name": "a__stats"}))["structuredContent"]
        self.assertTrue(stats["initialized"])
        self.assertEqual(stats["clientInfo"], {"name": "modern-itest", "version": "2.0"})
        self.assertEqual(stats["clientCapabilities"], {})
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

    def test_server_requests_during_a_modern_call_do_not_reach_stdout(self):
        # Until the input_required translation exists, what a backend asks a
        # 2026-07-28 client is refused to it at once: the call ends, nothing hangs,
        # and no request is written to the client's stdout.
        m = self.mux({"a": fixture("a")})
        for tool, args in [("a__ask_sampling", {"prompt": "p"}), ("a__ask_elicit", {"message": "m"}),
                           ("a__ask_roots", {})]:
            with self.subTest(tool=tool):
                res = m.result("tools/call", with_meta({"name": tool, "arguments": args},
                                                       caps={"sampling": {}, "elicitation": {},
                                                             "roots": {}}), timeout=5)
                self.assertTrue(res.get("isError"), res)
                self.assertIn("2026-07-28", mcptest.tool_text(res))
                self.assertEqual(res["resultType"], "complete")
        self.assertEqual(m.unclaimed_server_requests(), [])
        m.assert_stdout_clean()

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
