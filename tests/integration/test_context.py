"""Context economy: per-server tools/prompts/resources filters (allow/deny globs,
deny wins, hidden items refused as unknown), "prefix" ("" keeps names),
collisions kept by config-file order (WARN trace, collisions in
gateway_list_servers and `mcpbraid health --json`), max_name_length, and search
mode (expose/pinned; gateway_search_tools, gateway_describe_tool,
gateway_call_tool with progress and cancellation; the index follows
list_changed; initialize instructions)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import FIXTURE_TOOLS, fixture, tool_text, wait_until  # noqa: E402

SEARCH_TOOLS = ["gateway_search_tools", "gateway_describe_tool", "gateway_call_tool"]
LONG_PREFIX = "this_is_a_very_long_tool_name_used_to_test_name_shortening_for_braid_"
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def short_name(full, limit):
    """What mcpbraid makes of a name over the budget: cut, '_', 8 hex digits of
    the FNV-1a 64 hash of the full name (its two halves xor-ed)."""
    h = 14695981039346656037
    for c in full.encode():
        h = ((h ^ c) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return full[:limit - 9] + "_%08x" % ((h >> 32) ^ (h & 0xFFFFFFFF))


def server(name, *flags, fixture_name=None, **keys):
    """A fixture entry plus context-economy keys (tools=..., prefix=..., ...)."""
    entry = fixture(name, *flags, env=keys.pop("env", None), fixture_name=fixture_name)
    entry.update(keys)
    return entry


def who(name):
    """env={"WHO": name}: the `env` tool then tells which backend answered."""
    return {"WHO": name}


def names_of(m, kind="tools"):
    key = {"tools": "tools", "prompts": "prompts", "resources": "resources",
           "resources/templates": "resourceTemplates"}[kind]
    field = {"resources": "uri", "resources/templates": "uriTemplate"}.get(kind, "name")
    return [item[field] for item in m.result(kind + "/list")[key]]


def servers_of(m):
    """gateway_list_servers' structuredContent, by server name."""
    r = m.call_tool("gateway_list_servers")
    return {s["name"]: s for s in r["structuredContent"]["servers"]}


def search(m, **arguments):
    return m.call_tool("gateway_search_tools", arguments)


class Filters(mcptest.MuxTestCase):

    def test_tools_filter_hides_and_refuses(self):
        # allow e*, a*, stats; deny env and ask_*: deny wins over allow.
        m = self.mux({
            "a": server("a", tools={"allow": ["e*", "a*", "stats"], "deny": ["env", "ask_*"]}),
            "b": server("b"),
        })
        m.initialize()
        names = names_of(m)
        self.assertEqual(sorted(n for n in names if n.startswith("a__")),
                         ["a__add", "a__add_tool", "a__echo", "a__stats"])
        self.assertEqual(sorted(n for n in names if n.startswith("b__")),
                         sorted("b__" + n for n in FIXTURE_TOOLS))
        self.assertEqual(tool_text(m.call_tool("a__echo", {"text": "shown"})), "shown")
        for hidden in ["a__env", "a__ask_roots", "a__slow", "a__crash"]:
            with self.subTest(tool=hidden):
                msg = m.call("tools/call", {"name": hidden, "arguments": {"name": "HOME"}})
                self.assertErrorCode(msg, -32602)
                self.assertEqual(msg["error"]["message"], "Unknown tool: " + hidden)
        # Refused by the gateway: the backend never saw those calls.
        calls = m.stats("a")["toolCalls"]
        self.assertEqual(sorted(calls), ["echo", "stats"], calls)
        # The same tool of an unfiltered server still works.
        self.assertEqual(tool_text(m.call_tool("b__env", {"name": "MCPBRAID_NOPE"})), "<unset>")
        s = servers_of(m)
        self.assertEqual(s["a"]["tools"], 4)
        self.assertEqual(s["a"]["tools_listed"], 4)
        self.assertEqual(s["a"]["hidden"], {"tools": 9, "prompts": 0, "resources": 0})
        self.assertEqual(s["a"]["collisions"], [])
        self.assertEqual(s["b"]["tools"], len(FIXTURE_TOOLS))
        self.assertEqual(s["b"]["hidden"], {"tools": 0, "prompts": 0, "resources": 0})

    def test_prompts_filter_hides_and_refuses(self):
        m = self.mux({
            "a": server("a", prompts={"allow": ["*"], "deny": ["gr??t"]}),
            "b": server("b", prompts={"allow": ["greet"]}),
        })
        m.initialize()
        self.assertEqual(sorted(names_of(m, "prompts")), ["a__plain", "b__greet"])
        r = m.result("prompts/get", {"name": "b__greet", "arguments": {"who": "ann"}})
        self.assertEqual(r["messages"][0]["content"]["text"], "Hello, ann from b!")
        for hidden in ["a__greet", "b__plain"]:
            with self.subTest(prompt=hidden):
                msg = m.call("prompts/get", {"name": hidden, "arguments": {"who": "x"}})
                self.assertErrorCode(msg, -32602)
                self.assertEqual(msg["error"]["message"], "Unknown prompt: " + hidden)
        # A hidden prompt cannot be completed either.
        msg = m.call("completion/complete", {"ref": {"type": "ref/prompt", "name": "a__greet"},
                                             "argument": {"name": "who", "value": "al"}})
        self.assertErrorCode(msg, -32602)
        s = servers_of(m)
        self.assertEqual(s["a"]["hidden"], {"tools": 0, "prompts": 1, "resources": 0})
        self.assertEqual(s["b"]["hidden"], {"tools": 0, "prompts": 1, "resources": 0})

    def test_resources_filter_hides_and_refuses(self):
        m = self.mux({
            # a: static and the item template; items named secret* stay hidden.
            "a": server("a", resources={"allow": ["fixture://a/static", "fixture://a/item/*"],
                                        "deny": ["fixture://a/item/secret*"]}),
            # c: its template denied, its resources shown.
            "c": server("c", resources={"deny": ["fixture://c/item/*"]}),
        })
        m.initialize()
        self.assertEqual(sorted(names_of(m, "resources")),
                         ["fixture://a/static", "fixture://c/readme", "fixture://c/static"])
        self.assertEqual(names_of(m, "resources/templates"), ["fixture://a/item/{id}"])
        read = m.result("resources/read", {"uri": "fixture://a/item/42"})
        self.assertEqual(read["contents"][0]["text"], "item 42 of a")
        self.assertEqual(m.result("resources/read", {"uri": "fixture://c/readme"})
                         ["contents"][0]["text"], "readme of c")
        # Hidden: an unlisted resource, a URI of the allowed template that the deny
        # list names, and a URI of a hidden template.
        for uri in ["fixture://a/readme", "fixture://a/item/secret-1", "fixture://c/item/1"]:
            with self.subTest(uri=uri):
                msg = m.call("resources/read", {"uri": uri})
                self.assertErrorCode(msg, -32002)
                self.assertIn("Resource not found", msg["error"]["message"])
                self.assertErrorCode(m.call("resources/subscribe", {"uri": uri}), -32002)
        # A hidden template cannot be completed.
        msg = m.call("completion/complete",
                     {"ref": {"type": "ref/resource", "uri": "fixture://c/item/{id}"},
                      "argument": {"name": "id", "value": "1"}})
        self.assertErrorCode(msg, -32602)
        s = servers_of(m)
        self.assertEqual(s["a"]["hidden"], {"tools": 0, "prompts": 0, "resources": 1})
        self.assertEqual(s["c"]["hidden"], {"tools": 0, "prompts": 0, "resources": 1})

    def test_template_allowed_by_its_uri_template_is_readable(self):
        # Templates are filtered by their uriTemplate: allowing the template by its
        # own text lists it, and a URI it matches can be read.
        m = self.mux({
            "a": server("a", resources={"allow": ["fixture://a/item/{id}"],
                                        "deny": ["fixture://a/item/0"]}),
            "b": server("b"),
        })
        m.initialize()
        self.assertNotIn("fixture://a/static", names_of(m, "resources"))
        self.assertIn("fixture://a/item/{id}", names_of(m, "resources/templates"))
        read = m.result("resources/read", {"uri": "fixture://a/item/7"})
        self.assertEqual(read["contents"][0]["text"], "item 7 of a")
        self.assertErrorCode(m.call("resources/read", {"uri": "fixture://a/static"}), -32002)
        # Deny still wins for a URI of that template.
        self.assertErrorCode(m.call("resources/read", {"uri": "fixture://a/item/0"}), -32002)
        self.assertErrorCode(m.call("resources/subscribe", {"uri": "fixture://a/item/0"}), -32002)
        self.assertEqual(m.result("resources/read", {"uri": "fixture://a/item/01"})
                         ["contents"][0]["text"], "item 01 of a")


class BadConfig(mcptest.MuxTestCase):

    def run_bad(self, doc):
        path = self.temp_config(doc)
        env = dict(os.environ)
        env.pop("MCPBRAID_CONFIG", None)
        proc = subprocess.run([mcptest.MCPBRAID, "-c", path], stdin=subprocess.PIPE,
                              capture_output=True, env=env, timeout=5)
        return path, proc.returncode, proc.stdout, proc.stderr.decode(errors="replace")

    def test_bad_context_config_exits_2_with_a_message(self):
        cases = [
            ({"tools": {"allow": "echo"}}, "mcpServers.a.tools.allow",
             "expected an array of glob patterns"),
            ({"tools": {"allow": ["echo", ""]}}, "mcpServers.a.tools.allow[1]",
             "an empty pattern matches nothing"),
            ({"tools": {"permit": ["echo"]}}, "mcpServers.a.tools.permit", "unknown key"),
            ({"prompts": ["greet"]}, "mcpServers.a.prompts", "expected an object"),
            ({"resources": {"deny": ["fixture://\\"]}}, "mcpServers.a.resources.deny[0]",
             "escapes nothing"),
            ({"pinned": "echo"}, "mcpServers.a.pinned", "expected an array of glob patterns"),
            ({"expose": "some"}, "mcpServers.a.expose", "expected \"all\" or \"search\""),
            ({"prefix": "a b"}, "mcpServers.a.prefix", "expected [A-Za-z0-9_-]*"),
            ({"prefix": "x_"}, "mcpServers.a.prefix", "must not contain or end into the separator"),
        ]
        for keys, where, what in cases:
            with self.subTest(keys=keys):
                entry = fixture("a")
                entry.update(keys)
                path, code, out, err = self.run_bad({"mcpServers": {"a": entry}})
                self.assertEqual(code, 2, err)
                self.assertEqual(out, b"")
                self.assertIn(path, err)
                self.assertIn(where, err)
                self.assertIn(what, err)
        for top, where, what in [({"max_name_length": 15}, "max_name_length",
                                  "expected an integer from 16 to 128"),
                                 ({"max_name_length": 129}, "max_name_length",
                                  "expected an integer from 16 to 128"),
                                 ({"expose": "none"}, "expose", "expected \"all\" or \"search\"")]:
            with self.subTest(top=top):
                doc = {"mcpServers": {"a": fixture("a")}}
                doc.update(top)
                path, code, out, err = self.run_bad(doc)
                self.assertEqual(code, 2, err)
                self.assertEqual(out, b"")
                self.assertIn(path + ": " + where, err)
                self.assertIn(what, err)


class Prefix(mcptest.MuxTestCase):

    def test_empty_prefix_and_custom_prefix(self):
        m = self.mux({"plain": server("plain", prefix="", env=who("plain")),
                      "b": server("b", prefix="x", env=who("b"))})
        m.initialize()
        names = names_of(m)
        self.assertEqual(sorted(n for n in names if "__" not in n),
                         sorted(FIXTURE_TOOLS + mcptest.GATEWAY_TOOLS))
        self.assertEqual(sorted(n for n in names if n.startswith("x__")),
                         sorted("x__" + n for n in FIXTURE_TOOLS))
        self.assertFalse([n for n in names if n.startswith(("b__", "plain__"))], names)
        self.assertEqual(tool_text(m.call_tool("env", {"name": "WHO"})), "plain")
        self.assertEqual(tool_text(m.call_tool("x__env", {"name": "WHO"})), "b")
        self.assertEqual(m.call_tool("add", {"a": 1, "b": 2})["structuredContent"], {"sum": 3})
        for gone in ["plain__echo", "b__echo", "x_echo"]:
            self.assertErrorCode(m.call("tools/call", {"name": gone, "arguments": {"text": "t"}}),
                                 -32602)
        self.assertEqual(sorted(names_of(m, "prompts")), ["greet", "plain", "x__greet", "x__plain"])
        r = m.result("prompts/get", {"name": "greet", "arguments": {"who": "z"}})
        self.assertEqual(r["messages"][0]["content"]["text"], "Hello, z from plain!")
        r = m.result("prompts/get", {"name": "x__greet", "arguments": {"who": "z"}})
        self.assertEqual(r["messages"][0]["content"]["text"], "Hello, z from b!")
        self.assertEqual(servers_of(m)["plain"]["collisions"], [])


class HealthSocket:
    """A private XDG_RUNTIME_DIR, so `mcpbraid health --socket` finds this instance."""

    def private_runtime_dir(self):
        d = tempfile.mkdtemp(prefix="mcpbraid-ctx-xdg-")
        os.chmod(d, 0o700)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def health_json(self, m, xdg):
        path = os.path.join(xdg, "mcpbraid", "%d.sock" % m.pid)
        self.assertTrue(wait_until(lambda: mcptest.socket_answers(path), 5.0),
                        "no control socket at " + path)
        env = dict(os.environ)
        env.pop("MCPBRAID_LOG", None)
        env["XDG_RUNTIME_DIR"] = xdg
        proc = subprocess.run([mcptest.MCPBRAID, "health", "--socket", path, "--json"],
                              stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=10)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        doc = json.loads(proc.stdout)
        snap = doc[0] if isinstance(doc, list) else doc
        return snap["backends"]


class Collisions(HealthSocket, mcptest.MuxTestCase):

    def test_first_in_file_order_keeps_the_name(self):
        xdg = self.private_runtime_dir()
        # "zeta" sorts after "alpha" but comes first in the file: it keeps the names.
        servers = {"zeta": server("zeta", prefix="", env=who("zeta")),
                   "alpha": server("alpha", prefix="", env=who("alpha"))}
        self.assertEqual(list(servers), ["zeta", "alpha"])
        m = self.mux(servers, env={"XDG_RUNTIME_DIR": xdg})
        m.initialize()
        names = names_of(m)
        self.assertEqual(sorted(names), sorted(FIXTURE_TOOLS + mcptest.GATEWAY_TOOLS))
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(tool_text(m.call_tool("env", {"name": "WHO"})), "zeta")
        self.assertEqual(sorted(names_of(m, "prompts")), ["greet", "plain"])
        r = m.result("prompts/get", {"name": "greet", "arguments": {"who": "q"}})
        self.assertEqual(r["messages"][0]["content"]["text"], "Hello, q from zeta!")
        # One WARN line per lost name, naming both servers.
        def warns():
            return [line for line in m.stderr.splitlines() if "catalog.name_collision" in line]
        wait_until(lambda: len(warns()) >= len(FIXTURE_TOOLS) + 2, 3.0)
        lines = warns()
        self.assertEqual(len(lines), len(FIXTURE_TOOLS) + 2, lines)
        for line in lines:
            self.assertIn(" warning event=catalog.name_collision ", line)
            self.assertEqual(mcptest.line_field(line, "kept_by"), "zeta", line)
            self.assertEqual(mcptest.line_field(line, "hidden_from"), "alpha", line)
        echo = [line for line in lines if mcptest.line_field(line, "name") == "echo"]
        self.assertEqual(len(echo), 1, lines)
        self.assertEqual(mcptest.line_field(echo[0], "kind"), "tool")
        expected = sorted(n + " (kept by zeta)" for n in FIXTURE_TOOLS) + \
            ["greet (kept by zeta)", "plain (kept by zeta)"]
        s = servers_of(m)
        self.assertEqual(s["alpha"]["collisions"], expected)
        self.assertEqual(s["zeta"]["collisions"], [])
        self.assertEqual(s["alpha"]["tools_listed"], 0)
        self.assertEqual(s["zeta"]["tools_listed"], len(FIXTURE_TOOLS))
        backends = self.health_json(m, xdg)
        self.assertEqual(backends["alpha"]["collisions"], expected)
        self.assertEqual(backends["zeta"]["collisions"], [])
        self.assertEqual(backends["alpha"]["tools_listed"], 0)
        self.assertEqual(backends["zeta"]["tools"], len(FIXTURE_TOOLS))

    def test_order_is_the_file_order_not_the_name_order(self):
        # The same two servers the other way round: now alpha keeps the names.
        m = self.mux({"alpha": server("alpha", prefix="", env=who("alpha")),
                      "zeta": server("zeta", prefix="", env=who("zeta"))})
        m.initialize()
        names = names_of(m)
        self.assertEqual(sorted(names), sorted(FIXTURE_TOOLS + mcptest.GATEWAY_TOOLS))
        self.assertEqual(tool_text(m.call_tool("env", {"name": "WHO"})), "alpha")
        s = servers_of(m)
        self.assertEqual(s["zeta"]["collisions"][0], "add (kept by alpha)")
        self.assertEqual(s["alpha"]["collisions"], [])


class MaxNameLength(mcptest.MuxTestCase):

    def test_names_over_the_budget_are_shortened_and_route(self):
        m = self.mux({"verylongservername": server("verylongservername")},
                     extra_top={"max_name_length": 20})
        m.initialize()
        tools = m.result("tools/list")["tools"]
        by_description = {t["description"]: t["name"] for t in tools}
        # Every backend tool: cut to 20 - 9 characters, '_', 8 hex digits of the
        # full name's hash.
        expected = {short_name("verylongservername__" + n, 20) for n in FIXTURE_TOOLS}
        self.assertEqual({t["name"] for t in tools} - set(mcptest.GATEWAY_TOOLS), expected)
        for n in expected:
            self.assertEqual(len(n), 20, n)
            self.assertRegex(n, r"^verylongser_[0-9a-f]{8}$")
        echo = by_description["Echoes the given text"]
        add = by_description["Adds two numbers"]
        self.assertEqual(echo, short_name("verylongservername__echo", 20))
        self.assertEqual(tool_text(m.call_tool(echo, {"text": "via short"})), "via short")
        self.assertEqual(m.call_tool(add, {"a": 2, "b": 5})["structuredContent"], {"sum": 7})
        self.assertErrorCode(m.call("tools/call", {"name": "verylongservername__echo",
                                                   "arguments": {"text": "x"}}), -32602)
        prompts = names_of(m, "prompts")
        self.assertEqual(sorted(prompts), sorted(short_name("verylongservername__" + p, 20)
                                                 for p in ("greet", "plain")))
        r = m.result("prompts/get", {"name": short_name("verylongservername__greet", 20),
                                     "arguments": {"who": "s"}})
        self.assertEqual(r["messages"][0]["content"]["text"], "Hello, s from verylongservername!")
        # Under the budget: unchanged.
        m2 = self.mux({"s": server("s")}, extra_top={"max_name_length": 16})
        names = names_of(m2)
        self.assertEqual(sorted(set(names) - set(mcptest.GATEWAY_TOOLS)),
                         sorted("s__" + n for n in FIXTURE_TOOLS))  # the longest: 15

    def test_default_budget_is_48(self):
        m = self.mux({"longsrv": server("longsrv", "--long-tool-names")})
        m.initialize()
        tools = m.result("tools/list")["tools"]
        long_ones = sorted(t["name"] for t in tools
                           if t.get("description") == "A tool with a 70-character name")
        self.assertEqual(len(long_ones), 2)
        for n in long_ones:
            self.assertEqual(len(n), 48, n)
        self.assertEqual(long_ones, sorted(short_name("longsrv__" + LONG_PREFIX + c, 48)
                                           for c in "ab"))
        texts = {tool_text(m.call_tool(n)) for n in long_ones}
        self.assertEqual(texts, {"long:" + LONG_PREFIX + "a", "long:" + LONG_PREFIX + "b"})
        self.assertIn("longsrv__echo", [t["name"] for t in tools])


class SearchMode(HealthSocket, mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.xdg = self.private_runtime_dir()
        self.m = self.mux({
            "a": server("a", "--instructions", "Alpha tools.\nSecond line.",
                        pinned=["echo", "st*"], tools={"deny": ["crash"]}),
            "b": server("b", "--instructions", "Beta tools."),
        }, extra_top={"expose": "search"}, env={"XDG_RUNTIME_DIR": self.xdg})
        self.init = self.m.initialize()

    def test_list_has_pinned_and_gateway_tools_only(self):
        names = names_of(self.m)
        self.assertEqual(names, ["a__echo", "a__stats"] + mcptest.GATEWAY_TOOLS + SEARCH_TOOLS)
        tools = {t["name"]: t for t in self.m.result("tools/list")["tools"]}
        schema = tools["gateway_search_tools"]["inputSchema"]
        self.assertEqual(schema["required"], ["query"])
        self.assertEqual(schema["properties"]["limit"]["maximum"], 50)
        s = servers_of(self.m)
        self.assertEqual((s["a"]["tools"], s["a"]["tools_listed"]), (len(FIXTURE_TOOLS) - 1, 2))
        self.assertEqual(s["a"]["hidden"]["tools"], 1)
        self.assertEqual((s["b"]["tools"], s["b"]["tools_listed"]), (len(FIXTURE_TOOLS), 0))
        backends = self.health_json(self.m, self.xdg)
        self.assertEqual((backends["a"]["tools"], backends["a"]["tools_listed"]),
                         (len(FIXTURE_TOOLS) - 1, 2))
        self.assertEqual(backends["a"]["hidden"], {"tools": 1, "prompts": 0, "resources": 0})
        self.assertEqual(backends["b"]["tools_listed"], 0)

    def test_instructions(self):
        text = self.init["instructions"]
        self.assertTrue(text.startswith("Not every tool of this gateway is listed"), text)
        self.assertIn("gateway_search_tools", text)
        self.assertIn("Servers behind search:\n- a: Alpha tools.\n- b: Beta tools.", text)
        self.assertNotIn("Second line", text)

    def test_search_by_description_words(self):
        r = search(self.m, query="working directory")
        self.assertIsNot(r.get("isError"), True)
        found = r["structuredContent"]["tools"]
        self.assertEqual({t["name"] for t in found[:2]}, {"a__cwd", "b__cwd"}, found)
        top = found[0]
        self.assertEqual(set(top), {"name", "server", "title", "description", "score"})
        self.assertEqual(top["description"], "Returns the working directory")
        self.assertEqual(top["server"], top["name"].split("__")[0])
        self.assertGreater(top["score"], 0)
        self.assertTrue(tool_text(r).startswith(top["name"] + ": Returns the working directory\n"),
                        tool_text(r))
        # limit, and server.
        r = search(self.m, query="working directory", limit=1)
        self.assertEqual(len(r["structuredContent"]["tools"]), 1)
        self.assertEqual(len(tool_text(r).splitlines()), 1)
        r = search(self.m, query="working directory", server="b")
        found = r["structuredContent"]["tools"]
        self.assertEqual(found[0]["name"], "b__cwd")
        self.assertEqual({t["server"] for t in found}, {"b"})
        r = search(self.m, query="adds numbers", limit=2)
        self.assertEqual(sorted(t["name"] for t in r["structuredContent"]["tools"]),
                         ["a__add", "b__add"])
        # A tool the filter hides is not found.
        r = search(self.m, query="exit code", limit=50)
        crash = [t["name"] for t in r["structuredContent"]["tools"] if t["name"].endswith("crash")]
        self.assertEqual(crash, ["b__crash"])

    def test_search_edge_cases(self):
        r = search(self.m, query="")
        self.assertIsNot(r.get("isError"), True)
        self.assertEqual(r["structuredContent"], {"tools": []})
        self.assertEqual(tool_text(r), "no matching tools\n")
        r = search(self.m, query="zzqxv nothing matches")
        self.assertEqual(r["structuredContent"]["tools"], [])
        for arguments, needle in [
                ({"query": "echo", "server": "nope"}, "unknown server nope"),
                ({"query": "echo", "limit": 0}, "limit must be an integer from 1 to 50"),
                ({"query": "echo", "limit": 51}, "limit must be an integer from 1 to 50"),
                ({"query": "echo", "limit": 2.5}, "limit must be an integer"),
                ({"query": 5}, "query must be a string"),
                ({}, "query must be a string")]:
            with self.subTest(arguments=arguments):
                r = search(self.m, **arguments)
                self.assertIs(r.get("isError"), True, r)
                self.assertIn(needle, tool_text(r))
        msg = self.m.call("tools/call", {"name": "gateway_search_tools", "arguments": "echo"})
        self.assertIs(msg["result"]["isError"], True, msg)

    def test_describe(self):
        r = self.m.call_tool("gateway_describe_tool", {"name": "b__add"})
        self.assertIsNot(r.get("isError"), True)
        self.assertEqual(r["structuredContent"], {
            "name": "b__add", "description": "Adds two numbers",
            "inputSchema": {"type": "object",
                            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                            "required": ["a", "b"]}})
        self.assertEqual(json.loads(tool_text(r)), r["structuredContent"])
        # A pinned tool: the same definition as in tools/list.
        listed = {t["name"]: t for t in self.m.result("tools/list")["tools"]}
        r = self.m.call_tool("gateway_describe_tool", {"name": "a__echo"})
        self.assertEqual(r["structuredContent"], listed["a__echo"])
        for name in ["a__crash", "a__nope", "echo"]:
            with self.subTest(name=name):
                r = self.m.call_tool("gateway_describe_tool", {"name": name})
                self.assertIs(r.get("isError"), True)
                self.assertIn("Unknown tool: " + name, tool_text(r))
        r = self.m.call_tool("gateway_describe_tool", {})
        self.assertIs(r.get("isError"), True)

    def test_call_is_a_direct_call(self):
        direct = self.m.call_tool("b__add", {"a": 2, "b": 3.5})
        via = self.m.call_tool("gateway_call_tool", {"name": "b__add",
                                                     "arguments": {"a": 2, "b": 3.5}})
        self.assertEqual(via, direct)
        self.assertEqual(via["structuredContent"], {"sum": 5.5})
        # The unlisted tool is callable directly too.
        self.assertEqual(tool_text(self.m.call_tool("a__echo", {"text": "pinned"})), "pinned")
        self.assertEqual(tool_text(self.m.call_tool("b__echo", {"text": "unlisted"})), "unlisted")
        # Errors: the same as a direct call's.
        for name, arguments in [("b__add", {"a": "x", "b": 1}), ("a__crash", {}),
                                ("a__nope", {})]:
            with self.subTest(name=name):
                d = self.m.call("tools/call", {"name": name, "arguments": arguments})
                v = self.m.call("tools/call", {"name": "gateway_call_tool",
                                               "arguments": {"name": name,
                                                             "arguments": arguments}})
                self.assertIn("error", d)
                self.assertEqual(v["error"], d["error"])
        self.assertEqual(self.m.call_tool("gateway_call_tool", {"name": "a__fail"}),
                         self.m.call_tool("a__fail"))
        # Bad arguments of gateway_call_tool itself: tool errors.
        for arguments in [{"name": "b__echo", "arguments": "text"}, {"arguments": {}},
                          {"name": 5}]:
            with self.subTest(arguments=arguments):
                r = self.m.call_tool("gateway_call_tool", arguments)
                self.assertIs(r.get("isError"), True, r)
                self.assertIn("gateway_call_tool", tool_text(r))
        calls = self.m.stats("b")["toolCalls"]
        self.assertEqual(calls.get("add"), 4, calls)

    def progress_for(self, token):
        return [n["params"] for n in self.m.notifications_of("notifications/progress")
                if n["params"]["progressToken"] == token]

    def test_call_progress_with_the_client_token(self):
        r = self.m.call_tool("gateway_call_tool", {"name": "a__slow", "arguments": {"ms": 300}},
                             meta={"progressToken": "via-1"})
        self.assertEqual(tool_text(r), "slept 300")
        direct = self.m.call_tool("b__slow", {"ms": 300}, meta={"progressToken": 9})
        self.assertEqual(r, direct)
        wait_until(lambda: len(self.progress_for("via-1")) == 3, 1.0)
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for("via-1")],
                         [(1, 3), (2, 3), (3, 3)])
        self.assertEqual([(p["progress"], p["total"]) for p in self.progress_for(9)],
                         [(1, 3), (2, 3), (3, 3)])

    def test_call_cancelled_by_the_outer_id(self):
        t0 = time.monotonic()
        self.m.request("tools/call", {"name": "gateway_call_tool",
                                      "arguments": {"name": "b__slow", "arguments": {"ms": 1200}},
                                      "_meta": {"progressToken": "c"}}, id="outer-1")
        self.m.wait_notification("notifications/progress",
                                 lambda n: n["params"]["progressToken"] == "c", timeout=3)
        self.m.notify("notifications/cancelled", {"requestId": "outer-1"})
        ok = wait_until(lambda: len(self.m.stats("b")["cancelled"]) == 1, 2.0, 0.05)
        self.assertTrue(ok, "backend b never saw the cancel: %s" % self.m.stats("b"))
        self.assertEqual(self.m.stats("a")["cancelled"], [])
        time.sleep(max(0, t0 + 1.5 - time.monotonic()))
        self.assertFalse(self.m.has_response("outer-1"),
                         "a cancelled request must not be answered")
        self.assertEqual(tool_text(self.m.call_tool("gateway_call_tool",
                                                    {"name": "b__echo",
                                                     "arguments": {"text": "after"}})), "after")

    def test_index_follows_list_changed(self):
        r = search(self.m, query="dynamic", server="a")
        self.assertNotIn("a__dynamic", [t["name"] for t in r["structuredContent"]["tools"]])
        self.assertEqual(tool_text(self.m.call_tool("a__add_tool")), "added")

        def found():
            r = search(self.m, query="added at run time")
            return [t for t in r["structuredContent"]["tools"] if t["name"] == "a__dynamic"]
        hit = wait_until(found, 3.0, 0.05)
        self.assertTrue(hit, "the search never found a__dynamic")
        self.assertEqual(hit[0]["server"], "a")
        self.assertEqual(hit[0]["description"], "Added at run time by add_tool")
        self.assertEqual(tool_text(self.m.call_tool("a__dynamic")), "dynamic")
        self.assertNotIn("a__dynamic", names_of(self.m))
        self.assertEqual(servers_of(self.m)["a"]["tools"], len(FIXTURE_TOOLS))


class PerServerExpose(mcptest.MuxTestCase):

    def test_one_server_behind_search(self):
        m = self.mux({"c": server("c", "--instructions", "Cee first.\nmore", expose="search"),
                      "d": server("d", "--instructions", "Dee tools.")})
        init = m.initialize()
        names = names_of(m)
        self.assertEqual(sorted(n for n in names if "__" in n),
                         sorted("d__" + n for n in FIXTURE_TOOLS))
        self.assertEqual(names[-3:], SEARCH_TOOLS)
        text = init["instructions"]
        self.assertTrue(text.startswith("Not every tool of this gateway is listed"), text)
        self.assertIn("Servers behind search:\n- c: Cee first.\n\n## d\nDee tools.", text)
        r = search(m, query="echoes the given text", server="c")
        self.assertEqual(r["structuredContent"]["tools"][0]["name"], "c__echo", r)
        self.assertEqual(tool_text(m.call_tool("c__echo", {"text": "hi"})), "hi")

    def test_no_search_tools_without_search(self):
        m = self.mux({"c": server("c", "--instructions", "Cee.")})
        init = m.initialize()
        self.assertEqual(init["instructions"], "## c\nCee.")
        names = names_of(m)
        self.assertFalse(set(SEARCH_TOOLS) & set(names), names)
        msg = m.call("tools/call", {"name": "gateway_search_tools", "arguments": {"query": "x"}})
        self.assertErrorCode(msg, -32602)


if __name__ == "__main__":
    mcptest.main()
