"""The last-resort guard: an exception that escapes a handler is logged at
ERROR, its request is answered with -32603, it is counted in health, and the
session goes on. Shapes are checked before use, so only the test hook
(MCPBRAID_TEST_HOOKS=1) can make a handler throw."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class LastResortGuard(mcptest.MuxTestCase):

    def internal_errors(self, m):
        return m.result("gateway_health")["mcpbraid"]["internal_errors"]

    def test_an_escaping_exception_is_answered_counted_and_survived(self):
        m = self.mux({"a": fixture("a")}, env={"MCPBRAID_TEST_HOOKS": "1"})
        m.initialize()
        self.assertEqual(self.internal_errors(m), 0)
        err = m.error("mcpbraid/test/throw", id="boom-1")
        self.assertEqual(err["code"], -32603)
        self.assertIn("internal error", err["message"])
        self.assertIn("test hook", err["message"])
        self.assertEqual(self.internal_errors(m), 1)
        self.assertIn("event=gateway.internal_error", m.stderr)
        self.assertIn("method=mcpbraid/test/throw", m.stderr)
        # The session goes on: a backend call and a second throw both work.
        result = m.call_tool("a__echo", {"text": "still here"})
        self.assertIn("still here", tool_text(result))
        self.assertEqual(m.error("mcpbraid/test/throw", id=7)["code"], -32603)
        self.assertEqual(m.response_count(7), 1)
        self.assertEqual(self.internal_errors(m), 2)
        m.close_stdin()
        self.assertEqual(m.wait_exit(), 0)

    def test_without_the_hook_the_method_does_not_exist(self):
        m = self.mux({"a": fixture("a")})
        m.initialize()
        self.assertEqual(m.error("mcpbraid/test/throw")["code"], -32601)
        self.assertEqual(self.internal_errors(m), 0)


if __name__ == "__main__":
    mcptest.main()
