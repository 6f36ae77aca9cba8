// Remote backends (issue 12): mcpbraid in front of a stdio server (server-memory)
// and server-everything over Streamable HTTP (`"type": "http"`, on 127.0.0.1).
// Tools from both, progress, sampling / elicitation / roots relayed from the HTTP
// backend, resources subscribe, cancellation, 50 concurrent calls, and shutdown
// with no process or socket left behind. tests/fixtures/HTTP_NOTES.md says what
// server-everything does on the wire.

import assert from "node:assert/strict";
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { after, before, describe } from "node:test";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  ALL_CLIENT_CAPS,
  DIRECT,
  SEP,
  Session,
  alive,
  childrenOf,
  listAll,
  sleep,
  tester,
  textOf,
  traceCall,
} from "./harness.mjs";
import { startEverythingHttp } from "./http_servers.mjs";

const LONG_OP = "trigger-long-running-operation";
const ROOT = { uri: "file:///tmp/mcpbraid-interop-http-root", name: "http-root" };
const SAMPLED = "HTTP-SAMPLED-5c1e";
const ELICITED = { name: "Grace HTTP", check: true, integer: 3, email: "grace@example.com" };

// ------------------------------------------------------------------ /proc helpers

/** TCP sockets from /proc/net/tcp{,6}: {inode, localPort, remotePort, state} (state "0A" = LISTEN, "01" = ESTABLISHED). */
function tcpSockets() {
  const out = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      out.push({
        localPort: parseInt(f[1].split(":")[1], 16),
        remotePort: parseInt(f[2].split(":")[1], 16),
        state: f[3],
        inode: f[9],
      });
    }
  }
  return out;
}

/** Socket inodes a process holds open. */
function socketInodes(pid) {
  const inodes = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m) inodes.add(m[1]);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* process gone */
  }
  return inodes;
}

/** Established TCP connections of `pid` to 127.0.0.1:`port`. */
function connectionsTo(pid, port) {
  const mine = socketInodes(pid);
  return tcpSockets().filter((s) => mine.has(s.inode) && s.remotePort === port && s.state === "01").length;
}

async function waitFor(predicate, ms) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

// ------------------------------------------------------------------ the suite

describe("stdio and Streamable HTTP backends through mcpbraid", () => {
  let web;
  let s;
  const seen = { sampling: [], elicitation: [], roots: 0 };
  const updates = [];
  before(
    async () => {
      web = await startEverythingHttp("streamableHttp");
      s = await Session.open({
        servers: ["memory", "web"],
        defs: { web: { type: "http", url: web.url("/mcp") } },
        capabilities: ALL_CLIENT_CAPS,
        handlers: {
          roots: async () => {
            seen.roots++;
            return { roots: [ROOT] };
          },
          sampling: async (req) => {
            seen.sampling.push(req.params);
            return {
              model: "http-model",
              role: "assistant",
              content: { type: "text", text: `${SAMPLED} re: ${req.params.messages?.[0]?.content?.text}` },
              stopReason: "endTurn",
            };
          },
          elicitation: async (req) => {
            seen.elicitation.push(req.params);
            return { action: "accept", content: ELICITED };
          },
        },
      });
      s.client("web").setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params));
      const gated = ["get-roots-list", "trigger-sampling-request", "trigger-elicitation-request"];
      await s.waitForTools(gated.map((t) => `web${SEP}${t}`), 5000);
    },
    { timeout: 30_000 },
  );
  after(async () => {
    await s?.close();
    await web?.stop();
  });
  const it = tester(() => s, "web");

  it("tools of both backends are listed with their prefixes and callable", async () => {
    const names = await s.toolNames();
    for (const want of ["web__echo", "web__get-sum", `web__${LONG_OP}`, "memory__read_graph", "memory__create_entities"]) {
      assert.ok(names.includes(want.replace("__", SEP)), `${want} missing from ${JSON.stringify(names)}`);
    }
    assert.equal(textOf(await s.callTool("web", "echo", { message: "over http" })), "Echo: over http");
    assert.equal(textOf(await s.callTool("web", "get-sum", { a: 40, b: 2 })), "The sum of 40 and 2 is 42.");
    const graph = await s.callTool("memory", "read_graph", {});
    assert.ok(!graph.isError, JSON.stringify(graph));
  });

  it("progress of a long-running call on the HTTP backend arrives on the caller's token", async () => {
    const seenProgress = [];
    const res = await s.callTool("web", LONG_OP, { duration: 1, steps: 4 }, { onprogress: (p) => seenProgress.push(p), timeout: 15_000 });
    assert.equal(textOf(res), "Long running operation completed. Duration: 1 seconds, Steps: 4.");
    // The SDK may run the last callback after the response (see progress-cancel.test.mjs).
    assert.ok(seenProgress.length >= 3, JSON.stringify(seenProgress));
    const trace = traceCall(s.wire("web"), s.name("web", LONG_OP));
    assert.deepEqual(trace.progress.map((p) => [p.progress, p.total]), [[1, 4], [2, 4], [3, 4], [4, 4]]);
    for (const p of trace.progress) assert.ok(p.at < trace.responseAt, "progress after the response");
    assert.equal(trace.responses.length, 1);
  });

  it("sampling and elicitation requests of the HTTP backend reach the client", async () => {
    const sampled = await s.callTool("web", "trigger-sampling-request", { prompt: "via http", maxTokens: 21 });
    assert.ok(!sampled.isError, JSON.stringify(sampled));
    assert.ok(textOf(sampled).includes(SAMPLED), textOf(sampled));
    assert.equal(seen.sampling.at(-1).maxTokens, 21);
    assert.equal(seen.sampling.at(-1).messages[0].content.text, "Resource trigger-sampling-request context: via http");

    const elicited = await s.callTool("web", "trigger-elicitation-request", {});
    assert.ok(!elicited.isError, JSON.stringify(elicited));
    assert.ok(textOf(elicited).includes(`- Name: ${ELICITED.name}`), textOf(elicited));
    assert.equal(seen.elicitation.at(-1).message, "Please provide inputs for the following fields:");
  });

  it("roots/list from the HTTP backend (sent on its GET stream) is answered by the client", async () => {
    const res = await s.callTool("web", "get-roots-list", {});
    assert.ok(!res.isError, JSON.stringify(res));
    assert.ok(textOf(res).includes(ROOT.uri), textOf(res));
    assert.ok(seen.roots >= 1, "the client's roots handler was never called");
  });

  it("resources of the HTTP backend: read, subscribe, updated notifications, unsubscribe", async () => {
    const resources = await listAll(s.client("web"), "resources");
    const doc = resources.find((r) => r.uri.startsWith("demo://resource/static/document/"));
    assert.ok(doc, `no static document in ${JSON.stringify(resources.map((r) => r.uri))}`);
    const read = await s.client("web").readResource({ uri: doc.uri }, { timeout: 15_000 });
    assert.equal(read.contents[0].uri, doc.uri);

    await s.client("web").subscribeResource({ uri: doc.uri }, { timeout: 15_000 });
    const before = updates.length;
    // Starts the server's simulated updates: one at once, then every 5 s (on the GET stream).
    const toggled = await s.callTool("web", "toggle-subscriber-updates", {});
    assert.match(textOf(toggled), /^Started simulated resource updated notifications/);
    assert.ok(await waitFor(() => updates.slice(before).some((u) => u.uri === doc.uri), 7000),
      `no notifications/resources/updated for ${doc.uri}: ${JSON.stringify(updates)}`);
    await s.client("web").unsubscribeResource({ uri: doc.uri }, { timeout: 15_000 });
    const stopped = await s.callTool("web", "toggle-subscriber-updates", {});
    assert.match(textOf(stopped), /^Stopped simulated resource updates/);
  });

  it("cancelling a call on the HTTP backend rejects it promptly; no late answer; the session goes on", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = s.callTool("web", LONG_OP, { duration: 3, steps: 3 }, { signal: controller.signal, timeout: 20_000 });
    setTimeout(() => controller.abort(new Error("interop: user cancelled")), 300);
    await assert.rejects(call, /cancelled/);
    assert.ok(Date.now() - started < 2000);
    await sleep(3200); // past the point where the operation would have finished
    const trace = traceCall(s.wire("web"), s.name("web", LONG_OP), { duration: 3, steps: 3 });
    assert.ok(trace.cancelAt >= 0, "the SDK client sent no notifications/cancelled");
    assert.deepEqual(trace.responses.map((r) => r.msg), [], "a cancelled call was answered");
    assert.equal(textOf(await s.callTool("web", "echo", { message: "after cancel" })), "Echo: after cancel");
  });

  it("50 concurrent calls across both backends each get their own answer", async () => {
    const jobs = [];
    for (let i = 0; i < 50; i++) {
      if (i % 5 === 4) jobs.push(s.callTool("memory", "search_nodes", { query: `nothing-${i}` }).then((r) => ["m", i, r]));
      else jobs.push(s.callTool("web", "echo", { message: `c${i}` }).then((r) => ["w", i, r]));
    }
    for (const [kind, i, res] of await Promise.all(jobs)) {
      assert.ok(!res.isError, `${kind}${i}: ${JSON.stringify(res)}`);
      if (kind === "w") assert.equal(textOf(res), `Echo: c${i}`);
    }
  });

  it(
    "50 calls in flight at once share a few connections (per-server limit 16)",
    { skip: DIRECT ? "the SDK's own fetch pool is not what this checks" : false },
    async () => {
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          most = Math.max(most, connectionsTo(s.mux.pid, web.port));
          await sleep(20);
        }
      })();
      const jobs = [];
      for (let i = 0; i < 50; i++) jobs.push(s.callTool("web", LONG_OP, { duration: 0.4, steps: 1 }, { timeout: 20_000 }));
      const results = await Promise.all(jobs);
      sampling = false;
      await sampler;
      for (const res of results) {
        assert.equal(textOf(res), "Long running operation completed. Duration: 0.4 seconds, Steps: 1.");
      }
      assert.ok(most >= 1, "never saw mcpbraid connected to the HTTP backend");
      assert.ok(most <= 16, `mcpbraid held ${most} connections to one server at once`);
    },
  );
});

describe("shutdown with an HTTP backend", () => {
  const it = tester(() => null);

  it(
    "closing the client ends mcpbraid: the session is DELETEd, no process or socket is left",
    { skip: DIRECT ? "only meaningful for mcpbraid" : false },
    async () => {
      const web = await startEverythingHttp("streamableHttp");
      try {
        const s = await Session.open({ servers: ["memory", "web"], defs: { web: { type: "http", url: web.url("/mcp") } } });
        let pid;
        let kids;
        let closeMs;
        try {
          assert.equal(textOf(await s.callTool("web", "echo", { message: "x" })), "Echo: x");
          await s.callTool("memory", "read_graph", {});
          pid = s.mux.pid;
          kids = childrenOf(pid);
          assert.equal(kids.length, 1, `one child (server-memory) expected, found ${kids}`);
          const mine = socketInodes(pid);
          const listening = tcpSockets().filter((t) => mine.has(t.inode) && t.state === "0A");
          assert.deepEqual(listening, [], "mcpbraid listens on a TCP port");
          assert.ok(connectionsTo(pid, web.port) >= 1, "no connection to the HTTP backend");
        } finally {
          const t0 = Date.now();
          await s.close();
          closeMs = Date.now() - t0;
        }
        assert.ok(await waitFor(() => !alive(pid) && !kids.some(alive), 6000), "mcpbraid or its child still running");
        assert.ok(closeMs < 1900, `mcpbraid took ${closeMs} ms to exit after stdin closed`);
        assert.deepEqual(s.closed[0].exit, { done: true, code: 0, signal: null });
        assert.ok(
          await waitFor(() => web.output().stdout.includes("Received session termination request"), 2000),
          `no DELETE of the session:\n${web.output().stdout.slice(-2000)}`,
        );
        // Nothing of mcpbraid's is still connected to the server.
        const open = tcpSockets().filter((t) => t.remotePort === web.port && t.state === "01");
        assert.deepEqual(open, [], "connections to the HTTP backend left open");
      } finally {
        await web.stop();
      }
    },
  );
});
