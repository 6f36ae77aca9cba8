// Remote MCP servers for the interop tests, on 127.0.0.1 and a port the kernel
// chose: server-everything in its `streamableHttp` and `sse` modes (kept on
// 127.0.0.1 by tests/fixtures/localhost_only.mjs, which also prints its port), and
// our fault fixture tests/fixtures/http_server.mjs. Each prints "PORT <n>" on
// stdout once listening; the server exits when its stdin pipe closes, so nothing
// outlives the test process.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { ENTRY, HERE } from "./harness.mjs";

export const FIXTURES = join(HERE, "..", "fixtures");
export const HTTP_FIXTURE = join(FIXTURES, "http_server.mjs");
export const LOCALHOST_ONLY = join(FIXTURES, "localhost_only.mjs");

/**
 * Starts `node ...args`, waits for its "PORT <n>" line, and returns
 * { port, origin, url(path), stats(), output(), stop() }.
 */
export async function startHttpServer(args, { env = {}, label = "http server", timeoutMs = 10_000 } = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (out.stderr = (out.stderr + chunk).slice(-64 * 1024)));
  child.stdout.setEncoding("utf8");
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no PORT line within ${timeoutMs} ms\n${out.stderr}`)), timeoutMs);
    child.stdout.on("data", (chunk) => {
      out.stdout = (out.stdout + chunk).slice(-256 * 1024);
      const found = out.stdout.match(/^PORT (\d+)$/m);
      if (found) {
        clearTimeout(timer);
        resolve(Number(found[1]));
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited (${code ?? signal}) before listening\n${out.stderr}`));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  return {
    port,
    origin,
    pid: child.pid,
    url: (path) => `${origin}${path}`,
    /** The fixture's counters (GET /stats); only http_server.mjs has them. */
    stats: async () => (await fetch(`${origin}/stats`)).json(),
    /** What the server printed so far. */
    output: () => ({ ...out }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** server-everything in `streamableHttp` (POST/GET/DELETE /mcp) or `sse` (GET /sse, POST /message) mode. */
export function startEverythingHttp(mode) {
  return startHttpServer(["--import", LOCALHOST_ONLY, ENTRY.everything, mode], {
    env: { PORT: "0" },
    label: `server-everything ${mode}`,
  });
}

/** Our fault fixture with `flags` (see the top of tests/fixtures/http_server.mjs). */
export function startHttpFixture(...flags) {
  return startHttpServer([HTTP_FIXTURE, ...flags], { label: `http_server.mjs ${flags.join(" ")}` });
}
