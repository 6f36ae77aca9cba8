"""Server->client requests relayed with id mapping: roots/list,
sampling/createMessage, elicitation/create; error answers; a client without the
capability; notifications/roots/list_changed fanned out."""

import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402

ALL_CAPS = {"roots": {"listChanged": True}, "sampling": {}, "elicitation": {}}


class ServerRequests(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b")})
        self.m.initialize(capabilities=ALL_CAPS)

    def check_request_shape(self, req, method):
        self.assertEqual(req["method"], method)
        self.assertEqual(req["jsonrpc"], "2.0")
        self.assertIn(type(req["id"]), (int, str))

    def test_roots_list_relayed(self):
        call_id = self.m.request("tools/call", {"name": "a__ask_roots", "arguments": {}})
        req = self.m.wait_server_request("roots/list")
        self.check_request_shape(req, "roots/list")
        self.assertFalse(self.m.has_response(call_id))
        roots = [{"uri": "file:///tmp/project", "name": "project"}]
        self.m.respond(req["id"], {"roots": roots})
        r = self.m.wait_response(call_id)["result"]
        self.assertEqual(json.loads(tool_text(r)), roots)

    def test_sampling_relayed(self):
        call_id = self.m.request("tools/call", {"name": "b__ask_sampling",
                                                "arguments": {"prompt": "say hi"}})
        req = self.m.wait_server_request("sampling/createMessage")
        self.check_request_shape(req, "sampling/createMessage")
        self.assertEqual(req["params"]["maxTokens"], 100)
        self.assertEqual(req["params"]["messages"],
                         [{"role": "user", "content": {"type": "text", "text": "say hi"}}])
        self.m.respond(req["id"], {"role": "assistant", "model": "test-model",
                                   "content": {"type": "text", "text": "hi there"}})
        r = self.m.wait_response(call_id)["result"]
        self.assertEqual(tool_text(r), "sampled: hi there")
        self.assertNotIn("isError", r)

    def test_elicitation_relayed(self):
        call_id = self.m.request("tools/call", {"name": "a__ask_elicit",
                                                "arguments": {"message": "your name?"}})
        req = self.m.wait_server_request("elicitation/create")
        self.check_request_shape(req, "elicitation/create")
        self.assertEqual(req["params"]["message"], "your name?")
        self.assertEqual(req["params"]["requestedSchema"]["properties"],
                         {"answer": {"type": "string"}})
        self.m.respond(req["id"], {"action": "accept", "content": {"answer": "Ada"}})
        r = self.m.wait_response(call_id)["result"]
        self.assertEqual(tool_text(r), 'elicited: {"action":"accept","content":{"answer":"Ada"}}')

    def test_client_error_answer_relayed(self):
        call_id = self.m.request("tools/call", {"name": "b__ask_sampling",
                                                "arguments": {"prompt": "no"}})
        req = self.m.wait_server_request("sampling/createMessage")
        self.m.respond_error(req["id"], -1, "User rejected sampling request")
        r = self.m.wait_response(call_id)["result"]
        self.assertIs(r.get("isError"), True)
        self.assertEqual(tool_text(r), "sampling error: -1 User rejected sampling request")

    def test_elicitation_decline(self):
        call_id = self.m.request("tools/call", {"name": "b__ask_elicit",
                                                "arguments": {"message": "ok?"}})
        req = self.m.wait_server_request("elicitation/create")
        self.m.respond(req["id"], {"action": "decline"})
        r = self.m.wait_response(call_id)["result"]
        self.assertEqual(tool_text(r), 'elicited: {"action":"decline"}')

    def test_concurrent_requests_from_two_backends_map_back(self):
        # Both fixtures use the id "fx-1" for their first request: the client must
        # see two distinct ids, and each answer must reach the backend that asked.
        ca = self.m.request("tools/call", {"name": "a__ask_roots", "arguments": {}})
        cb = self.m.request("tools/call", {"name": "b__ask_roots", "arguments": {}})
        r1 = self.m.wait_server_request("roots/list")
        r2 = self.m.wait_server_request("roots/list")
        self.assertNotEqual(mcptest.id_key(r1["id"]), mcptest.id_key(r2["id"]))
        # Answer in reverse order with different roots.
        self.m.respond(r2["id"], {"roots": [{"uri": "file:///two"}]})
        self.m.respond(r1["id"], {"roots": [{"uri": "file:///one"}]})
        ta = json.loads(tool_text(self.m.wait_response(ca)["result"]))
        tb = json.loads(tool_text(self.m.wait_response(cb)["result"]))
        self.assertEqual(sorted([ta[0]["uri"], tb[0]["uri"]]), ["file:///one", "file:///two"])
        # Same backend twice in a row: fresh ids each time.
        ids = {mcptest.id_key(r1["id"]), mcptest.id_key(r2["id"])}
        c3 = self.m.request("tools/call", {"name": "a__ask_roots", "arguments": {}})
        r3 = self.m.wait_server_request("roots/list")
        self.assertNotIn(mcptest.id_key(r3["id"]), ids, "client-facing ids are not reused")
        self.m.respond(r3["id"], {"roots": []})
        self.assertEqual(tool_text(self.m.wait_response(c3)["result"]), "[]")

    def test_many_sampling_requests_in_flight(self):
        calls = {}
        for i in range(10):
            server = "a" if i % 2 else "b"
            cid = self.m.request("tools/call", {"name": server + "__ask_sampling",
                                                "arguments": {"prompt": "p%d" % i}})
            calls[cid] = i
        pending = []
        for _ in range(10):
            pending.append(self.m.wait_server_request("sampling/createMessage"))
        self.assertEqual(len({mcptest.id_key(r["id"]) for r in pending}), 10)
        for r in reversed(pending):
            prompt = r["params"]["messages"][0]["content"]["text"]
            self.m.respond(r["id"], {"role": "assistant", "model": "m",
                                     "content": {"type": "text", "text": "re:" + prompt}})
        for cid, i in calls.items():
            self.assertEqual(tool_text(self.m.wait_response(cid)["result"]), "sampled: re:p%d" % i)

    def test_unknown_response_id_from_client_is_ignored(self):
        self.m.respond(987654, {"roots": []})
        self.m.respond("nobody-asked", {})
        self.assertEqual(tool_text(self.m.call_tool("a__echo", {"text": "alive"})), "alive")

    def test_roots_list_changed_fanned_out(self):
        self.assertEqual(self.m.stats("a")["rootsListChanged"], 0)
        self.m.notify("notifications/roots/list_changed")
        self.m.notify("notifications/roots/list_changed")
        for server in ("a", "b"):
            ok = mcptest.wait_until(lambda: self.m.stats(server)["rootsListChanged"] == 2, 3.0, 0.1)
            self.assertTrue(ok, "%s saw %s roots/list_changed" % (
                server, self.m.stats(server)["rootsListChanged"]))


class WithoutCapabilities(mcptest.MuxTestCase):

    def test_client_without_sampling_gets_method_not_found_at_backend(self):
        m = self.mux({"a": fixture("a")})
        m.initialize(capabilities={"roots": {}})
        r = m.call_tool("a__ask_sampling", {"prompt": "x"})
        self.assertIs(r.get("isError"), True)
        self.assertTrue(tool_text(r).startswith("sampling error: -32601"), tool_text(r))
        r = m.call_tool("a__ask_elicit", {"message": "x"})
        self.assertTrue(tool_text(r).startswith("elicitation error: -32601"), tool_text(r))
        self.assertEqual(m.unclaimed_server_requests(), [],
                         "nothing the client cannot handle is sent to it")
        # roots is declared: it is relayed.
        cid = m.request("tools/call", {"name": "a__ask_roots", "arguments": {}})
        req = m.wait_server_request("roots/list")
        m.respond(req["id"], {"roots": []})
        self.assertEqual(tool_text(m.wait_response(cid)["result"]), "[]")

    def test_client_without_roots(self):
        m = self.mux({"a": fixture("a")})
        m.initialize(capabilities={})
        r = m.call_tool("a__ask_roots")
        self.assertIs(r.get("isError"), True)
        self.assertTrue(tool_text(r).startswith("roots error: -32601"), tool_text(r))
        self.assertEqual(m.unclaimed_server_requests(), [])


if __name__ == "__main__":
    mcptest.main()
