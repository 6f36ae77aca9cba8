"""prompts/list and prompts/get, resources/list, resources/templates/list,
resources/read (exact URI, then template), subscribe/unsubscribe with
notifications/resources/updated, completion/complete."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture  # noqa: E402


class PromptsResources(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b"),
                           "t": fixture("t", "--no-prompts", "--no-resources")})
        self.m.initialize(capabilities={"roots": {}})

    # ---------------------------------------------------------------- prompts

    def test_prompts_list_merged(self):
        result = self.m.result("prompts/list")
        self.assertNotIn("nextCursor", result)
        prompts = {p["name"]: p for p in result["prompts"]}
        self.assertEqual(set(prompts), {"a__greet", "a__plain", "b__greet", "b__plain"})
        self.assertEqual(prompts["b__greet"]["description"], "Greets someone")
        self.assertEqual(prompts["b__greet"]["arguments"], [{"name": "who", "required": True}])

    def test_prompts_get_routes(self):
        r = self.m.result("prompts/get", {"name": "b__greet", "arguments": {"who": "Ada"}})
        self.assertEqual(r["description"], "greeting")
        self.assertEqual(r["messages"], [{"role": "user", "content": {"type": "text",
                                                                       "text": "Hello, Ada from b!"}}])
        r = self.m.result("prompts/get", {"name": "a__plain"})
        self.assertEqual(r["messages"][0]["content"]["text"], "plain prompt of a")

    def test_prompts_get_errors(self):
        # Unknown prompt (bad prefix, bad name, a tool name) -> -32602.
        for name in ["zz__greet", "a__nope", "greet", "a__echo", "t__greet"]:
            with self.subTest(name=name):
                self.assertErrorCode(self.m.call("prompts/get", {"name": name}), -32602)
        # Missing required argument: the backend's -32602 passes through.
        msg = self.m.call("prompts/get", {"name": "a__greet", "arguments": {}})
        self.assertErrorCode(msg, -32602)
        self.assertIn("who", msg["error"]["message"])

    # ---------------------------------------------------------------- resources

    def test_resources_list_merged_unchanged(self):
        result = self.m.result("resources/list")
        self.assertNotIn("nextCursor", result)
        uris = sorted(r["uri"] for r in result["resources"])
        self.assertEqual(uris, sorted(["fixture://a/static", "fixture://a/readme",
                                       "fixture://b/static", "fixture://b/readme"]))
        for r in result["resources"]:
            self.assertEqual(r["mimeType"], "text/plain")
            self.assertIn(r["name"], ("static", "readme"))

    def test_templates_list_merged_unchanged(self):
        result = self.m.result("resources/templates/list")
        templates = sorted(t["uriTemplate"] for t in result["resourceTemplates"])
        self.assertEqual(templates, ["fixture://a/item/{id}", "fixture://b/item/{id}"])

    def test_resources_read_exact_uri(self):
        for server in ("a", "b"):
            for name, text in (("static", "static content of "), ("readme", "readme of ")):
                uri = "fixture://%s/%s" % (server, name)
                r = self.m.result("resources/read", {"uri": uri})
                self.assertEqual(r["contents"], [{"uri": uri, "mimeType": "text/plain",
                                                  "text": text + server}])

    def test_resources_read_via_template(self):
        r = self.m.result("resources/read", {"uri": "fixture://b/item/42"})
        self.assertEqual(r["contents"][0]["text"], "item 42 of b")
        self.assertEqual(r["contents"][0]["uri"], "fixture://b/item/42")
        r = self.m.result("resources/read", {"uri": "fixture://a/item/abc-7"})
        self.assertEqual(r["contents"][0]["text"], "item abc-7 of a")

    def test_resources_read_before_listing(self):
        # A fresh session that never listed resources still routes by URI.
        m = self.mux({"a": fixture("a"), "b": fixture("b")})
        m.initialize()
        r = m.result("resources/read", {"uri": "fixture://b/item/9"})
        self.assertEqual(r["contents"][0]["text"], "item 9 of b")
        r = m.result("resources/read", {"uri": "fixture://a/readme"})
        self.assertEqual(r["contents"][0]["text"], "readme of a")

    def test_resources_read_unknown_uri(self):
        msg = self.m.call("resources/read", {"uri": "fixture://nobody/static"})
        self.assertIn("error", msg)
        self.assertIn(msg["error"]["code"], (-32002, -32602), msg)
        # The session continues.
        self.assertEqual(self.m.result("resources/read", {"uri": "fixture://a/static"})
                         ["contents"][0]["text"], "static content of a")

    # ---------------------------------------------------------------- subscriptions

    def test_subscribe_relays_updated_and_unsubscribe(self):
        uri = "fixture://b/static"
        self.assertEqual(self.m.result("resources/subscribe", {"uri": uri}), {})
        updated = self.m.wait_notification("notifications/resources/updated",
                                           lambda n: n["params"]["uri"] == uri, timeout=5)
        self.assertEqual(updated[0]["params"], {"uri": uri})
        self.assertEqual(self.m.stats("b")["subscriptions"], [uri])
        self.assertEqual(self.m.stats("a")["subscriptions"], [], "only the owner is subscribed")
        self.assertEqual(self.m.result("resources/unsubscribe", {"uri": uri}), {})
        self.assertEqual(self.m.stats("b")["subscriptions"], [])

    def test_subscribe_template_uri_routes_to_owner(self):
        uri = "fixture://a/item/5"
        self.assertEqual(self.m.result("resources/subscribe", {"uri": uri}), {})
        self.m.wait_notification("notifications/resources/updated",
                                 lambda n: n["params"]["uri"] == uri, timeout=5)
        self.assertEqual(self.m.stats("a")["subscriptions"], [uri])
        self.assertEqual(self.m.stats("b")["subscriptions"], [])

    # ---------------------------------------------------------------- completion

    def test_completion_prompt_ref(self):
        r = self.m.result("completion/complete", {
            "ref": {"type": "ref/prompt", "name": "b__greet"},
            "argument": {"name": "who", "value": "al"}})
        self.assertEqual(r["completion"]["values"], ["alice", "albert"])
        self.assertEqual(r["completion"]["total"], 2)
        r = self.m.result("completion/complete", {
            "ref": {"type": "ref/prompt", "name": "a__greet"},
            "argument": {"name": "who", "value": ""}})
        self.assertEqual(r["completion"]["values"], ["alice", "albert", "bob"])

    def test_completion_resource_template_ref(self):
        # Only the template's owner knows it: a wrong route would give no values.
        for server in ("a", "b"):
            r = self.m.result("completion/complete", {
                "ref": {"type": "ref/resource", "uri": "fixture://%s/item/{id}" % server},
                "argument": {"name": "id", "value": "1"}})
            self.assertEqual(r["completion"]["values"], ["1", "10"], server)

    def test_completion_unknown_refs(self):
        msg = self.m.call("completion/complete", {
            "ref": {"type": "ref/prompt", "name": "zz__greet"},
            "argument": {"name": "who", "value": "a"}})
        self.assertErrorCode(msg, -32602)
        msg = self.m.call("completion/complete", {
            "ref": {"type": "ref/resource", "uri": "fixture://nobody/item/{id}"},
            "argument": {"name": "id", "value": "1"}})
        # Either an error or an empty completion is acceptable; never someone else's values.
        if "result" in msg:
            self.assertEqual(msg["result"]["completion"]["values"], [])
        else:
            self.assertIn(msg["error"]["code"], (-32602, -32002))


class Pagination(mcptest.MuxTestCase):

    def drain(self, m, method, key):
        items, cursor, pages = [], None, 0
        while True:
            params = {"cursor": cursor} if cursor else {}
            r = m.result(method, params)
            items += r[key]
            pages += 1
            cursor = r.get("nextCursor")
            if not cursor:
                return items
            self.assertLess(pages, 100, "endless pagination")

    def test_backend_pages_are_drained(self):
        m = self.mux({"p": fixture("p", "--page-size", "3", "--extra-tools", "20"),
                      "q": fixture("q", "--page-size", "1")})
        m.initialize()
        tools = [t["name"] for t in self.drain(m, "tools/list", "tools")]
        expected = {"p__" + n for n in mcptest.FIXTURE_TOOLS}
        expected |= {"p__gen_%04d" % i for i in range(20)}
        expected |= {"q__" + n for n in mcptest.FIXTURE_TOOLS}
        expected |= set(mcptest.GATEWAY_TOOLS)
        self.assertEqual(set(tools), expected)
        self.assertEqual(len(tools), len(expected), "no duplicates")
        prompts = {p["name"] for p in self.drain(m, "prompts/list", "prompts")}
        self.assertEqual(prompts, {"p__greet", "p__plain", "q__greet", "q__plain"})
        resources = {r["uri"] for r in self.drain(m, "resources/list", "resources")}
        self.assertEqual(resources, {"fixture://p/static", "fixture://p/readme",
                                     "fixture://q/static", "fixture://q/readme"})
        templates = {t["uriTemplate"] for t in
                     self.drain(m, "resources/templates/list", "resourceTemplates")}
        self.assertEqual(templates, {"fixture://p/item/{id}", "fixture://q/item/{id}"})
        # Tools from the last page are callable.
        r = m.call_tool("p__gen_0019", {"k": 1})
        self.assertEqual(r["structuredContent"], {"k": 1})
        r = m.call_tool("q__log", {"level": "info", "message": "m"})
        self.assertEqual(mcptest.tool_text(r), "logged")

    def test_call_on_a_late_page_before_listing(self):
        m = self.mux({"p": fixture("p", "--page-size", "2", "--extra-tools", "20")})
        r = m.call_tool("p__gen_0017", {"x": "y"})
        self.assertEqual(r["structuredContent"], {"x": "y"})


if __name__ == "__main__":
    mcptest.main()
