// mcpbraid in front of a server that speaks only MCP 2026-07-28: an SDK v2
// server of ours (modern_server.mjs, serveStdio with legacy:'reject', which
// answers initialize -32022), next to server-everything (the handshake). The
// gateway learns the backend's era from that refusal, asks server/discover,
// and from then on sends it the per-request envelope.
//   - The SDK 1.x client (handshake) sees it as any other server: its tools,
//     resources and prompts; its input_required results become elicitation
//     requests to the client; its list changes arrive over a listen.
//   - The SDK v2 client pinned to 2026-07-28 gets its input_required results
//     as they are, and retries to it.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { DIRECT, HERE, MCPBRAID_BIN, SEP, Session, makeTempDir, serverDefs, sleep, tester, textOf } from "./harness.mjs";

const modernDef = (tag) => ({ command: process.execPath, args: [join(HERE, "modern_server.mjs"), tag], env: {} });

describe("the SDK 1.x client through mcpbraid to a 2026-07-28-only server", { skip: DIRECT }, () => {
  let s;
  const asked = [];
  let answer = { action: "accept", content: { confirm: true } };
  before(
    async () => {
      s = await Session.open({
        servers: ["modern", "everything"],
        defs: { modern: modernDef("one") },
        capabilities: { elicitation: { form: {} } },
        handlers: {
          elicitation: async (req) => {
            asked.push(req.params);
            return answer;
          },
        },
      });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s, "modern");

  it("lists the modern server's tools next to server-everything's", async () => {
    const names = await s.toolNames();
    for (const t of ["echo", "whoami", "confirm", "grow"]) assert.ok(names.includes(`modern${SEP}${t}`), names.join());
    assert.ok(names.includes(`everything${SEP}echo`), names.join());
  });

  it("calls a tool: the result has nothing of 2026-07-28 left in it", async () => {
    const res = await s.callTool("modern", "echo", { text: "across eras" });
    assert.equal(textOf(res), "across eras");
    const wire = s.wire("modern").find((m) => m.dir === "in" && m.msg.result?.content?.[0]?.text === "across eras");
    assert.ok(wire, "no answer on the wire");
    assert.equal(wire.msg.result.resultType, undefined);
    assert.equal(wire.msg.result._meta, undefined);
  });

  it("tells the backend the client in the envelope of each request", async () => {
    const res = await s.callTool("modern", "whoami", {});
    const { envelope } = JSON.parse(textOf(res));
    assert.equal(envelope["io.modelcontextprotocol/protocolVersion"], "2026-07-28");
    assert.equal(envelope["io.modelcontextprotocol/clientInfo"].name, "mcpbraid-interop");
    assert.deepEqual(Object.keys(envelope["io.modelcontextprotocol/clientCapabilities"]), ["elicitation"]);
  });

  it("turns an input_required result into an elicitation request, and the answer into the retry", async () => {
    asked.length = 0;
    answer = { action: "accept", content: { confirm: true } };
    const res = await s.callTool("modern", "confirm", { action: "deploy" });
    assert.equal(textOf(res), "deploy: done");
    assert.equal(asked.length, 1);
    assert.equal(asked[0].message, "Really deploy?");
    answer = { action: "accept", content: { confirm: false } };
    assert.equal(textOf(await s.callTool("modern", "confirm", { action: "drop" })), "drop: declined");
  });

  it("carries 12 concurrent rounds, each to its own call", async () => {
    answer = { action: "accept", content: { confirm: true } };
    asked.length = 0;
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => s.callTool("modern", "confirm", { action: `job${i}` })),
    );
    results.forEach((res, i) => assert.equal(textOf(res), `job${i}: done`));
    assert.equal(asked.length, 12);
  });

  it("reads a resource and gets a prompt; a missing resource is -32002", async () => {
    const c = s.client("modern");
    const read = await c.readResource({ uri: "note://one" });
    assert.equal(read.contents[0].text, "note from one");
    assert.equal(read.resultType, undefined);
    await assert.rejects(c.readResource({ uri: "note://missing" }), (err) => err.code === -32002);
    const prompt = await c.getPrompt({ name: `modern${SEP}greet`, arguments: { who: "Ada" } });
    assert.equal(prompt.messages[0].content.text, "hello Ada");
  });

  it("hears the backend's list change over the listen it opened", async () => {
    const res = await s.callTool("modern", "grow", { tool: "sprout" });
    assert.equal(textOf(res), "added sprout");
    const names = await s.waitForTools([`modern${SEP}sprout`], 5000);
    assert.ok(names.includes(`modern${SEP}sprout`), names.join());
    assert.equal(textOf(await s.callTool("modern", "sprout", {})), "sprout ran");
    const changed = s.wire("modern").filter((m) => m.dir === "in" && m.msg.method === "notifications/tools/list_changed");
    assert.ok(changed.length >= 1, "no list_changed reached the client");
  });

  it("shows each backend's era in health", async () => {
    const res = await s.client("modern").callTool({ name: "gateway_health", arguments: {} });
    const health = res.structuredContent;
    assert.equal(health.backends.modern.protocol, "2026-07-28");
    assert.equal(health.backends.modern.era, "stateless");
    assert.equal(health.backends.everything.era, "handshake");
  });
});

describe("the SDK v2 client (2026-07-28) through mcpbraid to a 2026-07-28-only server", { skip: DIRECT }, () => {
  let client;
  let tmp;
  const asked = [];
  before(
    async () => {
      tmp = makeTempDir("mcpbraid-modern-backend-");
      const cfgPath = join(tmp.dir, "mcpbraid.json");
      const defs = serverDefs(tmp.dir);
      writeFileSync(cfgPath, JSON.stringify({ mcpServers: { modern: modernDef("two"), memory: defs.memory } }));
      client = new Client(
        { name: "modern-both-ends", version: "2.4.0" },
        { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: { elicitation: { form: {} } } },
      );
      client.setRequestHandler("elicitation/create", async (request) => {
        asked.push(request.params);
        return { action: "accept", content: { confirm: true } };
      });
      await client.connect(new StdioClientTransport({ command: MCPBRAID_BIN, args: ["--config", cfgPath], stderr: "pipe" }));
    },
    { timeout: 30_000 },
  );
  after(async () => {
    await client?.close().catch(() => {});
    await sleep(100);
    tmp?.cleanup();
  });

  const it = (name, fn) => test(name, { timeout: 15_000 }, fn);

  it("calls the modern server's tools and a legacy server's side by side", async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(tools.includes(`modern${SEP}echo`) && tools.includes(`memory${SEP}read_graph`), tools.join());
    const res = await client.callTool({ name: `modern${SEP}echo`, arguments: { text: "both modern" } });
    assert.equal(res.content[0].text, "both modern");
  });

  it("passes the backend's input_required through; the client's retry reaches the backend", async () => {
    asked.length = 0;
    const res = await client.callTool({ name: `modern${SEP}confirm`, arguments: { action: "ship" } });
    assert.equal(res.content[0].text, "ship: done");
    assert.equal(asked.length, 1);
    assert.equal(asked[0].message, "Really ship?");
  });
});
