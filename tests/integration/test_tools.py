"""tools/list merged with server prefixes, tools/call routing, unknown tools,
tool errors, id types, custom separator, long tool names."""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import FIXTURE_TOOLS, fixture, tool_text  # noqa: E402

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
LONG_PREFIX = "this_is_a_very_long_tool_name_used_to_test_name_shortening_for_braid_"


class Tools(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"alpha": fixture("alpha"), "beta": fixture("beta")})
        self.m.initialize()

    def test_tools_list_merged_with_prefixes(self):
        result = self.m.result("tools/list")
        self.assertNotIn("nextCursor", result)
        tools = result["tools"]
        names = [t["name"] for t in tools]
        expected = {s + "__" + n for s in ("alpha", "beta") for n in FIXTURE_TOOLS}
        self.assertEqual(set(names), expected | set(mcptest.GATEWAY_TOOLS))
        self.assertEqual(names[-2:], mcptest.GATEWAY_TOOLS, "the gateway's tools come last")
        self.assertEqual(len(names), len(set(names)), "no duplicates")
        by_name = {t["name"]: t for t in tools}
        echo = by_name["alpha__echo"]
        # Everything but the name passes through unchanged.
        self.assertEqual(echo["description"], "Echoes the given text")
        self.assertEqual(echo["inputSchema"], {"type": "object",
                                               "properties": {"text": {"type": "string"}},
                                               "required": ["text"]})
        self.assertEqual(echo["outputSchema"]["properties"], {"echo": {"type": "string"}})
        self.assertEqual(echo["annotations"], {"readOnlyHint": True})
        self.assertEqual(by_name["beta__add"]["description"], "Adds two numbers")
        for n in names:
            self.assertRegex(n, NAME_RE)

    def test_tools_list_is_stable(self):
        first = self.m.result("tools/list")["tools"]
        second = self.m.result("tools/list")["tools"]
        self.assertEqual(first, second)

    def test_tools_call_routes_to_the_right_backend(self):
        a = self.m.stats("alpha")
        b = self.m.stats("beta")
        self.assertNotEqual(a["pid"], b["pid"])
        r = self.m.call_tool("alpha__echo", {"text": "hello alpha"})
        self.assertEqual(tool_text(r), "hello alpha")
        self.assertEqual(r["structuredContent"], {"echo": "hello alpha"})
        self.assertNotIn("isError", r)
        r = self.m.call_tool("beta__add", {"a": 2.5, "b": 4})
        self.assertEqual(r["structuredContent"], {"sum": 6.5})
        # The backend sees its own tool name (prefix stripped): prove it with the
        # resource URI host, which is the fixture's --name.
        r = self.m.result("resources/read", {"uri": "fixture://beta/static"})
        self.assertEqual(r["contents"][0]["text"], "static content of beta")

    def test_unicode_and_large_arguments_pass_through(self):
        text = "h\u00e9llo \u2603 \U0001F600 \"quoted\" \\ back\nslash " + "x" * 200000
        r = self.m.call_tool("beta__echo", {"text": text}, timeout=20)
        self.assertEqual(tool_text(r), text)

    def test_tool_error_result_passes_through(self):
        r = self.m.call_tool("alpha__fail")
        self.assertIs(r.get("isError"), True)
        self.assertEqual(tool_text(r), "this tool always fails")

    def test_backend_json_rpc_error_passes_through(self):
        # The fixture answers bad arguments with -32602.
        msg = self.m.call("tools/call", {"name": "alpha__add", "arguments": {"a": "x", "b": 1}})
        self.assertErrorCode(msg, -32602)
        self.assertIn("'a' must be a number", msg["error"]["message"])

    def test_unknown_tool_is_invalid_params(self):
        for name in ["alpha__nope", "gamma__echo", "echo", "alpha_echo", "alpha__", "__echo",
                     "ALPHA__echo"]:
            with self.subTest(name=name):
                msg = self.m.call("tools/call", {"name": name, "arguments": {}})
                self.assertErrorCode(msg, -32602)
        # The session goes on.
        self.assertEqual(tool_text(self.m.call_tool("alpha__echo", {"text": "still"})), "still")

    def test_ids_are_preserved_with_their_type(self):
        for id in [0, -5, 2**53, "0", "", "a string id", "x" * 300]:
            with self.subTest(id=id):
                msg = self.m.call("tools/call", {"name": "beta__echo", "arguments": {"text": str(id)[:10]}},
                                  id=id)
                self.assertEqual(msg["id"], id)
                self.assertIs(type(msg["id"]), type(id))
                self.assertEqual(tool_text(msg["result"]), str(id)[:10])

    def test_list_ids_preserved_and_repeat_lists_equal(self):
        # tools/list is answered from a cached rendering: the id must still be the caller's.
        first = self.m.call("tools/list", {})
        for id in [0, 2**53, "0", "", 'quote " and \\ and \u00e9', "x" * 300]:
            with self.subTest(id=id):
                msg = self.m.call("tools/list", {}, id=id)
                self.assertEqual(msg["id"], id)
                self.assertIs(type(msg["id"]), type(id))
                self.assertEqual(msg["result"], first["result"])
                self.assertEqual(msg["jsonrpc"], "2.0")

    def test_same_value_int_and_string_ids_kept_apart(self):
        self.m.request("tools/call", {"name": "alpha__slow", "arguments": {"ms": 200}}, id=5)
        self.m.request("tools/call", {"name": "beta__echo", "arguments": {"text": "five"}}, id="5")
        r_str = self.m.wait_response("5")
        r_int = self.m.wait_response(5)
        self.assertEqual(tool_text(r_str["result"]), "five")
        self.assertEqual(tool_text(r_int["result"]), "slept 200")
        self.assertEqual(self.m.response_count(5), 1)
        self.assertEqual(self.m.response_count("5"), 1)

    def test_call_without_arguments(self):
        msg = self.m.call("tools/call", {"name": "beta__cwd"})
        self.assertIn("result", msg, msg)
        self.assertTrue(tool_text(msg["result"]).startswith("/"))


class Separator(mcptest.MuxTestCase):

    def test_custom_separator(self):
        m = self.mux({"one": fixture("one"), "two": fixture("two")}, extra_top={"separator": "--"})
        m.initialize()
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("one--echo", names)
        self.assertIn("two--add", names)
        self.assertFalse(any("__" in n for n in names), names)
        self.assertEqual(tool_text(m.call_tool("two--echo", {"text": "sep"})), "sep")
        prompts = {p["name"] for p in m.result("prompts/list")["prompts"]}
        self.assertEqual(prompts, {"one--greet", "one--plain", "two--greet", "two--plain"})
        self.assertErrorCode(m.call("tools/call", {"name": "two__echo", "arguments": {"text": "x"}}),
                             -32602)

    def test_server_names_with_dash_and_underscore(self):
        m = self.mux({"my-srv_1": fixture("my-srv_1"), "b": fixture("b")})
        m.initialize()
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("my-srv_1__echo", names)
        self.assertEqual(tool_text(m.call_tool("my-srv_1__add", {"a": 1, "b": 1})), "2")


class LongNames(mcptest.MuxTestCase):

    def test_long_names_are_shortened_distinct_and_callable(self):
        m = self.mux({"longsrv": fixture("longsrv", "--long-tool-names"), "b": fixture("b")})
        m.initialize()
        tools = m.result("tools/list")["tools"]
        names = [t["name"] for t in tools]
        for n in names:
            self.assertRegex(n, NAME_RE)
        self.assertEqual(len(names), len(set(names)))
        long_ones = [t["name"] for t in tools
                     if t.get("description") == "A tool with a 70-character name"]
        self.assertEqual(len(long_ones), 2, names)
        self.assertNotEqual(long_ones[0], long_ones[1])
        for n in long_ones:
            self.assertLessEqual(len(n), 64)
            self.assertTrue(n.startswith("longsrv__"), "the server prefix is kept: " + n)
        # Short names are untouched.
        self.assertIn("longsrv__echo", names)
        # Each shortened name routes to its own tool.
        seen = set()
        for n in long_ones:
            text = tool_text(m.call_tool(n))
            self.assertIn(text, ("long:" + LONG_PREFIX + "a", "long:" + LONG_PREFIX + "b"))
            seen.add(text)
        self.assertEqual(len(seen), 2)
        # The full (unshortened) prefixed name is not a valid tool name to call.
        msg = m.call("tools/call", {"name": "longsrv__" + LONG_PREFIX + "a", "arguments": {}})
        if "error" in msg:
            self.assertEqual(msg["error"]["code"], -32602)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)

        # Deterministic: a second run gives the same names.
        m2 = self.mux({"longsrv": fixture("longsrv", "--long-tool-names"), "b": fixture("b")})
        m2.initialize()
        names2 = [t["name"] for t in m2.result("tools/list")["tools"]]
        self.assertEqual(sorted(names), sorted(names2))

    def test_long_names_callable_before_listing(self):
        # Compute the names in one session, call them in a fresh one without listing.
        m = self.mux({"longsrv": fixture("longsrv", "--long-tool-names")})
        long_ones = sorted(t["name"] for t in m.result("tools/list")["tools"]
                           if t.get("description") == "A tool with a 70-character name")
        m.close_stdin()
        m.wait_exit(10)
        m2 = self.mux({"longsrv": fixture("longsrv", "--long-tool-names")})
        m2.initialize()
        text = tool_text(m2.call_tool(long_ones[0]))
        self.assertIn(text, ("long:" + LONG_PREFIX + "a", "long:" + LONG_PREFIX + "b"))
        other = tool_text(m2.call_tool(long_ones[1]))
        self.assertEqual({text, other}, {"long:" + LONG_PREFIX + "a", "long:" + LONG_PREFIX + "b"})


if __name__ == "__main__":
    mcptest.main()
