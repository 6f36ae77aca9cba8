// Resources (URIs pass through unchanged), prompts (prefixed) and
// completion/complete (routed by prompt prefix or resource-template owner).

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { REQUEST_TIMEOUT, SEP, Session, listAll, tester } from "./harness.mjs";

const STATIC_PREFIX = "demo://resource/static/document/";
const TEXT_TEMPLATE = "demo://resource/dynamic/text/{resourceId}";
const BLOB_TEMPLATE = "demo://resource/dynamic/blob/{resourceId}";
const opts = { timeout: REQUEST_TIMEOUT };

describe("resources through mcpbraid", () => {
  let s;
  before(
    async () => {
      s = await Session.open();
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("resources/list includes server-everything's static documents", async () => {
    const resources = await listAll(s.client("everything"), "resources");
    const docs = resources.filter((r) => r.uri.startsWith(STATIC_PREFIX));
    assert.ok(docs.length >= 5, `few static documents: ${JSON.stringify(resources.map((r) => r.uri))}`);
    const instructions = docs.find((r) => r.uri === `${STATIC_PREFIX}instructions.md`);
    assert.ok(instructions, "instructions.md missing");
    assert.equal(instructions.mimeType, "text/markdown");
    assert.equal(instructions.name, "instructions.md");
  });

  it("resources/read returns a static document's text", async () => {
    const uri = `${STATIC_PREFIX}instructions.md`;
    const res = await s.client("everything").readResource({ uri }, opts);
    assert.equal(res.contents.length, 1);
    assert.equal(res.contents[0].uri, uri);
    assert.equal(res.contents[0].mimeType, "text/markdown");
    assert.ok(res.contents[0].text.includes("Everything Server – Server Instructions"), res.contents[0].text.slice(0, 200));
  });

  it("resources/templates/list includes the dynamic text and blob templates", async () => {
    const templates = await listAll(s.client("everything"), "resourceTemplates");
    const uris = templates.map((t) => t.uriTemplate);
    assert.ok(uris.includes(TEXT_TEMPLATE), `templates: ${JSON.stringify(uris)}`);
    assert.ok(uris.includes(BLOB_TEMPLATE), `templates: ${JSON.stringify(uris)}`);
  });

  it("resources/read of a templated text URI", async () => {
    const uri = "demo://resource/dynamic/text/3";
    const res = await s.client("everything").readResource({ uri }, opts);
    assert.equal(res.contents[0].uri, uri);
    assert.equal(res.contents[0].mimeType, "text/plain");
    assert.match(res.contents[0].text, /^Resource 3: This is a plaintext resource created at /);
  });

  it("resources/read of a templated blob URI", async () => {
    const uri = "demo://resource/dynamic/blob/12";
    const res = await s.client("everything").readResource({ uri }, opts);
    assert.equal(res.contents[0].uri, uri);
    const decoded = Buffer.from(res.contents[0].blob, "base64").toString("utf8");
    assert.match(decoded, /^Resource 12: This is a base64 blob created at /);
  });

  it("resources/read of an unknown URI is a JSON-RPC error, and the session goes on", async () => {
    await assert.rejects(
      s.client("everything").readResource({ uri: "demo://resource/no/such/thing" }, opts),
      (err) => err instanceof McpError && [-32602, -32002].includes(err.code),
    );
    const res = await s.client("everything").readResource({ uri: `${STATIC_PREFIX}features.md` }, opts);
    assert.ok(res.contents[0].text.length > 0);
  });

  it("memory's knowledge-graph resource is listed and readable alongside", async () => {
    const resources = await listAll(s.client("memory"), "resources");
    assert.ok(
      resources.some((r) => r.uri === "memory://knowledge-graph"),
      `memory://knowledge-graph missing: ${JSON.stringify(resources.map((r) => r.uri))}`,
    );
    const res = await s.client("memory").readResource({ uri: "memory://knowledge-graph" }, opts);
    const graph = JSON.parse(res.contents[0].text);
    assert.ok(Array.isArray(graph.entities) && Array.isArray(graph.relations), res.contents[0].text);
  });
});

describe("prompts and completion through mcpbraid", () => {
  let s;
  before(
    async () => {
      s = await Session.open();
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);
  const prompt = (name) => s.name("everything", name);

  it("prompts/list has server-everything's prompts, prefixed", async () => {
    const names = await s.promptNames();
    for (const want of ["simple-prompt", "args-prompt", "completable-prompt", "resource-prompt"]) {
      assert.ok(names.includes(`everything${SEP}${want}`), `prompts/list lacks everything${SEP}${want}: ${JSON.stringify(names)}`);
    }
    const prompts = await listAll(s.client("everything"), "prompts");
    const args = prompts.find((p) => p.name === prompt("args-prompt"));
    assert.deepEqual(
      args.arguments?.map((a) => [a.name, a.required ?? false]),
      [
        ["city", true],
        ["state", false],
      ],
    );
  });

  it("prompts/get simple-prompt", async () => {
    const res = await s.client("everything").getPrompt({ name: prompt("simple-prompt") }, opts);
    assert.deepEqual(res.messages, [
      { role: "user", content: { type: "text", text: "This is a simple prompt without arguments." } },
    ]);
  });

  it("prompts/get args-prompt with {city: Paris}", async () => {
    const res = await s.client("everything").getPrompt({ name: prompt("args-prompt"), arguments: { city: "Paris" } }, opts);
    assert.deepEqual(res.messages, [{ role: "user", content: { type: "text", text: "What's weather in Paris?" } }]);
    const both = await s
      .client("everything")
      .getPrompt({ name: prompt("args-prompt"), arguments: { city: "Austin", state: "Texas" } }, opts);
    assert.equal(both.messages[0].content.text, "What's weather in Austin, Texas?");
  });

  it("prompts/get resource-prompt embeds a resource with its URI unchanged", async () => {
    const res = await s
      .client("everything")
      .getPrompt({ name: prompt("resource-prompt"), arguments: { resourceType: "Text", resourceId: "4" } }, opts);
    assert.equal(res.messages.length, 2);
    const embedded = res.messages[1].content;
    assert.equal(embedded.type, "resource");
    assert.equal(embedded.resource.uri, "demo://resource/dynamic/text/4");
    assert.match(embedded.resource.text, /^Resource 4: /);
  });

  it("prompts/get of a missing required argument is a JSON-RPC error", async () => {
    await assert.rejects(
      s.client("everything").getPrompt({ name: prompt("args-prompt"), arguments: {} }, opts),
      (err) => err instanceof McpError && err.code === -32602,
    );
  });

  it("server advertises the completions capability", async () => {
    const caps = s.client("everything").getServerCapabilities();
    assert.equal(typeof caps?.completions, "object", `capabilities: ${JSON.stringify(caps)}`);
  });

  it("completion/complete for completable-prompt's department", async () => {
    const ref = { type: "ref/prompt", name: prompt("completable-prompt") };
    const all = await s.client("everything").complete({ ref, argument: { name: "department", value: "" } }, opts);
    assert.deepEqual(all.completion.values, ["Engineering", "Sales", "Marketing", "Support"]);
    const s_ = await s.client("everything").complete({ ref, argument: { name: "department", value: "S" } }, opts);
    assert.deepEqual(s_.completion.values, ["Sales", "Support"]);
  });

  it("completion/complete passes context.arguments (name depends on department)", async () => {
    const ref = { type: "ref/prompt", name: prompt("completable-prompt") };
    const res = await s.client("everything").complete(
      { ref, argument: { name: "name", value: "" }, context: { arguments: { department: "Engineering" } } },
      opts,
    );
    assert.deepEqual(res.completion.values, ["Alice", "Bob", "Charlie"]);
  });

  it("completion/complete for a resource template argument (routed by template owner)", async () => {
    const ref = { type: "ref/resource", uri: TEXT_TEMPLATE };
    const res = await s.client("everything").complete({ ref, argument: { name: "resourceId", value: "7" } }, opts);
    assert.deepEqual(res.completion.values, ["7"]);
    const none = await s.client("everything").complete({ ref, argument: { name: "resourceId", value: "x" } }, opts);
    assert.deepEqual(none.completion.values, []);
  });
});
