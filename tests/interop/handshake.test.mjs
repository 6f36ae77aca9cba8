// initialize and tools/list through mcpbraid, in front of server-everything and
// server-memory, for a client with and without roots/sampling/elicitation.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { ALL_CLIENT_CAPS, DIRECT, HERE, SEP, Session, listAll, sleep, tester } from "./harness.mjs";

const q = (server, name) => `${server}${SEP}${name}`;

// server-everything registers these only after `initialized`, and only when the
// client declared the matching capability (tools/index.js registerConditionalTools).
const GATED = {
  roots: q("everything", "get-roots-list"),
  sampling: q("everything", "trigger-sampling-request"),
  elicitation: q("everything", "trigger-elicitation-request"),
};

describe("client with roots, sampling and elicitation", () => {
  let s;
  before(
    async () => {
      s = await Session.open({
        capabilities: ALL_CLIENT_CAPS,
        handlers: {
          roots: async () => ({ roots: [] }),
          sampling: async () => ({ model: "m", role: "assistant", content: { type: "text", text: "x" } }),
          elicitation: async () => ({ action: "decline" }),
        },
      });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("initialize reports serverInfo and the merged capabilities", async () => {
    const client = s.client("everything");
    const info = client.getServerVersion();
    assert.ok(info, "no serverInfo in the initialize result");
    assert.equal(typeof info.name, "string");
    assert.ok(info.name.length > 0, "serverInfo.name is empty");
    assert.equal(typeof info.version, "string");
    assert.ok(info.version.length > 0, "serverInfo.version is empty");
    const caps = client.getServerCapabilities();
    assert.ok(caps, "no capabilities in the initialize result");
    for (const cap of ["tools", "prompts", "resources"]) {
      assert.equal(typeof caps[cap], "object", `capabilities.${cap} missing: ${JSON.stringify(caps)}`);
    }
  });

  it("initialize negotiates the SDK's protocol version", async () => {
    const wire = s.wire("everything");
    const init = wire.find((m) => m.dir === "out" && m.msg.method === "initialize");
    assert.ok(init, "no initialize request on the wire");
    const answer = wire.find((m) => m.dir === "in" && m.msg.id === init.msg.id && !m.msg.method);
    assert.ok(answer?.msg.result, `initialize answer: ${JSON.stringify(answer?.msg)}`);
    // The SDK client asks for its latest version; a server that supports it must echo it.
    assert.equal(answer.msg.result.protocolVersion, init.msg.params.protocolVersion);
  });

  it("initialize carries server-everything's instructions", async () => {
    const instructions = s.client("everything").getInstructions();
    assert.equal(typeof instructions, "string", "no instructions in the initialize result");
    // Two distinctive lines of server-everything's docs/instructions.md, as installed.
    const source = readFileSync(
      join(HERE, "node_modules/@modelcontextprotocol/server-everything/dist/docs/instructions.md"),
      "utf8",
    );
    const title = "Everything Server – Server Instructions";
    const easterEgg = "Server instructions are working!";
    assert.ok(source.includes(title) && source.includes(easterEgg), "server-everything's instructions changed");
    assert.ok(instructions.includes(title), `instructions lack "${title}":\n${instructions.slice(0, 500)}`);
    assert.ok(instructions.includes(easterEgg), `instructions lack "${easterEgg}"`);
  });

  it("tools/list has both servers' tools, prefixed", async () => {
    const names = await s.toolNames();
    for (const want of [
      q("everything", "echo"),
      q("everything", "get-sum"),
      q("everything", "get-structured-content"),
      q("everything", "get-tiny-image"),
      q("everything", "trigger-long-running-operation"),
      q("memory", "create_entities"),
      q("memory", "read_graph"),
    ]) {
      assert.ok(names.includes(want), `tools/list lacks ${want}; got ${JSON.stringify(names)}`);
    }
    if (!DIRECT) {
      // mcpbraid's own tools (gateway_tools.test.mjs) are the only unprefixed ones.
      const GATEWAY_TOOLS = ["gateway_list_servers", "gateway_health"];
      const bare = names.filter(
        (n) => !n.startsWith(`everything${SEP}`) && !n.startsWith(`memory${SEP}`) && !GATEWAY_TOOLS.includes(n),
      );
      assert.deepEqual(bare, [], "tools without a <server>__ prefix");
      assert.equal(new Set(names).size, names.length, "duplicate tool names");
    }
  });

  it("tools/list entries keep description and inputSchema", async () => {
    const tools = await listAll(s.client("everything"), "tools");
    const echo = tools.find((t) => t.name === s.name("everything", "echo"));
    assert.ok(echo, "echo tool missing");
    assert.equal(echo.description, "Echoes back the input string");
    assert.equal(echo.inputSchema?.type, "object");
    assert.ok(echo.inputSchema?.properties?.message, "echo inputSchema lost its `message` property");
    const structured = tools.find((t) => t.name === s.name("everything", "get-structured-content"));
    assert.ok(structured?.outputSchema, "get-structured-content lost its outputSchema");
    const memoryTools = await listAll(s.client("memory"), "tools");
    const create = memoryTools.find((t) => t.name === s.name("memory", "create_entities"));
    assert.ok(create?.inputSchema?.properties?.entities, "memory create_entities lost its inputSchema");
  });

  it("capability-gated tools appear (within 3 s) when the client declares roots/sampling/elicitation", async () => {
    const wanted = Object.values(GATED);
    const names = await s.waitForTools(wanted, 3000);
    for (const want of wanted) {
      assert.ok(names.includes(want), `tools/list lacks ${want} after 3 s; got ${JSON.stringify(names)}`);
    }
  });
});

describe("client without roots, sampling or elicitation", () => {
  let s;
  before(
    async () => {
      s = await Session.open({ servers: ["everything"], capabilities: {} });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("capability-gated tools stay hidden (backends see the client's real capabilities)", async () => {
    // Give server-everything time to register conditional tools and announce them.
    await sleep(1000);
    const names = await s.toolNames();
    assert.ok(names.includes(q("everything", "echo")), `echo missing: ${JSON.stringify(names)}`);
    for (const gated of Object.values(GATED)) {
      assert.ok(!names.includes(gated), `${gated} listed although the client declared no such capability`);
    }
  });
});
