"""Many requests in flight at once, on one backend and across backends, each
answered with its own result; a slow tool never delays other answers; an idle
gateway does not keep polling."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture, tool_text  # noqa: E402


class Concurrency(mcptest.MuxTestCase):

    def setUp(self):
        super().setUp()
        self.m = self.mux({"a": fixture("a"), "b": fixture("b")}, log_level="info")
        self.m.initialize()
        self.m.result("tools/list")

    def test_hundred_requests_in_flight_across_two_backends(self):
        expected = {}
        # Write all 100 requests in one go before reading anything.
        batch = []
        for i in range(100):
            if i % 2 == 0:
                params = {"name": "a__add", "arguments": {"a": i, "b": 1000}}
                expected[i] = ("sum", i + 1000)
            else:
                params = {"name": "b__echo", "arguments": {"text": "msg-%d" % i}}
                expected[i] = ("echo", "msg-%d" % i)
            # Mix id types: even ints, odd strings.
            rid = i if i % 2 == 0 else "s%d" % i
            batch.append(mcptest.req(rid, "tools/call", params))
        self.m.send_raw(mcptest.jsonl(*batch))
        for i in range(100):
            rid = i if i % 2 == 0 else "s%d" % i
            msg = self.m.wait_response(rid, 20)
            key, value = expected[i]
            self.assertIn("result", msg, msg)
            self.assertEqual(msg["result"]["structuredContent"], {key: value}, "request %r" % rid)
            self.assertEqual(self.m.response_count(rid), 1)
        self.assertEqual(len(self.m.responses), 100 + 2)  # plus initialize and tools/list

    def test_many_slow_calls_on_one_backend_run_concurrently(self):
        t0 = time.monotonic()
        ids = [self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 800}})
               for _ in range(20)]
        for rid in ids:
            self.assertEqual(tool_text(self.m.wait_response(rid, 10)["result"]), "slept 800")
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.0, "20 x 800 ms in parallel took %.2fs" % elapsed)

    def test_slow_tool_does_not_delay_another_backend(self):
        slow = self.m.request("tools/call", {"name": "a__slow", "arguments": {"ms": 2000}})
        time.sleep(0.05)
        t0 = time.monotonic()
        fast = self.m.request("tools/call", {"name": "b__echo", "arguments": {"text": "quick"}})
        msg = self.m.wait_response(fast, 5)
        elapsed = time.monotonic() - t0
        self.assertEqual(tool_text(msg["result"]), "quick")
        self.assertLess(elapsed, 0.5, "fast call on b took %.3fs behind a slow call on a" % elapsed)
        self.assertFalse(self.m.has_response(slow))
        self.assertEqual(tool_text(self.m.wait_response(slow, 5)["result"]), "slept 2000")

    def test_slow_tool_does_not_delay_same_backend_or_gateway(self):
        slow = self.m.request("tools/call", {"name": "b__slow", "arguments": {"ms": 2000}})
        time.sleep(0.05)
        t0 = time.monotonic()
        fast = self.m.request("tools/call", {"name": "b__add", "arguments": {"a": 1, "b": 2}})
        ping = self.m.request("ping")
        listing = self.m.request("tools/list")
        self.assertEqual(tool_text(self.m.wait_response(fast, 5)["result"]), "3")
        self.m.wait_response(ping, 5)
        self.m.wait_response(listing, 5)
        self.assertLess(time.monotonic() - t0, 0.5)
        self.assertFalse(self.m.has_response(slow))
        self.m.wait_response(slow, 5)

    def test_mixed_methods_in_flight(self):
        ids = {}
        for i in range(10):
            s = "ab"[i % 2]
            ids[self.m.request("prompts/get", {"name": s + "__greet", "arguments": {"who": str(i)}})] = \
                ("prompt", "Hello, %d from %s!" % (i, s))
            ids[self.m.request("resources/read", {"uri": "fixture://%s/item/%d" % (s, i)})] = \
                ("read", "item %d of %s" % (i, s))
            ids[self.m.request("tools/call", {"name": s + "__slow", "arguments": {"ms": 100 + 10 * i}})] = \
                ("tool", "slept %d" % (100 + 10 * i))
        for rid, (kind, want) in ids.items():
            r = self.m.wait_response(rid, 10)["result"]
            if kind == "prompt":
                self.assertEqual(r["messages"][0]["content"]["text"], want)
            elif kind == "read":
                self.assertEqual(r["contents"][0]["text"], want)
            else:
                self.assertEqual(tool_text(r), want)


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class BusyPoll(mcptest.MuxTestCase):
    """busy_poll_us polls only after work: an idle gateway sleeps."""

    def check_idle_after_calls(self, extra_top):
        m = self.mux({"a": fixture("a")}, extra_top=extra_top)
        m.initialize()
        for i in range(50):
            self.assertEqual(tool_text(m.call_tool("a__echo", {"text": str(i)})), str(i))
        time.sleep(0.2)
        before = cpu_ticks(m.pid)
        time.sleep(1.0)
        used = cpu_ticks(m.pid) - before
        hz = os.sysconf("SC_CLK_TCK")
        # A spin that never stopped would use about a whole second.
        self.assertLessEqual(used, hz // 20, "idle mcpbraid used %d ticks of %d/s" % (used, hz))

    def test_default_poll_stops_when_idle(self):
        self.check_idle_after_calls({})

    def test_longest_poll_stops_when_idle(self):
        self.check_idle_after_calls({"busy_poll_us": 10000})

    def test_poll_off(self):
        self.check_idle_after_calls({"busy_poll_us": 0})


if __name__ == "__main__":
    mcptest.main()
