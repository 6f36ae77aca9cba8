// tools/call through mcpbraid: text, structured and image results, unknown
// tools, and 50 concurrent calls that must each get their own answer.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { Session, listAll, tester, textOf } from "./harness.mjs";

describe("tools/call through mcpbraid", () => {
  let s;
  before(
    async () => {
      s = await Session.open();
      // Lets the SDK client learn outputSchemas, so it validates structuredContent.
      await listAll(s.client("everything"), "tools");
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("echo returns its message as text content", async () => {
    const res = await s.callTool("everything", "echo", { message: "hello through mcpbraid ✓" });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.deepEqual(res.content, [{ type: "text", text: "Echo: hello through mcpbraid ✓" }]);
  });

  it("get-sum adds two numbers", async () => {
    const res = await s.callTool("everything", "get-sum", { a: 2, b: 3 });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.equal(textOf(res), "The sum of 2 and 3 is 5.");
  });

  it("get-structured-content returns structuredContent matching its content", async () => {
    const res = await s.callTool("everything", "get-structured-content", { location: "Chicago" });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.deepEqual(res.structuredContent, { temperature: 36, conditions: "Light rain / drizzle", humidity: 82 });
    assert.deepEqual(JSON.parse(textOf(res)), res.structuredContent);
  });

  it("get-tiny-image returns a PNG image content block", async () => {
    const res = await s.callTool("everything", "get-tiny-image", {});
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.deepEqual(
      res.content.map((c) => c.type),
      ["text", "image", "text"],
    );
    const image = res.content[1];
    assert.equal(image.mimeType, "image/png");
    const bytes = Buffer.from(image.data, "base64");
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "not a PNG");
  });

  it("a 1.5 MB echo with multi-byte text round-trips intact", async () => {
    const unit = "mcpbraid ✓ стдио 多路复用 🚀 \\ \" \n\t";
    const message = unit.repeat(Math.ceil(1_500_000 / unit.length));
    const res = await s.callTool("everything", "echo", { message });
    assert.ok(!res.isError, "isError on a large echo");
    const text = textOf(res);
    assert.equal(text.length, message.length + "Echo: ".length, "large echo changed length");
    assert.ok(text === `Echo: ${message}`, "large echo content differs");
  });

  it("resource_link content keeps its URIs, and a linked resource is readable", async () => {
    const res = await s.callTool("everything", "get-resource-links", { count: 4 });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const links = res.content.filter((c) => c.type === "resource_link");
    assert.deepEqual(
      links.map((l) => l.uri),
      [
        "demo://resource/dynamic/blob/1",
        "demo://resource/dynamic/text/2",
        "demo://resource/dynamic/blob/3",
        "demo://resource/dynamic/text/4",
      ],
    );
    const read = await s.client("everything").readResource({ uri: links[1].uri }, { timeout: 15_000 });
    assert.match(read.contents[0].text, /^Resource 2: This is a plaintext resource/);
  });

  it("get-resource-reference embeds a resource with its URI unchanged", async () => {
    const res = await s.callTool("everything", "get-resource-reference", { resourceType: "Blob", resourceId: 6 });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const embedded = res.content.find((c) => c.type === "resource");
    assert.equal(embedded?.resource?.uri, "demo://resource/dynamic/blob/6");
    assert.match(Buffer.from(embedded.resource.blob, "base64").toString("utf8"), /^Resource 6: /);
  });

  it("memory's tools are reachable in the same session", async () => {
    const res = await s.callTool("memory", "read_graph", {});
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.ok(Array.isArray(res.structuredContent?.entities), `no entities array: ${JSON.stringify(res)}`);
  });

  it("an unknown tool is refused (JSON-RPC error or isError result), and the session goes on", async () => {
    let refused = false;
    try {
      const res = await s.callTool("everything", "no-such-tool", {});
      refused = res.isError === true;
      assert.ok(refused, `unknown tool answered without isError: ${JSON.stringify(res)}`);
    } catch (err) {
      assert.ok(err instanceof McpError, `unexpected error type: ${err}`);
      assert.equal(err.code, -32602, `unknown tool should be -32602 (invalid params), got ${err.code}: ${err.message}`);
    }
    const res = await s.callTool("everything", "echo", { message: "still alive" });
    assert.equal(textOf(res), "Echo: still alive");
  });

  it("50 concurrent get-sum calls each get their own answer", async () => {
    const calls = Array.from({ length: 50 }, (_, i) => ({ a: i, b: 1000 + 7 * i }));
    const results = await Promise.all(calls.map((args) => s.callTool("everything", "get-sum", args)));
    results.forEach((res, i) => {
      const { a, b } = calls[i];
      assert.ok(!res.isError, `call ${i} isError: ${JSON.stringify(res)}`);
      assert.equal(textOf(res), `The sum of ${a} and ${b} is ${a + b}.`, `call ${i} got someone else's answer`);
    });
  });

  it("concurrent calls to two backends interleave correctly", async () => {
    const jobs = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(s.callTool("everything", "echo", { message: `m${i}` }).then((r) => ["echo", i, r]));
      jobs.push(s.callTool("memory", "read_graph", {}).then((r) => ["graph", i, r]));
    }
    for (const [kind, i, res] of await Promise.all(jobs)) {
      assert.ok(!res.isError, `${kind} ${i} isError: ${JSON.stringify(res)}`);
      if (kind === "echo") assert.equal(textOf(res), `Echo: m${i}`);
      else assert.ok(Array.isArray(res.structuredContent?.entities), `graph ${i}: ${JSON.stringify(res)}`);
    }
  });
});
