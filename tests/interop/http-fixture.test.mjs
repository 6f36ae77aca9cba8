// The HTTP fault fixture (tests/fixtures/http_server.mjs) checked with the SDK's own
// clients, no mcpbraid: each fault really happens on the wire, so the mcpbraid tests
// that rely on it (tests/integration/test_http.py, http.test.mjs) cannot pass or
// fail for the wrong reason.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { sleep, textOf } from "./harness.mjs";
import { startHttpFixture } from "./http_servers.mjs";

const CALL = { timeout: 5000 };
const TOOLS = ["echo", "slow", "fail5xx", "malformed", "cut", "ask", "notify_changed", "sessions", "cancelled_count", "big"];

async function connect(server, { sse = false, headers, changed } = {}) {
  const client = new Client(
    { name: "fixture-check", version: "1" },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { answer: "42" } }));
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    model: "m",
    role: "assistant",
    content: { type: "text", text: "sampled" },
  }));
  if (changed) client.setNotificationHandler(ToolListChangedNotificationSchema, changed);
  const requestInit = headers ? { headers } : undefined;
  const transport = sse
    ? new SSEClientTransport(new URL(server.url("/sse")), { requestInit })
    : new StreamableHTTPClientTransport(new URL(server.url("/mcp")), {
        requestInit,
        reconnectionOptions: { initialReconnectionDelay: 100, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1, maxRetries: 20 },
      });
  await client.connect(transport, CALL);
  return { client, transport };
}

const call = (client, name, args = {}, options = {}) => client.callTool({ name, arguments: args }, undefined, { ...CALL, ...options });

async function waitFor(predicate, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

describe("http_server.mjs, Streamable HTTP", () => {
  let server;
  let c;
  const changes = [];
  before(async () => {
    server = await startHttpFixture();
    c = await connect(server, { changed: (n) => changes.push(n) });
  });
  after(async () => {
    await c?.client.close();
    await server?.stop();
  });

  test("lists its tools and echoes", async () => {
    const { tools } = await c.client.listTools({}, CALL);
    assert.deepEqual(tools.map((t) => t.name), TOOLS);
    assert.equal(textOf(await call(c.client, "echo", { text: "hi" })), "hi");
    assert.equal(textOf(await call(c.client, "sessions")), "1");
  });

  test("slow reports progress every 100 ms", async () => {
    const seen = [];
    const res = await call(c.client, "slow", { ms: 350 }, { onprogress: (p) => seen.push(p) });
    assert.equal(textOf(res), "slept 350");
    await sleep(50);
    assert.deepEqual(seen.map((p) => [p.progress, p.total]).slice(0, 3), [[1, 4], [2, 4], [3, 4]]);
  });

  test("a cancelled slow call is counted and stops", async () => {
    const controller = new AbortController();
    const pending = call(c.client, "slow", { ms: 3000 }, { signal: controller.signal });
    await sleep(200);
    controller.abort(new Error("check: cancelled"));
    await assert.rejects(pending);
    assert.ok(await waitFor(async () => (await server.stats()).aborted === 1));
    const res = await call(c.client, "cancelled_count");
    assert.equal(res.structuredContent.cancelled, 1);
  });

  test("ask: elicitation, and sampling on request", async () => {
    assert.deepEqual(JSON.parse(textOf(await call(c.client, "ask"))), { action: "accept", content: { answer: "42" } });
    const sampled = JSON.parse(textOf(await call(c.client, "ask", { mode: "sample" })));
    assert.equal(sampled.content.text, "sampled");
  });

  test("notify_changed adds a tool and sends list_changed on the GET stream", async () => {
    assert.ok(await waitFor(async () => (await server.stats()).get_open === 1), "the SDK client opened no GET stream");
    assert.equal(textOf(await call(c.client, "notify_changed")), "added added_1");
    assert.ok(await waitFor(() => changes.length === 1), "no list_changed");
    const { tools } = await c.client.listTools({}, CALL);
    assert.ok(tools.some((t) => t.name === "added_1"));
    assert.equal(textOf(await call(c.client, "added_1")), "added_1");
  });

  test("fail5xx, malformed and cut fail the call; the session goes on", async () => {
    await assert.rejects(call(c.client, "fail5xx"), (err) => err.code === 500);
    await assert.rejects(call(c.client, "malformed"));
    await assert.rejects(call(c.client, "cut", {}, { timeout: 2000 }));
    const stats = await server.stats();
    assert.deepEqual(stats.faults, { fail5xx: 1, malformed: 1, cut: 1 });
    assert.equal(textOf(await call(c.client, "echo", { text: "still" })), "still");
  });

  test("every POST after initialize carried MCP-Protocol-Version; DELETE ends the session", async () => {
    const before = await server.stats();
    assert.deepEqual(Object.keys(before.protocol_versions), ["2025-11-25"]);
    await c.transport.terminateSession();
    const stats = await server.stats();
    assert.equal(stats.deletes, 1);
    assert.deepEqual(stats.deleted, [c.transport.sessionId ?? stats.deleted[0]]);
    assert.equal(stats.sessions_open, 0);
  });
});

describe("http_server.mjs faults chosen by flags", () => {
  test("--token: 401 with resource_metadata without it, served with it", async () => {
    const server = await startHttpFixture("--token", "t0ken");
    try {
      const raw = await fetch(server.url("/mcp"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
      });
      assert.equal(raw.status, 401);
      assert.equal(
        raw.headers.get("www-authenticate"),
        `Bearer resource_metadata="${server.origin}/.well-known/oauth-protected-resource"`,
      );
      const c = await connect(server, { headers: { Authorization: "Bearer t0ken" } });
      assert.equal(textOf(await call(c.client, "echo", { text: "in" })), "in");
      await c.client.close();
      assert.equal((await server.stats()).unauthorized, 1);
    } finally {
      await server.stop();
    }
  });

  test("--expire-after 4: the 5th POST of a session gets 404", async () => {
    const server = await startHttpFixture("--expire-after", "4");
    try {
      const c = await connect(server); // initialize + initialized: 2 POSTs
      await call(c.client, "echo", { text: "3" });
      await call(c.client, "echo", { text: "4" });
      await assert.rejects(call(c.client, "echo", { text: "5" }), (err) => err.code === 404);
      const stats = await server.stats();
      assert.equal(stats.expired, 1);
      assert.equal(stats.sessions_open, 0);
      await c.client.close();
    } finally {
      await server.stop();
    }
  });

  test("--drop-get-after 300: the GET stream ends and list_changed reaches the reconnected stream", async () => {
    const server = await startHttpFixture("--drop-get-after", "300");
    const changes = [];
    try {
      const c = await connect(server, { changed: (n) => changes.push(n) });
      assert.ok(await waitFor(async () => (await server.stats()).get_dropped >= 1), "never dropped");
      assert.ok(await waitFor(async () => {
        const s = await server.stats();
        return s.gets >= 2 && s.get_open === 1;
      }), "the SDK client did not reconnect");
      await call(c.client, "notify_changed");
      assert.ok(await waitFor(() => changes.length >= 1), "list_changed lost");
      await c.client.close();
    } finally {
      await server.stop();
    }
  });

  test("--json-response: JSON bodies; ask goes over the GET stream", async () => {
    const server = await startHttpFixture("--json-response");
    try {
      const c = await connect(server);
      assert.equal(textOf(await call(c.client, "echo", { text: "j" })), "j");
      assert.ok(await waitFor(async () => (await server.stats()).get_open === 1));
      assert.equal(JSON.parse(textOf(await call(c.client, "ask"))).content.answer, "42");
      const raw = await fetch(server.url("/mcp"), {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          "Mcp-Session-Id": c.transport.sessionId,
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "ping" }),
      });
      assert.equal(raw.status, 200);
      assert.match(raw.headers.get("content-type"), /^application\/json/);
      assert.deepEqual(await raw.json(), { jsonrpc: "2.0", id: 99, result: {} });
      await c.client.close();
    } finally {
      await server.stop();
    }
  });
});

describe("http_server.mjs --sse (2024-11-05)", () => {
  test("the same tools, progress, ask and list_changed over GET /sse + POST /messages", async () => {
    const server = await startHttpFixture("--sse");
    const changes = [];
    try {
      const c = await connect(server, { sse: true, changed: (n) => changes.push(n) });
      const { tools } = await c.client.listTools({}, CALL);
      assert.deepEqual(tools.map((t) => t.name), TOOLS);
      assert.equal(textOf(await call(c.client, "echo", { text: "old" })), "old");
      const seen = [];
      await call(c.client, "slow", { ms: 250 }, { onprogress: (p) => seen.push(p) });
      assert.ok(seen.length >= 2, JSON.stringify(seen));
      assert.equal(JSON.parse(textOf(await call(c.client, "ask"))).content.answer, "42");
      await call(c.client, "notify_changed");
      assert.ok(await waitFor(() => changes.length === 1));
      await assert.rejects(call(c.client, "fail5xx"), /500/); // the SSE client puts the status in the text
      assert.equal(textOf(await call(c.client, "sessions")), "1");
      await c.client.close();
      const stats = await server.stats();
      assert.equal(stats.faults.fail5xx, 1);
      assert.ok(await waitFor(async () => (await server.stats()).sessions_open === 0));
    } finally {
      await server.stop();
    }
  });

  test("--sse --drop-get-after ends the stream (the SDK's EventSource reconnects); cut kills it", async () => {
    const server = await startHttpFixture("--sse", "--drop-get-after", "400");
    try {
      const c = await connect(server, { sse: true });
      assert.ok(await waitFor(async () => (await server.stats()).get_dropped >= 1), "the SSE stream was not ended");
      assert.ok(await waitFor(async () => (await server.stats()).gets >= 2), "no second GET /sse");
      await c.client.close();
    } finally {
      await server.stop();
    }
    const cutting = await startHttpFixture("--sse");
    try {
      const c = await connect(cutting, { sse: true });
      await call(c.client, "cut", {}, { timeout: 1000 }).catch(() => {});
      const stats = await cutting.stats();
      assert.equal(stats.faults.cut, 1);
      assert.ok(stats.gets >= 1);
      assert.ok(await waitFor(async () => (await cutting.stats()).sessions_open === 0 || (await cutting.stats()).gets >= 2),
        "cut left the first stream open");
      await c.client.close();
    } finally {
      await cutting.stop();
    }
  });
});
