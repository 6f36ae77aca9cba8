"""Bad client input never kills the session; garbage on a backend's stdout is
skipped."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class BadClientInput(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a")})
        self.m.initialize()

    def null_id_errors(self):
        with self.m.cond:
            return [m for _, m in self.m.messages if "error" in m and m.get("id", "x") is None]

    def sync(self):
        """A ping after the bad input: everything before it has been handled."""
        msg = self.m.call("ping", id="sync-%d" % time.monotonic_ns())
        self.assertEqual(msg["result"], {})

    def test_invalid_json(self):
        for line in ["{not json", '{"jsonrpc":"2.0","id":1,"method":"ping"', "nul", "\u00e9\u00e9"]:
            with self.subTest(line=line):
                before = len(self.null_id_errors())
                self.m.send_raw(line + "\n")
                self.sync()
                errors = self.null_id_errors()[before:]
                self.assertEqual(len(errors), 1, errors)
                self.assertEqual(errors[0]["error"]["code"], -32700)
                self.assertIsNone(errors[0]["id"])
                self.assertIn("id", errors[0], "the id member must be present (null)")

    def test_non_object_values_are_invalid_requests(self):
        for line in ["42", '"hello"', "null", "true", "[1,2,3]"]:
            with self.subTest(line=line):
                before = len(self.null_id_errors())
                self.m.send_raw(line + "\n")
                self.sync()
                errors = self.null_id_errors()[before:]
                self.assertEqual(len(errors), 1, errors)
                self.assertEqual(errors[0]["error"]["code"], -32600)

    def test_object_that_is_not_a_request(self):
        cases = [
            '{"id":5,"method":"ping"}',                       # missing jsonrpc
            '{"jsonrpc":"1.0","id":6,"method":"ping"}',       # wrong version
            '{"jsonrpc":"2.0","id":7}',                       # no method, no result
            '{"jsonrpc":"2.0","id":8,"method":42}',           # method not a string
            '{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}', # id is an object
            '{"jsonrpc":"2.0","id":null,"method":"ping"}',    # null id (MCP forbids it)
            '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',     # fractional id
            '{"jsonrpc":"2.0","id":true,"method":"ping"}',    # boolean id
            '{}',
        ]
        for line in cases:
            with self.subTest(line=line):
                n_before = len(self.m.lines)
                self.m.send_raw(line + "\n")
                self.sync()
                with self.m.cond:
                    new = [mcptest.json.loads(l) for l in self.m.lines[n_before:]]
                errors = [m for m in new if "error" in m]
                self.assertEqual(len(errors), 1, "exactly one answer to %s: %s" % (line, new))
                self.assertEqual(errors[0]["error"]["code"], -32600)
                # null, or the id when it could be read and is valid.
                self.assertIn(errors[0]["id"], (None, 5, 6, 7, 8))

    def test_unknown_method(self):
        msg = self.m.call("bogus/method", {"x": 1}, id=61)
        self.assertErrorCode(msg, -32601, 61)
        msg = self.m.call("tools/frobnicate", id="s61")
        self.assertErrorCode(msg, -32601, "s61")

    def test_unknown_notification_is_ignored(self):
        n_before = len(self.m.lines)
        self.m.notify("notifications/whatever", {"x": 1})
        self.m.notify("bogus/notification")
        self.sync()
        self.assertEqual(len(self.m.lines), n_before + 1, "only the ping answer")

    def answers_after(self, n_before):
        with self.m.cond:
            return [mcptest.json.loads(l) for l in self.m.lines[n_before:]]

    def test_empty_lines_and_crlf(self):
        n_before = len(self.m.lines)
        self.m.send_raw("\n\n\r\n\n")
        self.m.send_raw('{"jsonrpc":"2.0","id":71,"method":"ping"}\r\n')
        self.m.send_raw('{"jsonrpc":"2.0","id":72,"method":"tools/call","params":'
                        '{"name":"a__echo","arguments":{"text":"crlf"}}}\r\n')
        self.m.send_raw('  {"jsonrpc":"2.0","id":73,"method":"ping"}  \n')
        self.assertEqual(self.m.wait_response(71)["result"], {})
        self.assertEqual(tool_text(self.m.wait_response(72)["result"]), "crlf")
        self.assertEqual(self.m.wait_response(73)["result"], {})
        self.sync()
        new = self.answers_after(n_before)
        self.assertEqual([m for m in new if "error" in m], [],
                         "empty lines produce no errors: %s" % new)
        self.assertEqual(len(new), 4)

    def test_whitespace_only_lines_are_blank(self):
        # A line of spaces/tabs (with or without CR) is a blank line, not a parse error.
        n_before = len(self.m.lines)
        self.m.send_raw("   \n\t\n \t \r\n")
        self.sync()
        new = self.answers_after(n_before)
        self.assertEqual([m for m in new if "error" in m], [],
                         "whitespace-only lines must be skipped like blank lines: %s" % new)
        self.assertEqual(len(new), 1, "only the ping answer")

    def test_message_split_across_writes(self):
        line = '{"jsonrpc":"2.0","id":81,"method":"tools/call","params":{"name":"a__echo","arguments":{"text":"split"}}}\n'
        for i in range(0, len(line), 7):
            self.m.send_raw(line[i:i + 7])
            time.sleep(0.005)
        self.assertEqual(tool_text(self.m.wait_response(81)["result"]), "split")

    def test_duplicate_in_flight_id(self):
        self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 400}}, id=91)
        self.m.request("tools/call", {"name": "a__echo", "arguments": {"text": "dup"}}, id=91)
        time.sleep(0.8)
        # The first request keeps its answer; the duplicate is refused (never two
        # results for the slow call).
        with self.m.cond:
            answers = [m for _, m in self.m.messages if m.get("id") == 91 and "method" not in m]
        results = [m for m in answers if "result" in m]
        self.assertEqual([tool_text(m["result"]) for m in results], ["slept 400"], answers)

    def test_session_survives_everything(self):
        self.m.send_raw("garbage\n[]\n{}\n\n42\n")
        self.m.send_raw('{"jsonrpc":"2.0","id":"x","method":"nope"}\n')
        self.assertEqual(tool_text(self.m.call_tool("a__echo", {"text": "alive"})), "alive")
        self.assertEqual(self.m.stats("a")["initialized"], True)
        self.m.close_stdin()
        self.assertEqual(self.m.wait_exit(10), 0)


class JunkBackend(mcptest.MuxTestCase):

    def test_junk_backend_still_works(self):
        m = self.mux({"junky": fixture("junky", "--junk"), "b": fixture("b")})
        m.initialize()
        names = {t["name"] for t in m.result("tools/list")["tools"]}
        self.assertIn("junky__echo", names)
        self.assertIn("b__echo", names)
        for i in range(5):
            r = m.call_tool("junky__add", {"a": i, "b": i})
            self.assertEqual(r["structuredContent"], {"sum": 2 * i})
        self.assertEqual(tool_text(m.call_tool("junky__echo", {"text": "j"})), "j")
        self.assertEqual(m.result("prompts/get", {"name": "junky__plain"})["messages"][0]
                         ["content"]["text"], "plain prompt of junky")
        self.assertEqual(tool_text(m.call_tool("b__echo", {"text": "b"})), "b")
        # The garbage is logged on stderr, never forwarded to stdout.
        self.assertTrue(any("junky" in line and ("not json" in line or "broken json" in line or
                                                 "bad_output" in line or "garbage" in line.lower())
                            for line in m.stderr.splitlines()), m.stderr_tail())
        for line in m.lines:
            self.assertNotIn("broken json", line)
            self.assertNotIn("this is not json", line)
        m.close_stdin()
        self.assertEqual(m.wait_exit(10), 0)


if __name__ == "__main__":
    mcptest.main()
