#!/usr/bin/env python3
"""Tasks (MCP 2025-11-25) through the gateway with scripted backends: task ids
mapped both ways (also for a status notification that comes before the
CreateTaskResult), the call's progress token kept for the task's life,
tasks/result waiting past `timeout`, tasks/list across pages and backends,
and malformed task messages that must not reach the client or hurt the
gateway. The real peers (SDK client, server-everything) are in
tests/interop/tasks.test.mjs."""

import json
import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mcptest  # noqa: E402
from mcptest import fixture  # noqa: E402

REPLAY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "fixtures", "replay_backend.py")
RELATED = "io.modelcontextprotocol/related-task"
OURS = re.compile(r"^[0-9a-f]{8}-\d+$")
TASKS_CAPS = {"tools": {}, "tasks": {"list": {}, "cancel": {},
                                     "requests": {"tools": {"call": {}}}}}
INIT = ('{"jsonrpc":"2.0","id":$ID,"result":{"protocolVersion":"2025-11-25","capabilities":%s,'
        '"serverInfo":{"name":"tasky","version":"1"}}}' % json.dumps(TASKS_CAPS))


def task(task_id, status="working", **extra):
    t = {"taskId": task_id, "status": status, "createdAt": "2026-12-03T10:00:00Z",
         "lastUpdatedAt": "2026-12-03T10:00:00Z", "ttl": 60000}
    t.update(extra)
    return t


def answer(value):
    return '{"jsonrpc":"2.0","id":$ID,"result":%s}' % json.dumps(value)


def status_line(task_id, status="working"):
    return json.dumps({"jsonrpc": "2.0", "method": "notifications/tasks/status",
                       "params": task(task_id, status)})


class Tasks(mcptest.MuxTestCase):

    def replay(self, script):
        script = dict(script)
        script.setdefault("initialize_raw", INIT)
        fd, path = tempfile.mkstemp(prefix="mcpbraid-tasks-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(script, f)
        self.addCleanup(os.unlink, path)
        return {"command": sys.executable, "args": [REPLAY, path]}

    def start_task(self, m, tool, lines, meta=None):
        """A task-augmented call of `emit` writing `lines`: the CreateTaskResult."""
        params = {"name": tool, "arguments": {"lines": lines, "then": "none"},
                  "task": {"ttl": 60000}}
        if meta is not None:
            params["_meta"] = meta
        return m.result("tools/call", params)

    def test_ids_are_ours_both_ways_even_for_a_status_before_the_answer(self):
        get = answer(task("T1", "completed"))
        m = self.mux({"x": self.replay({"answers": {"tasks/get": [get]}}),
                      "y": self.replay({"answers": {"tasks/get": [get]}})})
        init = m.initialize()
        self.assertEqual(init["capabilities"]["tasks"], TASKS_CAPS["tasks"])
        # Both backends call their task "T1"; the status comes before the answer.
        created = {}
        for server in ("x", "y"):
            r = self.start_task(m, server + "__emit", [status_line("T1"), answer({"task": task("T1")})])
            created[server] = r["task"]["taskId"]
            self.assertRegex(created[server], OURS)
        self.assertNotEqual(created["x"], created["y"])
        notes = m.wait_notification("notifications/tasks/status", count=2)
        self.assertEqual([n["params"]["taskId"] for n in notes], [created["x"], created["y"]])
        # tasks/get goes to the task's backend with its own id, and comes back with ours.
        for server in ("x", "y"):
            got = m.result("tasks/get", {"taskId": created[server]})
            self.assertEqual(got["taskId"], created[server])
            self.assertEqual(got["status"], "completed")
        err = m.error("tasks/get", {"taskId": "T1"})
        self.assertEqual(err["code"], -32602)
        self.assertEqual(m.error("tasks/get", {})["code"], -32602)

    def test_a_task_keeps_its_call_progress_token_until_it_ends(self):
        progress = ('{"jsonrpc":"2.0","method":"notifications/progress",'
                    '"params":{"progressToken":$TOKEN,"progress":%d}}')
        m = self.mux({"x": self.replay({"answers": {"tasks/get": [
            answer(task("T9", "completed")), progress % 3]}})})
        m.initialize()
        r = self.start_task(m, "x__emit", [answer({"task": task("T9")}), progress % 1, progress % 2],
                            meta={"progressToken": "tok-1"})
        ours = r["task"]["taskId"]
        got = m.wait_notification("notifications/progress", count=2)
        self.assertEqual([(n["params"]["progressToken"], n["params"]["progress"]) for n in got],
                         [("tok-1", 1), ("tok-1", 2)])
        # The task seen ended: later progress is stray.
        self.assertEqual(m.result("tasks/get", {"taskId": ours})["status"], "completed")
        self.assertEqual(m.result("ping"), {})
        mcptest.wait_until(lambda: "backend.stray_progress" in m.stderr, 3.0)
        self.assertEqual(len(m.notifications_of("notifications/progress")), 2)

    def test_tasks_result_waits_past_timeout_and_names_our_id(self):
        final = answer({"content": [{"type": "text", "text": "done"}],
                        "_meta": {RELATED: {"taskId": "R1"}}})
        entry = self.replay({"answers": {"tasks/result": [final]},
                             "answer_delay_ms": {"tasks/result": 1200}})
        entry["failsafe"] = {"timeout": "300ms", "max_timeout": "5s"}
        m = self.mux({"x": entry})
        m.initialize()
        ours = self.start_task(m, "x__emit", [answer({"task": task("R1")})])["task"]["taskId"]
        r = m.result("tasks/result", {"taskId": ours}, timeout=8)
        self.assertEqual(r["content"][0]["text"], "done")
        self.assertEqual(r["_meta"][RELATED]["taskId"], ours)

    def test_tasks_list_merges_pages_and_backends_into_one_page(self):
        m = self.mux({"x": self.replay({"task_pages": [[task("A")], [task("B"), {"bad": 1}], [task("C")]]}),
                      "y": self.replay({"task_pages": [[task("A", "completed")]]}),
                      "plain": fixture("plain")})
        m.initialize()
        r = m.result("tasks/list")
        self.assertNotIn("nextCursor", r)
        self.assertEqual(len(r["tasks"]), 4)
        ids = [t["taskId"] for t in r["tasks"]]
        for i in ids:
            self.assertRegex(i, OURS)
        self.assertEqual(len(set(ids)), 4)
        self.assertEqual(sorted(t["status"] for t in r["tasks"]),
                         ["completed", "working", "working", "working"])
        # The same tasks keep their ids on the next list.
        self.assertEqual([t["taskId"] for t in m.result("tasks/list")["tasks"]], ids)
        self.assertEqual(m.error("tasks/list", {"cursor": "p1"})["code"], -32602)

    def test_malformed_task_messages_do_not_reach_the_client_or_hurt_the_gateway(self):
        m = self.mux({"x": self.replay({"answers": {"tasks/get": [answer("not a task")]},
                                        "task_pages": [["no", 1, None]]})})
        m.initialize()
        no_id = json.dumps({"jsonrpc": "2.0", "method": "notifications/tasks/status",
                            "params": {"status": "working"}})
        r = self.start_task(m, "x__emit", [no_id, answer({"task": {"taskId": 5}})])
        self.assertEqual(r["task"]["taskId"], 5)  # not a task id: passed on as it came
        self.assertEqual(m.notifications_of("notifications/tasks/status"), [])
        self.assertTrue(mcptest.wait_until(lambda: "backend.bad_notification" in m.stderr, 5))
        ours = self.start_task(m, "x__emit", [answer({"task": task("G")})])["task"]["taskId"]
        m.call("tasks/get", {"taskId": ours})  # answered, whatever it is
        self.assertEqual(m.result("tasks/list")["tasks"], [])
        health = m.result("tools/call", {"name": "gateway_health"})
        self.assertEqual(health["structuredContent"]["mcpbraid"]["internal_errors"], 0)


if __name__ == "__main__":
    mcptest.main()
