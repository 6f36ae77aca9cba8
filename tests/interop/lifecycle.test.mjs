// Session-level behaviour: ping, logging/setLevel, and shutdown: when the
// client closes stdin, mcpbraid exits and takes its backend processes with it.

import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { DIRECT, REQUEST_TIMEOUT, Session, alive, childrenOf, sleep, tester, textOf } from "./harness.mjs";

describe("session basics", () => {
  let s;
  before(
    async () => {
      s = await Session.open();
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s);

  it("ping is answered", async () => {
    const res = await s.client("everything").ping({ timeout: REQUEST_TIMEOUT });
    assert.deepEqual(res, {});
  });

  it("logging/setLevel is accepted and the session goes on", async () => {
    const caps = s.client("everything").getServerCapabilities();
    assert.equal(typeof caps?.logging, "object", `no logging capability: ${JSON.stringify(caps)}`);
    const res = await s.client("everything").setLoggingLevel("debug", { timeout: REQUEST_TIMEOUT });
    assert.deepEqual(res, {});
    const echo = await s.callTool("everything", "echo", { message: "after setLevel" });
    assert.equal(textOf(echo), "Echo: after setLevel");
  });
});

describe("shutdown", () => {
  const it = tester(() => null);

  it(
    "closing the client stops mcpbraid and every backend process",
    { skip: DIRECT ? "only meaningful for mcpbraid" : false },
    async () => {
      const s = await Session.open({ servers: ["everything", "memory"] });
      let muxPid;
      let backends = [];
      let closeMs;
      try {
        // A round trip to each backend proves both are up.
        await s.callTool("everything", "echo", { message: "x" });
        await s.callTool("memory", "read_graph", {});
        muxPid = s.mux.pid;
        assert.ok(muxPid, "no pid for the mcpbraid process");
        backends = childrenOf(muxPid);
        assert.ok(backends.length >= 2, `expected 2 backend children of mcpbraid ${muxPid}, found ${backends}`);
      } finally {
        // The SDK ends mcpbraid's stdin, waits up to 2 s for it to exit, then sends SIGTERM.
        const t0 = Date.now();
        await s.close();
        closeMs = Date.now() - t0;
      }
      const deadline = Date.now() + 6000;
      while ((alive(muxPid) || backends.some(alive)) && Date.now() < deadline) await sleep(100);
      assert.ok(!alive(muxPid), `mcpbraid (pid ${muxPid}) still running after the client closed`);
      const left = backends.filter(alive);
      assert.deepEqual(left, [], "backend processes left running after mcpbraid exited");
      assert.ok(closeMs < 1900, `mcpbraid took ${closeMs} ms to exit after stdin closed (SDK had to SIGTERM it)`);
      assert.deepEqual(s.closed[0].exit, { done: true, code: 0, signal: null }, "mcpbraid's exit after stdin EOF");
    },
  );
});
