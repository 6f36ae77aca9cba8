// Progress notifications and cancellation relayed through mcpbraid.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { DIRECT, Session, sleep, tester, textOf, traceCall } from "./harness.mjs";

const LONG_OP = "trigger-long-running-operation";

describe("progress", () => {
  let s;
  before(
    async () => {
      s = await Session.open({ servers: ["everything", "memory"] });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  // The SDK client runs notification handlers a microtask after response
  // handlers, so the last progress (written right before the response) can
  // miss the callback even when it was delivered in order. The callback must
  // see an increasing prefix; the wire log must show every step.
  const assertProgress = (seen, steps, label) => {
    assert.ok(seen.length >= steps - 1, `${label}: only ${seen.length} of ${steps} progress callbacks: ${JSON.stringify(seen)}`);
    seen.forEach((p, i) => {
      assert.equal(p.progress, i + 1, `${label}: callback ${i} ${JSON.stringify(p)}`);
      assert.equal(p.total, steps, `${label}: callback ${i} ${JSON.stringify(p)}`);
    });
  };
  const assertWireProgress = (trace, steps, label) => {
    assert.ok(trace.token !== undefined, `${label}: the SDK sent no progressToken`);
    assert.deepEqual(
      trace.progress.map((p) => [p.progress, p.total]),
      Array.from({ length: steps }, (_, i) => [i + 1, steps]),
      `${label}: progress on the wire for token ${JSON.stringify(trace.token)}`,
    );
    assert.equal(trace.responses.length, 1, `${label}: ${trace.responses.length} responses for one request`);
    for (const p of trace.progress) {
      assert.ok(p.at < trace.responseAt, `${label}: progress ${p.progress} arrived after the response`);
    }
  };

  it("a long-running call reports increasing progress on the caller's token", async () => {
    const seen = [];
    const res = await s.callTool(
      "everything",
      LONG_OP,
      { duration: 1, steps: 4 },
      { onprogress: (p) => seen.push(p), timeout: 15_000 },
    );
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.equal(textOf(res), "Long running operation completed. Duration: 1 seconds, Steps: 4.");
    assertProgress(seen, 4, "callback");
    assertWireProgress(traceCall(s.wire(), s.name("everything", LONG_OP)), 4, "wire");
  });

  it("two concurrent long-running calls each get only their own progress", async () => {
    const a = [];
    const b = [];
    const name = s.name("everything", LONG_OP);
    const [ra, rb] = await Promise.all([
      s.callTool("everything", LONG_OP, { duration: 0.6, steps: 3 }, { onprogress: (p) => a.push(p) }),
      s.callTool("everything", LONG_OP, { duration: 0.8, steps: 4 }, { onprogress: (p) => b.push(p) }),
    ]);
    assert.equal(textOf(ra), "Long running operation completed. Duration: 0.6 seconds, Steps: 3.");
    assert.equal(textOf(rb), "Long running operation completed. Duration: 0.8 seconds, Steps: 4.");
    assertProgress(a, 3, "call A");
    assertProgress(b, 4, "call B");
    const wire = s.wire();
    const ta = traceCall(wire, name, { duration: 0.6, steps: 3 });
    const tb = traceCall(wire, name, { duration: 0.8, steps: 4 });
    assert.notEqual(String(ta.token), String(tb.token), "the SDK reused a progress token");
    assertWireProgress(ta, 3, "call A wire");
    assertWireProgress(tb, 4, "call B wire");
    const known = new Set([String(ta.token), String(tb.token)]);
    const foreign = wire.slice(Math.min(ta.reqAt, tb.reqAt)).filter(
      (m) => m.dir === "in" && m.msg.method === "notifications/progress" && !known.has(String(m.msg.params.progressToken)),
    );
    assert.deepEqual(foreign.map((m) => m.msg), [], "progress for tokens the client never issued");
  });
});

describe("cancellation", () => {
  let s;
  before(
    async () => {
      s = await Session.open({ servers: ["everything", "memory"] });
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("aborting a 10 s call rejects it promptly and the session keeps working", async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = s.callTool(
      "everything",
      LONG_OP,
      { duration: 10, steps: 10 },
      { signal: controller.signal, timeout: 20_000 },
    );
    setTimeout(() => controller.abort(new Error("interop: user cancelled")), 300);
    await assert.rejects(call, /cancelled/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `the aborted call took ${elapsed} ms to reject`);
    const trace = traceCall(s.wire(), s.name("everything", LONG_OP));
    assert.ok(trace.cancelAt >= 0, "the SDK client sent no notifications/cancelled");

    const res = await s.callTool("everything", "echo", { message: "after cancel" });
    assert.equal(textOf(res), "Echo: after cancel");
    const sum = await s.callTool("everything", "get-sum", { a: 40, b: 2 });
    assert.equal(textOf(sum), "The sum of 40 and 2 is 42.");
  });

  it("a cancelled call gets no late response", async () => {
    const controller = new AbortController();
    const call = s.callTool("everything", LONG_OP, { duration: 1.5, steps: 3 }, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("interop: user cancelled")), 300);
    await assert.rejects(call, /cancelled/);
    // The operation would have finished at ~1.5 s; wait past that for a stray response.
    await sleep(2000);
    const trace = traceCall(s.wire(), s.name("everything", LONG_OP));
    assert.ok(trace.cancelAt >= 0, "the SDK client sent no notifications/cancelled");
    assert.deepEqual(
      trace.responses.map((r) => r.msg),
      [],
      "the server answered a request the client had cancelled (spec: the receiver SHOULD NOT respond)",
    );
    const res = await s.callTool("everything", "echo", { message: "after late window" });
    assert.equal(textOf(res), "Echo: after late window");
  });

  // server-everything keeps sending progress for a cancelled call (its handler
  // ignores the abort signal); mcpbraid's design says stray progress is dropped.
  // Talking to server-everything directly the stray progress does arrive, so
  // this check only applies to mcpbraid.
  it(
    "no progress notifications reach the client after it cancelled the call",
    { skip: DIRECT ? "server-everything itself sends progress after a cancel" : false },
    async () => {
      const controller = new AbortController();
      const call = s.callTool(
        "everything",
        LONG_OP,
        { duration: 1.2, steps: 4 },
        { signal: controller.signal, onprogress: () => {} },
      );
      setTimeout(() => controller.abort(new Error("interop: user cancelled")), 450);
      await assert.rejects(call, /cancelled/);
      await sleep(1500);
      const trace = traceCall(s.wire(), s.name("everything", LONG_OP));
      assert.ok(trace.cancelAt >= 0, "the SDK client sent no notifications/cancelled");
      assert.deepEqual(trace.lateProgress, [], "progress for a cancelled request was forwarded to the client");
    },
  );
});
