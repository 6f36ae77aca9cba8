// mcpbraid's own tools, gateway_list_servers and gateway_health, seen by the
// official SDK client in front of server-everything and server-memory: listed
// with their schemas, answered with text and structuredContent that match what
// tools/list shows, and hidden by `"gateway_tools": false`. mcpbraid only: the
// file is skipped with INTEROP_DIRECT=1.
//
// This file writes its own configs (with top-level keys) and connects its own
// SDK client (Session.open's `top` / `extra` came later; search.test.mjs uses them).

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  DIRECT,
  MCPBRAID_BIN,
  REQUEST_TIMEOUT,
  SEP,
  TEST_TIMEOUT,
  listAll,
  makeTempDir,
  serverDefs,
  sleep,
  textOf,
} from "./harness.mjs";

const GATEWAY_TOOLS = ["gateway_list_servers", "gateway_health"];
const SERVERS = ["everything", "memory"];
const SANITIZER_REPORT = /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: UndefinedBehaviorSanitizer/;

/**
 * mcpbraid with `servers` (names from serverDefs, or extra defs) and `top` merged
 * into the config's top level, behind a real SDK Client.
 */
async function openMux({ servers = SERVERS, extraDefs = {}, top = {} } = {}) {
  const tmp = makeTempDir("mcpbraid-gateway-tools-");
  const defs = { ...serverDefs(tmp.dir), ...extraDefs };
  const cfgPath = join(tmp.dir, "mcpbraid.json");
  writeFileSync(
    cfgPath,
    JSON.stringify({ mcpServers: Object.fromEntries(servers.map((n) => [n, defs[n]])), ...top }, null, 2),
  );
  const transport = new StdioClientTransport({
    command: MCPBRAID_BIN,
    args: ["--config", cfgPath],
    stderr: "pipe",
  });
  const stderr = { text: "" };
  transport.stderr?.setEncoding("utf8");
  transport.stderr?.on("data", (chunk) => {
    stderr.text = (stderr.text + chunk).slice(-64 * 1024);
  });
  const client = new Client({ name: "mcpbraid-interop-gateway-tools", version: "0.1.0" }, { capabilities: {} });
  const errors = [];
  client.onerror = (err) => errors.push(err);
  try {
    await client.connect(transport, { timeout: 10_000 });
  } catch (err) {
    tmp.cleanup();
    err.message += `\n--- mcpbraid stderr ---\n${stderr.text.slice(-4000)}`;
    throw err;
  }
  const exit = { done: false, signal: null };
  transport._process?.once("exit", (code, signal) => Object.assign(exit, { done: true, code, signal }));
  return {
    client,
    cfgPath,
    pid: transport.pid,
    errors,
    stderr,
    async close() {
      await client.close().catch(() => {});
      const deadline = Date.now() + 2000;
      while (!exit.done && Date.now() < deadline) await sleep(20);
      tmp.cleanup();
      const problems = [];
      if (exit.signal && exit.signal !== "SIGTERM" && exit.signal !== "SIGKILL") problems.push(`mcpbraid died of ${exit.signal}`);
      const report = stderr.text.match(SANITIZER_REPORT);
      if (report) problems.push(`mcpbraid stderr has a sanitizer report:\n${stderr.text.slice(report.index, report.index + 4000)}`);
      if (problems.length) throw new Error(problems.join("\n"));
    },
  };
}

/** `test` with the suite's timeout and mcpbraid's stderr tail on failure. */
function tester(getMux) {
  return (name, fn) =>
    test(name, { timeout: TEST_TIMEOUT }, async (t) => {
      try {
        return await fn(t);
      } catch (err) {
        const tail = getMux()?.stderr.text;
        if (tail && err && typeof err === "object") {
          try {
            err.message += `\n--- mcpbraid stderr (tail) ---\n${tail.slice(-3000)}`;
          } catch {
            /* read-only message */
          }
        }
        throw err;
      }
    });
}

const callTool = (client, name, args = {}) =>
  client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT });

/** The number of tools/list entries of `server`, by prefix. */
const countOf = (tools, server) => tools.filter((t) => t.name.startsWith(`${server}${SEP}`)).length;

describe("gateway tools through the SDK client", { skip: DIRECT && "mcpbraid only" }, () => {
  let mux;
  let tools;
  before(
    async () => {
      mux = await openMux();
      tools = await listAll(mux.client, "tools");
    },
    { timeout: 30_000 },
  );
  after(async () => mux?.close());
  const it = tester(() => mux);

  it("tools/list has gateway_list_servers and gateway_health after the servers' tools", async () => {
    const names = tools.map((t) => t.name);
    for (const name of GATEWAY_TOOLS) assert.ok(names.includes(name), `${name} missing: ${JSON.stringify(names)}`);
    assert.ok(countOf(tools, "everything") > 0, "no everything tools");
    assert.ok(countOf(tools, "memory") > 0, "no memory tools");
    assert.deepEqual(names.slice(-2), GATEWAY_TOOLS, "the gateway's tools come last");
    assert.equal(new Set(names).size, names.length, "duplicate tool names");
  });

  it("the gateway tools have an object inputSchema without required arguments, a title and a description", async () => {
    for (const name of GATEWAY_TOOLS) {
      const tool = tools.find((t) => t.name === name);
      assert.deepEqual(tool.inputSchema, { type: "object", properties: {} }, `${name} inputSchema`);
      assert.equal(typeof tool.description, "string");
      assert.ok(tool.description.length > 20, `${name} description too short: ${tool.description}`);
      assert.match(tool.title ?? "", /^mcpbraid: /, `${name} title`);
      assert.equal(tool.annotations?.readOnlyHint, true, `${name} readOnlyHint`);
      assert.equal(tool.outputSchema, undefined, `${name} has an outputSchema`);
    }
  });

  it("gateway_health: text content and structuredContent with both servers ready", async () => {
    const res = await callTool(mux.client, "gateway_health");
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.equal(res.content.length, 1);
    assert.equal(res.content[0].type, "text");
    const text = textOf(res);
    assert.match(text, /^mcpbraid \S+ {2}pid \d+ {2}up /, "table title");
    assert.match(text, /\nSERVER +STATE +CIRCUIT +HEALTH +OK +FAIL +p50\/p95\/p99 ms +TOOLS\n/, "table header");
    for (const line of text.split("\n")) assert.ok(line.length <= 80, `line over 80 columns: ${line}`);

    const health = res.structuredContent;
    assert.equal(typeof health?.mcpbraid?.pid, "number", `structuredContent: ${JSON.stringify(health)}`);
    assert.equal(health.mcpbraid.pid, mux.pid, "mcpbraid.pid is not the process the client started");
    assert.equal(typeof health.mcpbraid.version, "string");
    assert.equal(health.mcpbraid.config, mux.cfgPath);
    assert.equal(typeof health.mcpbraid.uptime_s, "number");
    assert.equal(health.healthy, true);
    assert.deepEqual(Object.keys(health.backends).sort(), [...SERVERS].sort());
    for (const server of SERVERS) {
      const b = health.backends[server];
      assert.equal(b.state, "ready", `${server}: ${JSON.stringify(b)}`);
      assert.equal(b.circuit, "closed", `${server} circuit`);
      assert.equal(b.healthy, true, `${server} healthy`);
      assert.equal(b.tools, countOf(tools, server), `${server}: tools ${b.tools}, tools/list shows ${countOf(tools, server)}`);
      assert.ok(Number.isInteger(b.pid) && b.pid > 0, `${server} pid ${b.pid}`);
      assert.equal(typeof b.uptime_s, "number");
      assert.ok(b.successes >= 1, `${server} successes ${b.successes}`);
      assert.equal(b.failures, 0, `${server} failures`);
      assert.equal(b.consecutive_failures, 0);
      assert.equal(b.restarts, 0);
      assert.equal(b.in_flight, 0);
      assert.equal(b.last_error, null);
      assert.equal(b.restart_in_ms, null);
      assert.equal(b.next_probe_ms, 0);
      for (const q of ["p50", "p95", "p99"]) assert.equal(typeof b.latency_ms?.[q], "number", `${server} latency ${q}`);
      assert.ok(Array.isArray(b.stderr_tail), `${server} stderr_tail`);
      // The table has a row for it, with its tool count last.
      const row = text.split("\n").find((l) => l.startsWith(`${server} `));
      assert.ok(row, `no table row for ${server}:\n${text}`);
      assert.match(row, new RegExp(`^${server} +ready +closed +ok .* ${b.tools}$`), `row: ${row}`);
    }
  });

  it("gateway_health counts a server's answered calls", async () => {
    const before = (await callTool(mux.client, "gateway_health")).structuredContent.backends.everything.successes;
    for (let i = 0; i < 3; i++) {
      const res = await callTool(mux.client, `everything${SEP}get-sum`, { a: i, b: 1 });
      assert.ok(!res.isError, `get-sum isError: ${JSON.stringify(res)}`);
    }
    const after = (await callTool(mux.client, "gateway_health")).structuredContent.backends.everything;
    assert.ok(after.successes >= before + 3, `successes ${before} -> ${after.successes}`);
    assert.ok(after.latency_ms.p99 >= after.latency_ms.p50, `latency ${JSON.stringify(after.latency_ms)}`);
  });

  it("gateway_list_servers lists each server with its state, circuit and tool count", async () => {
    const res = await callTool(mux.client, "gateway_list_servers");
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const servers = res.structuredContent?.servers;
    assert.ok(Array.isArray(servers), `structuredContent: ${JSON.stringify(res.structuredContent)}`);
    assert.deepEqual(servers.map((s) => s.name).sort(), [...SERVERS].sort());
    const text = textOf(res);
    for (const server of SERVERS) {
      const s = servers.find((x) => x.name === server);
      assert.deepEqual(
        s,
        {
          name: server,
          state: "ready",
          circuit: "closed",
          healthy: true,
          tools: countOf(tools, server),
          tools_listed: countOf(tools, server),
          hidden: { tools: 0, prompts: 0, resources: 0 },
          collisions: [],
          last_error: null,
        },
        `${server} entry`,
      );
      assert.ok(
        text.includes(`${server}: ready, circuit closed, ${countOf(tools, server)} tools`),
        `text lacks ${server}:\n${text}`,
      );
    }
  });

  it("the bare gateway_health method answers the same snapshot", async () => {
    const res = await mux.client.request({ method: "gateway_health" }, ResultSchema, { timeout: REQUEST_TIMEOUT });
    assert.deepEqual(Object.keys(res.backends).sort(), [...SERVERS].sort());
    assert.equal(res.backends.memory.state, "ready");
    assert.equal(res.backends.memory.tools, countOf(tools, "memory"));
    const list = await mux.client.request({ method: "gateway_list_servers" }, ResultSchema, { timeout: REQUEST_TIMEOUT });
    assert.deepEqual(list.servers.map((s) => s.name).sort(), [...SERVERS].sort());
  });

  it("20 concurrent gateway tool calls interleaved with backend calls all answer", async () => {
    const jobs = [];
    for (let i = 0; i < 10; i++) {
      jobs.push(callTool(mux.client, GATEWAY_TOOLS[i % 2]).then((r) => ["gateway", r]));
      jobs.push(callTool(mux.client, `everything${SEP}echo`, { message: `m${i}` }).then((r) => ["echo", r, i]));
    }
    for (const [kind, res, i] of await Promise.all(jobs)) {
      assert.ok(!res.isError, `${kind} isError: ${JSON.stringify(res)}`);
      if (kind === "echo") assert.equal(textOf(res), `Echo: m${i}`);
      else assert.ok(res.structuredContent, "no structuredContent");
    }
    assert.deepEqual(mux.errors, [], "the SDK client reported errors");
  });
});

describe("a server that cannot start, next to real ones", { skip: DIRECT && "mcpbraid only" }, () => {
  let mux;
  before(
    async () => {
      mux = await openMux({
        servers: [...SERVERS, "broken"],
        extraDefs: { broken: { command: "/nonexistent/mcp-server-that-is-not-there" } },
        top: { initialize_timeout: "2s" },
      });
    },
    { timeout: 30_000 },
  );
  after(async () => mux?.close());
  const it = tester(() => mux);

  it("gateway_list_servers names it as not ready, with its error, and the others ready", async () => {
    await listAll(mux.client, "tools");
    const res = await callTool(mux.client, "gateway_list_servers");
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const byName = Object.fromEntries(res.structuredContent.servers.map((s) => [s.name, s]));
    assert.deepEqual(Object.keys(byName).sort(), ["broken", ...SERVERS].sort());
    for (const server of SERVERS) assert.equal(byName[server].state, "ready", `${server}: ${JSON.stringify(byName[server])}`);
    const broken = byName.broken;
    assert.notEqual(broken.state, "ready", JSON.stringify(broken));
    assert.equal(broken.tools, null, JSON.stringify(broken));
    assert.equal(typeof broken.last_error, "string", `no last_error: ${JSON.stringify(broken)}`);
    assert.ok(textOf(res).includes("broken: "), textOf(res));

    const health = (await callTool(mux.client, "gateway_health")).structuredContent;
    assert.ok(["starting", "backoff", "failed"].includes(health.backends.broken.state), JSON.stringify(health.backends.broken));
    assert.equal(health.backends.broken.pid, null);
    if (health.backends.broken.state !== "starting") assert.equal(health.healthy, false, "a failed server leaves the gateway healthy");
  });
});

describe('"gateway_tools": false', { skip: DIRECT && "mcpbraid only" }, () => {
  let mux;
  before(
    async () => {
      mux = await openMux({ top: { gateway_tools: false } });
    },
    { timeout: 30_000 },
  );
  after(async () => mux?.close());
  const it = tester(() => mux);

  it("tools/list has the servers' tools and not the gateway's", async () => {
    const tools = await listAll(mux.client, "tools");
    const names = tools.map((t) => t.name);
    for (const name of GATEWAY_TOOLS) assert.ok(!names.includes(name), `${name} listed: ${JSON.stringify(names)}`);
    assert.ok(names.includes(`everything${SEP}echo`), "everything's tools missing");
    assert.ok(names.includes(`memory${SEP}read_graph`), "memory's tools missing");
    assert.deepEqual(names.filter((n) => !n.includes(SEP)), [], "unprefixed tools");
  });

  it("calling gateway_health is refused like any unknown tool, and the session goes on", async () => {
    try {
      const res = await callTool(mux.client, "gateway_health");
      assert.equal(res.isError, true, `answered without isError: ${JSON.stringify(res)}`);
      assert.equal(res.structuredContent, undefined, "a hidden gateway tool answered with a snapshot");
    } catch (err) {
      assert.ok(err instanceof McpError, `unexpected error type: ${err}`);
      assert.equal(err.code, -32602, `expected -32602, got ${err.code}: ${err.message}`);
    }
    const res = await callTool(mux.client, `everything${SEP}echo`, { message: "still here" });
    assert.equal(textOf(res), "Echo: still here");
  });
});
