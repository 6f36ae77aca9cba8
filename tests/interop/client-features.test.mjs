// Server-to-client requests relayed through mcpbraid: roots/list,
// sampling/createMessage and elicitation/create, answered by the SDK client.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { ALL_CLIENT_CAPS, SEP, Session, tester, textOf } from "./harness.mjs";

const ROOT = { uri: "file:///tmp/mcpbraid-interop-root", name: "interop-root" };
const SAMPLED_TEXT = "FIXED-SAMPLING-REPLY-7f3a";
const ELICITED = { name: "Ada Interop", check: true, integer: 7, email: "ada@example.com" };

describe("roots, sampling and elicitation through mcpbraid", () => {
  let s;
  const seen = { roots: 0, sampling: [], elicitation: [] };
  before(
    async () => {
      s = await Session.open({
        capabilities: ALL_CLIENT_CAPS,
        handlers: {
          roots: async () => {
            seen.roots++;
            return { roots: [ROOT] };
          },
          sampling: async (req) => {
            seen.sampling.push(req.params);
            return {
              model: "interop-model",
              role: "assistant",
              // Echo the prompt back, so each caller can tell its own answer.
              content: { type: "text", text: `${SAMPLED_TEXT} re: ${req.params.messages?.[0]?.content?.text}` },
              stopReason: "endTurn",
            };
          },
          elicitation: async (req) => {
            seen.elicitation.push(req.params);
            return { action: "accept", content: ELICITED };
          },
        },
      });
      const gated = ["get-roots-list", "trigger-sampling-request", "trigger-elicitation-request"];
      await s.waitForTools(
        gated.map((t) => `everything${SEP}${t}`),
        3000,
      );
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("get-roots-list reports the root the client provided", async () => {
    const res = await s.callTool("everything", "get-roots-list", {});
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const text = textOf(res);
    assert.ok(text.includes(ROOT.uri), `root URI missing from:\n${text}`);
    assert.ok(text.includes(ROOT.name), `root name missing from:\n${text}`);
    assert.ok(seen.roots >= 1, "the client's roots/list handler was never called");
  });

  it("trigger-sampling-request returns the client's sampled text", async () => {
    const before = seen.sampling.length;
    const res = await s.callTool("everything", "trigger-sampling-request", { prompt: "say hi", maxTokens: 33 });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const text = textOf(res);
    assert.ok(text.includes(SAMPLED_TEXT), `sampled text missing from:\n${text}`);
    assert.ok(text.includes("interop-model"), `model name missing from:\n${text}`);
    assert.equal(seen.sampling.length, before + 1, "expected exactly one sampling/createMessage");
    const params = seen.sampling.at(-1);
    assert.equal(params.maxTokens, 33);
    assert.equal(params.systemPrompt, "You are a helpful test server.");
    assert.equal(params.messages?.[0]?.content?.text, "Resource trigger-sampling-request context: say hi");
  });

  it("trigger-elicitation-request reflects the accepted content", async () => {
    const before = seen.elicitation.length;
    const res = await s.callTool("everything", "trigger-elicitation-request", {});
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const text = textOf(res);
    assert.ok(text.includes("User provided the requested information"), `not accepted:\n${text}`);
    assert.ok(text.includes(`- Name: ${ELICITED.name}`), `name missing:\n${text}`);
    assert.ok(text.includes("- Agreed to terms: true"), `check missing:\n${text}`);
    assert.ok(text.includes(`- Favorite Integer: ${ELICITED.integer}`), `integer missing:\n${text}`);
    assert.ok(text.includes(`- Email: ${ELICITED.email}`), `email missing:\n${text}`);
    assert.equal(seen.elicitation.length, before + 1, "expected exactly one elicitation/create");
    const params = seen.elicitation.at(-1);
    assert.equal(params.message, "Please provide inputs for the following fields:");
    assert.deepEqual(params.requestedSchema?.required, ["name"]);
  });

  it("concurrent sampling and elicitation requests are answered to the right caller", async () => {
    const jobs = [];
    for (let i = 0; i < 5; i++) {
      jobs.push(s.callTool("everything", "trigger-sampling-request", { prompt: `p${i}` }).then((r) => ["s", i, r]));
      jobs.push(s.callTool("everything", "trigger-elicitation-request", {}).then((r) => ["e", i, r]));
      jobs.push(s.callTool("everything", "echo", { message: `e${i}` }).then((r) => ["x", i, r]));
    }
    for (const [kind, i, res] of await Promise.all(jobs)) {
      assert.ok(!res.isError, `${kind}${i} isError: ${JSON.stringify(res)}`);
      const text = textOf(res);
      if (kind === "s") {
        const own = `${SAMPLED_TEXT} re: Resource trigger-sampling-request context: p${i}`;
        assert.ok(text.includes(own), `sampling ${i} got another call's answer:\n${text}`);
      }
      if (kind === "e") assert.ok(text.includes(`- Name: ${ELICITED.name}`), `elicitation ${i}:\n${text}`);
      if (kind === "x") assert.equal(text, `Echo: e${i}`);
    }
    const prompts = seen.sampling.slice(-5).map((p) => p.messages[0].content.text).sort();
    assert.deepEqual(
      prompts,
      [0, 1, 2, 3, 4].map((i) => `Resource trigger-sampling-request context: p${i}`),
    );
  });
});
