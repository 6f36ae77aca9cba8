// Search mode (`"expose": "search"`) seen by the official SDK client, in front of
// server-everything, server-memory and server-filesystem: tools/list keeps only
// the pinned tools and the gateway's; gateway_search_tools finds the others from
// a few words (its structuredContent checked by the SDK against its
// outputSchema), gateway_describe_tool gives their definitions as the servers
// list them, gateway_call_tool answers exactly what a direct call answers,
// with progress and cancellation; unlisted tools stay callable by name; allow /
// deny filters hide tools from the list, the search and calls alike.
// mcpbraid only: the file is skipped with INTEROP_DIRECT=1.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { DIRECT, REQUEST_TIMEOUT, SEP, Session, listAll, serverDefs, sleep, tester, textOf, traceCall } from "./harness.mjs";

const SERVERS = ["everything", "memory", "filesystem"];
const GATEWAY = ["gateway_list_servers", "gateway_health", "gateway_search_tools", "gateway_describe_tool", "gateway_call_tool"];
const LONG_OP = `everything${SEP}trigger-long-running-operation`;

// everything: one pin, get-env denied. memory: one pin. filesystem: no prefix
// (names unchanged), an allow list that leaves out the writing tools, and a
// glob pin (list_directory, list_directory_with_sizes).
const TOP = { expose: "search" };
const EXTRA = {
  everything: { pinned: ["echo"], tools: { deny: ["get-env"] } },
  memory: { pinned: ["read_graph"] },
  filesystem: {
    prefix: "",
    pinned: ["list_directory*"],
    tools: { allow: ["read_*", "list_*", "get_file_info", "search_files", "directory_tree", "list_allowed_directories"] },
  },
};
const PINNED = [`everything${SEP}echo`, `memory${SEP}read_graph`, "list_directory", "list_directory_with_sizes"];

/** A tools/call that the gateway refuses: an McpError, or a result with isError. */
async function assertRefused(promise, label) {
  try {
    const res = await promise;
    assert.equal(res.isError, true, `${label}: answered without isError: ${JSON.stringify(res)}`);
    return textOf(res);
  } catch (err) {
    assert.ok(err instanceof McpError, `${label}: unexpected error type: ${err}`);
    return err.message;
  }
}

/** The SDK client talking to one server directly (no mcpbraid), for reference definitions. */
async function directClient(def) {
  const client = new Client({ name: "mcpbraid-interop-search-direct", version: "0.1.0" });
  await client.connect(
    new StdioClientTransport({ command: def.command, args: def.args, env: { ...process.env, ...def.env }, stderr: "pipe" }),
    { timeout: 10_000 },
  );
  return client;
}

describe("search mode through the SDK client", { skip: DIRECT && "mcpbraid only" }, () => {
  let s;
  let client;
  let tools;
  before(
    async () => {
      s = await Session.open({ servers: SERVERS, top: TOP, extra: EXTRA });
      client = s.client();
      tools = await listAll(client, "tools"); // also arms the SDK's outputSchema validators
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  const call = (name, args = {}, options = {}) =>
    client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT, ...options });
  const search = async (query, extra = {}) => {
    const res = await call("gateway_search_tools", { query, ...extra });
    assert.ok(!res.isError, `search ${JSON.stringify(query)} isError: ${JSON.stringify(res)}`);
    assert.ok(Array.isArray(res.structuredContent?.tools), `no structuredContent.tools: ${JSON.stringify(res)}`);
    return res;
  };
  const via = (name, args, options) => call("gateway_call_tool", { name, arguments: args }, options);

  it("tools/list has only the pinned tools and the gateway's five", async () => {
    const names = tools.map((t) => t.name);
    assert.deepEqual(names.slice(-GATEWAY.length), GATEWAY, `the gateway's tools come last: ${JSON.stringify(names)}`);
    assert.deepEqual(names.slice(0, -GATEWAY.length).sort(), [...PINNED].sort(), "the servers' listed tools are the pinned ones");
    const instructions = client.getInstructions() ?? "";
    assert.match(instructions, /gateway_search_tools/, `instructions: ${instructions}`);
  });

  it("the search tools have their schemas; gateway_search_tools' output is validated by the SDK", async () => {
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.deepEqual(byName.gateway_search_tools.inputSchema.required, ["query"]);
    assert.deepEqual(Object.keys(byName.gateway_search_tools.inputSchema.properties).sort(), ["limit", "query", "server"]);
    assert.equal(byName.gateway_search_tools.outputSchema?.type, "object");
    assert.deepEqual(byName.gateway_describe_tool.inputSchema.required, ["name"]);
    assert.deepEqual(Object.keys(byName.gateway_call_tool.inputSchema.properties).sort(), ["arguments", "name"]);
    // SDK-internal (private in the .d.ts), checked so that "the SDK validated
    // structuredContent" below cannot be vacuously true.
    assert.equal(typeof client.getToolOutputValidator("gateway_search_tools"), "function", "the SDK has no validator armed");
  });

  it("'create entities in the knowledge graph' finds memory's create_entities first", async () => {
    const res = await search("create entities in the knowledge graph");
    const found = res.structuredContent.tools;
    assert.equal(found[0]?.name, `memory${SEP}create_entities`, JSON.stringify(found));
    assert.equal(found[0].server, "memory");
    assert.equal(typeof found[0].score, "number");
    assert.match(found[0].description, /entit/i);
    for (let i = 1; i < found.length; i++) assert.ok(found[i - 1].score >= found[i].score, `scores not sorted: ${JSON.stringify(found)}`);
    assert.ok(found.length <= 8, `default limit is 8, got ${found.length}`);
    assert.ok(textOf(res).startsWith(`memory${SEP}create_entities`), `text: ${textOf(res)}`);
  });

  it("'read a text file' finds filesystem's read_text_file (unprefixed) in the top 5", async () => {
    const found = (await search("read a text file", { limit: 5 })).structuredContent.tools;
    assert.ok(found.length <= 5, JSON.stringify(found));
    const hit = found.find((t) => t.name === "read_text_file");
    assert.ok(hit, `read_text_file not in the top 5: ${JSON.stringify(found.map((t) => t.name))}`);
    assert.equal(hit.server, "filesystem");
  });

  it("'add two numbers' finds everything's get-sum in the top 3; server narrows the search", async () => {
    const found = (await search("add two numbers", { limit: 3 })).structuredContent.tools;
    assert.ok(found.some((t) => t.name === `everything${SEP}get-sum`), JSON.stringify(found.map((t) => t.name)));
    const only = (await search("add two numbers", { server: "memory" })).structuredContent.tools;
    assert.ok(only.length > 0, "nothing from memory");
    assert.deepEqual([...new Set(only.map((t) => t.server))], ["memory"], JSON.stringify(only));
  });

  it("bad search arguments are tool errors, and the session goes on", async () => {
    const unknown = await call("gateway_search_tools", { query: "x", server: "nope" });
    assert.equal(unknown.isError, true, JSON.stringify(unknown));
    assert.match(textOf(unknown), /unknown server nope/);
    const limit = await call("gateway_search_tools", { query: "x", limit: 0 });
    assert.equal(limit.isError, true, JSON.stringify(limit));
    const nothing = await search("zzzqqq xyzzy");
    assert.deepEqual(nothing.structuredContent.tools, []);
  });

  it("gateway_describe_tool gives the tool's definition as its server lists it, under the exposed name", async () => {
    const res = await call("gateway_describe_tool", { name: `memory${SEP}create_entities` });
    assert.ok(!res.isError, JSON.stringify(res));
    const def = res.structuredContent;
    assert.equal(def.name, `memory${SEP}create_entities`);
    assert.equal(def.inputSchema?.type, "object");
    assert.ok(def.inputSchema.properties?.entities, `inputSchema: ${JSON.stringify(def.inputSchema)}`);
    assert.deepEqual(JSON.parse(textOf(res)), def, "the text is not the same definition");

    const direct = await directClient(serverDefs(s.dir).memory);
    try {
      const original = (await direct.listTools()).tools.find((t) => t.name === "create_entities");
      assert.deepEqual({ ...def, name: original.name }, original, "the definition differs from memory's own");
    } finally {
      await direct.close();
    }
    const fs = await call("gateway_describe_tool", { name: "read_text_file" });
    assert.ok(fs.structuredContent?.inputSchema?.properties?.path, JSON.stringify(fs));
    const unknown = await call("gateway_describe_tool", { name: "no_such_tool" });
    assert.equal(unknown.isError, true, JSON.stringify(unknown));
  });

  it("gateway_call_tool answers exactly what a direct call of the unlisted tool answers", async () => {
    const cases = [
      [`everything${SEP}get-sum`, { a: 19, b: 23 }],
      [`everything${SEP}get-structured-content`, { location: "Chicago" }],
      [`everything${SEP}echo`, { message: "via the gateway" }],
      ["list_allowed_directories", {}],
    ];
    for (const [name, args] of cases) {
      const direct = await call(name, args);
      const viaGateway = await via(name, args);
      assert.ok(!direct.isError, `${name} direct isError: ${JSON.stringify(direct)}`);
      assert.deepEqual(viaGateway, direct, `${name}: gateway_call_tool differs from the direct call`);
    }
    assert.equal(textOf(await call(`everything${SEP}get-sum`, { a: 40, b: 2 })), "The sum of 40 and 2 is 42.");
  });

  it("memory through gateway_call_tool and direct calls of unlisted tools share the state", async () => {
    const created = await via(`memory${SEP}create_entities`, {
      entities: [{ name: "braid", entityType: "project", observations: ["found by search"] }],
    });
    assert.ok(!created.isError, JSON.stringify(created));
    const graph = await call(`memory${SEP}read_graph`); // pinned
    assert.match(textOf(graph), /found by search/);
    const opened = await call(`memory${SEP}open_nodes`, { names: ["braid"] }); // unlisted, called directly
    assert.ok(!opened.isError, JSON.stringify(opened));
    assert.match(textOf(opened), /"braid"/);
    assert.deepEqual(await via(`memory${SEP}open_nodes`, { names: ["braid"] }), opened);
  });

  it("gateway_call_tool relays progress on the outer call's token", async () => {
    const seen = [];
    const res = await via(LONG_OP, { duration: 1, steps: 4 }, { onprogress: (p) => seen.push(p), timeout: 15_000 });
    assert.ok(!res.isError, JSON.stringify(res));
    assert.equal(textOf(res), "Long running operation completed. Duration: 1 seconds, Steps: 4.");
    // The SDK may run the last progress callback after the response (see progress-cancel.test.mjs).
    assert.ok(seen.length >= 3, `only ${seen.length} progress callbacks: ${JSON.stringify(seen)}`);
    seen.forEach((p, i) => assert.deepEqual([p.progress, p.total], [i + 1, 4], JSON.stringify(seen)));
    const trace = traceCall(s.wire(), "gateway_call_tool");
    assert.ok(trace.token !== undefined, "the SDK sent no progressToken");
    assert.deepEqual(
      trace.progress.map((p) => [p.progress, p.total]),
      [1, 2, 3, 4].map((i) => [i, 4]),
      "progress on the wire for the outer token",
    );
    assert.equal(trace.responses.length, 1);
    for (const p of trace.progress) assert.ok(p.at < trace.responseAt, "progress after the response");
  });

  it("aborting a gateway_call_tool rejects it, sends no late answer, and the gateway stays healthy", async () => {
    // Earlier calls may have left "progress for an unknown token" errors (the
    // SDK drops a last progress handled after its response); count only new ones.
    const errorsBefore = s.errors().length;
    const controller = new AbortController();
    const started = Date.now();
    const pending = via(LONG_OP, { duration: 1.5, steps: 3 }, { signal: controller.signal, onprogress: () => {}, timeout: 20_000 });
    setTimeout(() => controller.abort(new Error("interop: user cancelled")), 300);
    await assert.rejects(pending, /cancelled/);
    assert.ok(Date.now() - started < 2000, `rejected after ${Date.now() - started} ms`);
    await sleep(1800); // past the operation's own end
    const trace = traceCall(s.wire(), "gateway_call_tool");
    assert.ok(trace.cancelAt >= 0, "the SDK sent no notifications/cancelled");
    assert.deepEqual(trace.responses.map((r) => r.msg), [], "a response to a cancelled request");
    assert.deepEqual(trace.lateProgress, [], "progress after the cancel");

    const health = (await call("gateway_health")).structuredContent;
    assert.equal(health.healthy, true, JSON.stringify(health));
    assert.equal(health.backends.everything.state, "ready");
    const res = await via(`everything${SEP}get-sum`, { a: 1, b: 2 });
    assert.equal(textOf(res), "The sum of 1 and 2 is 3.");
    assert.deepEqual(s.errors().slice(errorsBefore), [], "the SDK client reported errors");
  });

  it("a denied tool is not searchable, not describable and not callable", async () => {
    const env = (await search("environment variables", { server: "everything", limit: 50 })).structuredContent.tools;
    assert.ok(!env.some((t) => t.name === `everything${SEP}get-env`), JSON.stringify(env.map((t) => t.name)));
    const all = (await search("get", { limit: 50 })).structuredContent.tools.map((t) => t.name);
    assert.ok(!all.includes(`everything${SEP}get-env`), JSON.stringify(all));
    assert.ok((await call("gateway_describe_tool", { name: `everything${SEP}get-env` })).isError, "described");
    await assertRefused(call(`everything${SEP}get-env`), "direct get-env");
    await assertRefused(via(`everything${SEP}get-env`, {}), "gateway_call_tool get-env");
  });

  it("a tool outside the allow list is hidden the same way; a write never happens", async () => {
    const found = (await search("write a file", { server: "filesystem", limit: 50 })).structuredContent.tools;
    assert.ok(found.length > 0, "nothing found on filesystem");
    for (const hidden of ["write_file", "edit_file", "create_directory", "move_file"]) {
      assert.ok(!found.some((t) => t.name === hidden), `${hidden} found: ${JSON.stringify(found.map((t) => t.name))}`);
    }
    const path = `${s.dir}/written.txt`;
    await assertRefused(call("write_file", { path, content: "x" }), "direct write_file");
    await assertRefused(via("write_file", { path, content: "x" }), "gateway_call_tool write_file");
    const read = await via("read_text_file", { path });
    assert.equal(read.isError, true, `the file exists: ${JSON.stringify(read)}`);
  });

  it("unknown tools are refused through gateway_call_tool as directly", async () => {
    const direct = await assertRefused(call("no_such_tool"), "direct");
    const gateway = await assertRefused(via("no_such_tool", {}), "gateway_call_tool");
    assert.equal(gateway, direct);
    const res = await call(`everything${SEP}echo`, { message: "still here" });
    assert.equal(textOf(res), "Echo: still here");
  });
});

describe("per-server expose", { skip: DIRECT && "mcpbraid only" }, () => {
  let s;
  before(
    async () => {
      s = await Session.open({
        servers: ["everything", "memory"],
        extra: { everything: { expose: "search", pinned: ["get-sum"] } },
      });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("a server with expose all keeps its whole list next to a searched one", async () => {
    const names = await s.toolNames();
    const memory = names.filter((n) => n.startsWith(`memory${SEP}`));
    assert.ok(memory.includes(`memory${SEP}create_entities`) && memory.length >= 9, JSON.stringify(names));
    assert.deepEqual(
      names.filter((n) => !n.startsWith(`memory${SEP}`)),
      [`everything${SEP}get-sum`, ...GATEWAY],
    );
    const found = await s.client().callTool({ name: "gateway_search_tools", arguments: { query: "echo a message", server: "everything" } });
    assert.equal(found.structuredContent.tools[0]?.name, `everything${SEP}echo`, JSON.stringify(found.structuredContent));
  });
});
