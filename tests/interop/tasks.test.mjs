// Tasks (MCP 2025-11-25, experimental) through mcpbraid: the SDK 1.32.2
// client's `client.experimental.tasks` in front of two server-everything
// processes, whose `simulate-research-query` runs only as a task. Status
// notifications, polling, the elicitation tied to the task, the result,
// tasks/list, tasks/cancel, two task-capable backends at once, a task whose
// backend died, and shutdown with a task still running.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe } from "node:test";
import { DIRECT, ENTRY, REQUEST_TIMEOUT, SEP, Session, alive, childrenOf, sleep, tester } from "./harness.mjs";

const RESEARCH = "simulate-research-query";
const TASK_CAPS = { elicitation: { form: {} }, tasks: { list: {}, cancel: {} } };
const RELATED = "io.modelcontextprotocol/related-task";
// Two copies of server-everything; the environment tells their processes apart.
const DEFS = {
  everything: { command: process.execPath, args: [ENTRY.everything, "stdio"], env: { INTEROP_NAME: "everything" } },
  every2: { command: process.execPath, args: [ENTRY.everything, "stdio"], env: { INTEROP_NAME: "every2" } },
};
// Our ids: 8 hex digits of the run, a dash, a counter (server-everything's are UUIDs).
const OURS = /^[0-9a-f]{8}-\d+$/;

/** The pid of the backend started with INTEROP_NAME=name, among mcpbraid's children. */
function backendPid(muxPid, name) {
  for (const pid of childrenOf(muxPid)) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (env.includes(`INTEROP_NAME=${name}`)) return pid;
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** Runs a task-augmented call to the end: every message the SDK's stream yields. */
async function runTask(client, name, args) {
  const messages = [];
  const stream = client.experimental.tasks.callToolStream({ name, arguments: args }, undefined, {
    task: { ttl: 60_000 },
    timeout: 20_000,
  });
  for await (const message of stream) messages.push(message);
  return messages;
}

async function openTasksSession(elicited) {
  return Session.open({
    servers: ["everything", "every2"],
    defs: DEFS,
    capabilities: TASK_CAPS,
    handlers: {
      elicitation: async (req) => {
        elicited.push(req.params);
        return { action: "accept", content: { interpretation: "programming" } };
      },
    },
  });
}

describe("tasks through mcpbraid", { skip: DIRECT ? "two copies of one server need mcpbraid's names" : false }, () => {
  let s;
  let client;
  const elicited = [];
  before(
    async () => {
      s = await openTasksSession(elicited);
      client = s.client("everything");
      await s.waitForTools([`everything${SEP}${RESEARCH}`, `every2${SEP}${RESEARCH}`], 5000);
      await client.listTools({}, { timeout: REQUEST_TIMEOUT }); // the SDK learns taskSupport
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("advertises the backends' tasks capability and lists the task-only tool", async () => {
    const caps = client.getServerCapabilities();
    assert.deepEqual(caps.tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
    const { tools } = await client.listTools({}, { timeout: REQUEST_TIMEOUT });
    const research = tools.find((t) => t.name === `everything${SEP}${RESEARCH}`);
    assert.ok(research, "simulate-research-query is not listed");
    assert.equal(research.execution?.taskSupport, "required");
  });

  it(
    "a task runs to its result: status notifications, polling, the elicitation tied to it",
    { timeout: 30_000 },
    async () => {
      const before = elicited.length;
      const messages = await runTask(client, `everything${SEP}${RESEARCH}`, { topic: "python", ambiguous: true });
      const created = messages.find((m) => m.type === "taskCreated");
      assert.ok(created, `no taskCreated in ${JSON.stringify(messages.map((m) => m.type))}`);
      const taskId = created.task.taskId;
      assert.match(taskId, OURS);
      const statuses = messages.filter((m) => m.type === "taskStatus").map((m) => m.task);
      assert.ok(statuses.length >= 2, `polled ${statuses.length} times`);
      for (const task of statuses) assert.equal(task.taskId, taskId);
      assert.ok(statuses.some((t) => t.status === "input_required"), `statuses: ${statuses.map((t) => t.status)}`);
      const result = messages.find((m) => m.type === "result");
      assert.ok(result, `no result in ${JSON.stringify(messages)}`);
      const text = result.result.content.map((c) => c.text ?? "").join("\n");
      assert.match(text, /Research Report: python \(programming\)/);
      assert.equal(result.result._meta?.[RELATED]?.taskId, taskId, "the result's related-task is not our id");
      // The elicitation the task sent while tasks/result waited names our id.
      assert.equal(elicited.length, before + 1, "the client was not asked for clarification once");
      assert.equal(elicited.at(-1)._meta?.[RELATED]?.taskId, taskId);
      // Status notifications crossed with our id, never the backend's.
      const notes = s
        .wire()
        .filter((w) => w.dir === "in" && w.msg.method === "notifications/tasks/status")
        .map((w) => w.msg.params);
      assert.ok(notes.length >= 1, "no notifications/tasks/status reached the client");
      for (const n of notes) assert.match(n.taskId, OURS);
      assert.ok(notes.some((n) => n.taskId === taskId));
      const finalTask = await client.experimental.tasks.getTask(taskId, { timeout: REQUEST_TIMEOUT });
      assert.equal(finalTask.status, "completed");
      assert.equal(typeof finalTask.createdAt, "string");
    },
  );

  it("two backends' tasks at once: distinct ids, both listed, each result its own", { timeout: 30_000 }, async () => {
    const [a, b] = await Promise.all([
      runTask(client, `everything${SEP}${RESEARCH}`, { topic: "alpha" }),
      runTask(client, `every2${SEP}${RESEARCH}`, { topic: "beta" }),
    ]);
    const idA = a.find((m) => m.type === "taskCreated").task.taskId;
    const idB = b.find((m) => m.type === "taskCreated").task.taskId;
    assert.notEqual(idA, idB);
    assert.match(a.find((m) => m.type === "result").result.content[0].text, /Research Report: alpha/);
    assert.match(b.find((m) => m.type === "result").result.content[0].text, /Research Report: beta/);
    const { tasks, nextCursor } = await client.experimental.tasks.listTasks(undefined, { timeout: REQUEST_TIMEOUT });
    assert.equal(nextCursor, undefined);
    const ids = tasks.map((t) => t.taskId);
    assert.ok(ids.includes(idA) && ids.includes(idB), `listed: ${ids}`);
    for (const id of ids) assert.match(id, OURS);
    assert.equal(new Set(ids).size, ids.length, "a task is listed twice");
  });

  it("tasks/cancel cancels the backend's task; a second cancel is refused", { timeout: 20_000 }, async () => {
    const created = await client.request(
      { method: "tools/call", params: { name: `every2${SEP}${RESEARCH}`, arguments: { topic: "gamma" }, task: { ttl: 60_000 } } },
      (await import("@modelcontextprotocol/sdk/types.js")).CreateTaskResultSchema,
      { timeout: REQUEST_TIMEOUT },
    );
    const taskId = created.task.taskId;
    assert.match(taskId, OURS);
    const cancelled = await client.experimental.tasks.cancelTask(taskId, { timeout: REQUEST_TIMEOUT });
    assert.equal(cancelled.taskId, taskId);
    assert.equal(cancelled.status, "cancelled");
    const got = await client.experimental.tasks.getTask(taskId, { timeout: REQUEST_TIMEOUT });
    assert.equal(got.status, "cancelled");
    await assert.rejects(client.experimental.tasks.cancelTask(taskId, { timeout: REQUEST_TIMEOUT }), (err) => {
      assert.equal(err.code, -32602);
      return true;
    });
  });

  it("an unknown task id is -32602", async () => {
    await assert.rejects(client.experimental.tasks.getTask("00000000-999", { timeout: REQUEST_TIMEOUT }), (err) => {
      assert.equal(err.code, -32602);
      return true;
    });
  });

  it("a task whose backend died is reported failed with the reason", { timeout: 30_000 }, async () => {
    const { CreateTaskResultSchema } = await import("@modelcontextprotocol/sdk/types.js");
    const created = await client.request(
      { method: "tools/call", params: { name: `every2${SEP}${RESEARCH}`, arguments: { topic: "delta" }, task: {} } },
      CreateTaskResultSchema,
      { timeout: REQUEST_TIMEOUT },
    );
    const taskId = created.task.taskId;
    const pid = backendPid(s.mux.pid, "every2");
    assert.ok(pid, "no every2 process among mcpbraid's children");
    process.kill(pid, "SIGKILL");
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    await sleep(200); // mcpbraid reads the exit
    const task = await client.experimental.tasks.getTask(taskId, { timeout: REQUEST_TIMEOUT });
    assert.equal(task.taskId, taskId);
    assert.equal(task.status, "failed");
    assert.match(task.statusMessage, /^server every2 (restarted|exited); its tasks are lost$/);
    assert.equal(task.ttl, 300000, "the ttl the backend gave");
    assert.equal(typeof task.createdAt, "string");
    assert.equal(typeof task.lastUpdatedAt, "string");
    await assert.rejects(client.experimental.tasks.getTaskResult(taskId, undefined, { timeout: REQUEST_TIMEOUT }), (err) => {
      assert.equal(err.code, -32603);
      assert.match(err.message, /every2/);
      return true;
    });
    const { tasks } = await client.experimental.tasks.listTasks(undefined, { timeout: REQUEST_TIMEOUT });
    const listed = tasks.find((t) => t.taskId === taskId);
    assert.equal(listed?.status, "failed", `not listed as failed: ${JSON.stringify(tasks)}`);
    // The other backend's tasks are untouched.
    assert.ok(tasks.some((t) => t.status === "completed"));
  });
});

describe("shutdown with a task running", { skip: DIRECT ? "only meaningful for mcpbraid" : false }, () => {
  const it = tester(() => null);

  it("closing the client ends mcpbraid and the backend that keeps its task alive", { timeout: 30_000 }, async () => {
    const s = await openTasksSession([]);
    let muxPid;
    let backends = [];
    try {
      const { CreateTaskResultSchema } = await import("@modelcontextprotocol/sdk/types.js");
      await s.waitForTools([`everything${SEP}${RESEARCH}`], 5000);
      const created = await s
        .client("everything")
        .request(
          { method: "tools/call", params: { name: `everything${SEP}${RESEARCH}`, arguments: { topic: "long" }, task: {} } },
          CreateTaskResultSchema,
          { timeout: REQUEST_TIMEOUT },
        );
      assert.match(created.task.taskId, OURS);
      muxPid = s.mux.pid;
      backends = childrenOf(muxPid);
      assert.ok(backends.length >= 2, `backends: ${backends}`);
    } finally {
      await s.close();
    }
    // server-everything with a task outlives stdin EOF by 20 s; the ladder ends it.
    const deadline = Date.now() + 8000;
    while ((alive(muxPid) || backends.some(alive)) && Date.now() < deadline) await sleep(100);
    assert.ok(!alive(muxPid), "mcpbraid still running");
    assert.deepEqual(backends.filter(alive), [], "backend processes left running");
  });
});
