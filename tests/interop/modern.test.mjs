// The SDK v2 client (@modelcontextprotocol/client 2.4.0) speaking MCP
// 2026-07-28 to mcpbraid, in front of servers that speak only the handshake
// revisions (server-everything, server-memory). Pinned to 2026-07-28 and in
// auto mode: both probe server/discover on a throwaway copy of mcpbraid, then
// start the real session with no initialize at all.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it as nodeIt } from "node:test";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { DIRECT, MCPBRAID_BIN, SEP, TEST_TIMEOUT, makeTempDir, serverDefs, sleep } from "./harness.mjs";

const opts = { timeout: 15_000 };
const tool = (name) => `everything${SEP}${name}`;

const ROOT = { uri: "file:///tmp/mcpbraid-modern-root", name: "modern-root" };
const SAMPLED = "MODERN-SAMPLING-REPLY-91c2";
const ELICITED = { name: "Ada Modern", check: true, integer: 7, email: "ada@example.com" };
const seen = { sampling: [], elicitation: [], roots: 0 };

async function openModern(mode, servers = ["everything", "memory"], clientOptions = {}, roots = false) {
  const tmp = makeTempDir("mcpbraid-modern-");
  const defs = serverDefs(tmp.dir);
  const cfgPath = join(tmp.dir, "mcpbraid.json");
  writeFileSync(cfgPath, JSON.stringify({ mcpServers: Object.fromEntries(servers.map((n) => [n, defs[n]])) }));
  const client = new Client(
    { name: "modern-interop", version: "2.4.0" },
    {
      versionNegotiation: { mode },
      // Without roots by default: server-everything asks a client that has them
      // for its roots 350 ms after initialized, and that request would become a
      // round of whatever call is in flight then.
      capabilities: { elicitation: { form: {} }, sampling: {}, ...(roots ? { roots: {} } : {}) },
      ...clientOptions,
    },
  );
  client.setRequestHandler("sampling/createMessage", async (request) => {
    seen.sampling.push(request.params);
    return {
      model: "modern-model",
      role: "assistant",
      content: { type: "text", text: `${SAMPLED} re: ${request.params.messages?.[0]?.content?.text}` },
      stopReason: "endTurn",
    };
  });
  client.setRequestHandler("elicitation/create", async (request) => {
    seen.elicitation.push(request.params);
    return { action: "accept", content: ELICITED };
  });
  if (roots)
    client.setRequestHandler("roots/list", async () => {
      seen.roots++;
      return { roots: [ROOT] };
    });
  const transport = new StdioClientTransport({
    command: MCPBRAID_BIN,
    args: ["--config", cfgPath, "--log-level", "debug"],
    stderr: "pipe",
  });
  const stderr = { text: "" };
  transport.stderr?.on("data", (chunk) => {
    stderr.text += chunk.toString("utf8");
    if (stderr.text.length > 256 * 1024) stderr.text = stderr.text.slice(-256 * 1024);
  });
  const errors = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport, { timeout: 20_000 });
  return {
    client,
    stderr,
    errors,
    close: async () => {
      await client.close().catch(() => {});
      tmp.cleanup();
    },
  };
}

const textOf = (result) =>
  (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");

for (const mode of [{ pin: "2026-07-28" }, "auto"]) {
  const label = typeof mode === "string" ? mode : `pin ${mode.pin}`;
  describe(`SDK v2 client (${label}) through mcpbraid`, { skip: DIRECT && "no mcpbraid in direct mode" }, () => {
    let s;
    before(async () => {
      s = await openModern(mode);
    }, { timeout: 40_000 });
    after(async () => s?.close());
    const it = (name, fn) => nodeIt(name, { timeout: TEST_TIMEOUT }, fn);

    it("negotiates 2026-07-28 through server/discover, with our serverInfo and merged capabilities", async () => {
      assert.equal(s.client.getNegotiatedProtocolVersion(), "2026-07-28");
      assert.equal(s.client.getServerVersion()?.name, "mcpbraid");
      const caps = s.client.getServerCapabilities();
      for (const kind of ["tools", "prompts", "resources", "completions"])
        assert.equal(typeof caps?.[kind], "object", `capabilities: ${JSON.stringify(caps)}`);
      assert.match(s.client.getInstructions() ?? "", /## everything/);
      // The real session never saw an initialize: the client sends none.
      assert.doesNotMatch(s.stderr.text, /client\.initialize/);
    });

    it("lists both servers' tools and calls them", async () => {
      const { tools } = await s.client.listTools({}, opts);
      const names = tools.map((t) => t.name);
      assert.ok(names.includes(tool("echo")), names.join(","));
      assert.ok(names.includes(`memory${SEP}read_graph`), names.join(","));
      const echoed = await s.client.callTool({ name: tool("echo"), arguments: { message: "modern ✓" } }, opts);
      assert.equal(textOf(echoed), "Echo: modern ✓");
      const sum = await s.client.callTool({ name: tool("get-sum"), arguments: { a: 40, b: 2 } }, opts);
      assert.match(textOf(sum), /42/);
    });

    it("structured content is validated by the client against the tool's outputSchema", async () => {
      await s.client.listTools({}, opts); // the client validates against the listed outputSchema
      const res = await s.client.callTool(
        { name: tool("get-structured-content"), arguments: { location: "Chicago" } },
        opts,
      );
      assert.ok(!res.isError, JSON.stringify(res));
      assert.equal(typeof res.structuredContent?.temperature, "number", JSON.stringify(res));
      const tag = `modern-${process.pid}-${Date.now()}`;
      const entities = [{ name: tag, entityType: "test", observations: ["through 2026-07-28"] }];
      const created = await s.client.callTool(
        { name: `memory${SEP}create_entities`, arguments: { entities } },
        opts,
      );
      assert.deepEqual(created.structuredContent?.entities, entities);
    });

    it("an unknown tool is an error the client sees", async () => {
      const res = await s.client
        .callTool({ name: tool("no-such-tool"), arguments: {} }, opts)
        .then((r) => ({ result: r }), (err) => ({ err }));
      if (res.err) assert.equal(res.err.code, -32602, String(res.err));
      else assert.equal(res.result.isError, true);
    });

    it("progress reaches the caller's onprogress", async () => {
      const seen = [];
      const res = await s.client.callTool(
        { name: tool("trigger-long-running-operation"), arguments: { duration: 0.6, steps: 3 } },
        { ...opts, onprogress: (p) => seen.push(p.progress) },
      );
      assert.ok(!res.isError, JSON.stringify(res));
      // mcpbraid writes every progress before the result, but the v2 client
      // runs notification handlers in a microtask and responses at once: when
      // the last progress and the result arrive in one read, the client has
      // already dropped the call's handler and reports the progress through
      // onerror as "unknown token". So each step is seen by onprogress or,
      // for the last ones only, in that error; in order, none twice.
      const late = s.errors
        .map((e) => String(e).match(/unknown token: (.*)$/)?.[1])
        .filter(Boolean)
        .map((text) => JSON.parse(text).params)
        .filter((p) => p.total === 3);
      s.errors.splice(0, s.errors.length, ...s.errors.filter((e) => !/unknown token/.test(String(e))));
      assert.deepEqual([...seen, ...late.map((p) => p.progress)], [1, 2, 3], JSON.stringify({ seen, late }));
      assert.ok(seen.length >= 1, `no progress reached onprogress: late ${JSON.stringify(late)}`);
    });

    it("an aborted call is cancelled and the session goes on", async () => {
      const controller = new AbortController();
      const call = s.client.callTool(
        { name: tool("trigger-long-running-operation"), arguments: { duration: 5, steps: 5 } },
        { signal: controller.signal, timeout: 20_000 },
      );
      await sleep(300);
      controller.abort("enough");
      await assert.rejects(call);
      await sleep(200);
      assert.match(s.stderr.text, /client\.cancel/);
      const echoed = await s.client.callTool({ name: tool("echo"), arguments: { message: "after" } }, opts);
      assert.equal(textOf(echoed), "Echo: after");
    });

    it("resources: list, templates, read; an unknown URI is -32602", async () => {
      const { resources } = await s.client.listResources({}, opts);
      const doc = resources.find((r) => r.uri === "demo://resource/static/document/instructions.md");
      assert.ok(doc, JSON.stringify(resources.map((r) => r.uri)));
      const { resourceTemplates } = await s.client.listResourceTemplates({}, opts);
      assert.ok(resourceTemplates.some((t) => t.uriTemplate === "demo://resource/dynamic/text/{resourceId}"));
      const read = await s.client.readResource({ uri: doc.uri }, opts);
      assert.match(read.contents[0].text, /Everything Server/);
      const templated = await s.client.readResource({ uri: "demo://resource/dynamic/text/3" }, opts);
      assert.match(templated.contents[0].text, /^Resource 3: /);
      await assert.rejects(
        s.client.readResource({ uri: "demo://resource/no/such/thing" }, opts),
        (err) => err.code === -32602,
      );
    });

    it("prompts and completion", async () => {
      const { prompts } = await s.client.listPrompts({}, opts);
      assert.ok(prompts.some((p) => p.name === `everything${SEP}args-prompt`), JSON.stringify(prompts));
      const got = await s.client.getPrompt(
        { name: `everything${SEP}args-prompt`, arguments: { city: "Paris" } },
        opts,
      );
      assert.match(JSON.stringify(got.messages), /Paris/);
      const done = await s.client.complete(
        {
          ref: { type: "ref/prompt", name: `everything${SEP}completable-prompt` },
          argument: { name: "department", value: "S" },
        },
        opts,
      );
      assert.deepEqual(done.completion.values, ["Sales", "Support"]);
    });

    it("20 concurrent calls each get their own answer", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          s.client.callTool({ name: tool("echo"), arguments: { message: `m${i}` } }, opts),
        ),
      );
      results.forEach((r, i) => assert.equal(textOf(r), `Echo: m${i}`));
    });

    it("sampling through an input_required round: the client's handler answers, the tool gets it", async () => {
      const before = seen.sampling.length;
      const res = await s.client.callTool(
        { name: tool("trigger-sampling-request"), arguments: { prompt: "say hi", maxTokens: 33 } },
        opts,
      );
      assert.ok(!res.isError, JSON.stringify(res));
      assert.ok(textOf(res).includes(`${SAMPLED} re: Resource trigger-sampling-request context: say hi`), textOf(res));
      assert.ok(textOf(res).includes("modern-model"), textOf(res));
      assert.equal(seen.sampling.length, before + 1);
      assert.equal(seen.sampling.at(-1).maxTokens, 33);
      assert.match(s.stderr.text, /round\.ask/);
    });

    it("elicitation through an input_required round", async () => {
      const before = seen.elicitation.length;
      const res = await s.client.callTool({ name: tool("trigger-elicitation-request"), arguments: {} }, opts);
      assert.ok(!res.isError, JSON.stringify(res));
      const text = textOf(res);
      assert.ok(text.includes("User provided the requested information"), text);
      assert.ok(text.includes(`- Name: ${ELICITED.name}`), text);
      assert.equal(seen.elicitation.length, before + 1);
      assert.deepEqual(seen.elicitation.at(-1).requestedSchema?.required, ["name"]);
    });

    it("concurrent sampling, elicitation and plain calls each end with their own answer", async () => {
      const jobs = [];
      for (let i = 0; i < 4; i++) {
        jobs.push(s.client.callTool({ name: tool("trigger-sampling-request"), arguments: { prompt: `p${i}` } }, opts).then((r) => ["s", i, r]));
        jobs.push(s.client.callTool({ name: tool("trigger-elicitation-request"), arguments: {} }, opts).then((r) => ["e", i, r]));
        jobs.push(s.client.callTool({ name: tool("echo"), arguments: { message: `c${i}` } }, opts).then((r) => ["x", i, r]));
      }
      for (const [kind, i, res] of await Promise.all(jobs)) {
        assert.ok(!res.isError, `${kind}${i}: ${JSON.stringify(res)}`);
        const text = textOf(res);
        if (kind === "s") assert.ok(text.includes(`${SAMPLED} re: Resource trigger-sampling-request context: p${i}`), `${i}: ${text}`);
        if (kind === "e") assert.ok(text.includes(`- Name: ${ELICITED.name}`), `${i}: ${text}`);
        if (kind === "x") assert.equal(text, `Echo: c${i}`);
      }
      assert.deepEqual(s.errors.map(String), []);
    });
  });
}

describe("SDK v2 client with listChanged handlers: the session opens with subscriptions/listen", {
  skip: DIRECT && "no mcpbraid in direct mode",
}, () => {
  let s;
  before(async () => {
    s = await openModern({ pin: "2026-07-28" }, ["everything"], {
      listChanged: { tools: { onChanged: () => {} }, prompts: { onChanged: () => {} } },
    });
  }, { timeout: 40_000 });
  after(async () => s?.close());

  nodeIt("the listen is acknowledged and calls go on beside it", { timeout: TEST_TIMEOUT }, async () => {
    assert.match(s.stderr.text, /client\.listen .*toolsListChanged/);
    const echoed = await s.client.callTool({ name: tool("echo"), arguments: { message: "listening" } }, opts);
    assert.equal(textOf(echoed), "Echo: listening");
    assert.deepEqual(s.errors.map(String), []);
  });
});

describe("SDK v2 client with roots: roots/list through an input_required round", {
  skip: DIRECT && "no mcpbraid in direct mode",
}, () => {
  let s;
  before(async () => {
    s = await openModern({ pin: "2026-07-28" }, ["everything"], {}, true);
  }, { timeout: 40_000 });
  after(async () => s?.close());

  nodeIt("get-roots-list reports the client's root", { timeout: TEST_TIMEOUT }, async () => {
    const res = await s.client.callTool({ name: tool("get-roots-list"), arguments: {} }, opts);
    assert.ok(!res.isError, JSON.stringify(res));
    assert.ok(textOf(res).includes(ROOT.uri), textOf(res));
    assert.ok(seen.roots >= 1);
  });
});

describe("SDK v2 client: a request's logLevel brings server-everything's log messages during it", {
  skip: DIRECT && "no mcpbraid in direct mode",
}, () => {
  let s;
  before(async () => {
    s = await openModern({ pin: "2026-07-28" }, ["everything"]);
  }, { timeout: 40_000 });
  after(async () => s?.close());

  nodeIt("toggle-simulated-logging with logLevel debug: its first message arrives", { timeout: TEST_TIMEOUT }, async () => {
    const logs = [];
    s.client.setNotificationHandler("notifications/message", (n) => logs.push(n.params));
    const res = await s.client.callTool(
      { name: tool("toggle-simulated-logging"), arguments: {}, _meta: { "io.modelcontextprotocol/logLevel": "debug" } },
      opts,
    );
    assert.ok(!res.isError, JSON.stringify(res));
    // server-everything sends one message at once, then one every 5 s; only
    // the one during the call is the request's (2026-07-28: request-scoped).
    await sleep(300);
    assert.equal(logs.length, 1, JSON.stringify(logs));
    assert.match(String(logs[0].data), /message/);
    assert.match(s.stderr.text, /event=backend\.set_level server=everything level=debug/);
    await s.client.callTool({ name: tool("toggle-simulated-logging"), arguments: {} }, opts);
  });
});
