#!/usr/bin/env node
// How much of a client's context the tools list takes, with and without search
// mode: starts mcpbraid with a config (by default examples/mcpbraid.json) in a
// few variants, and prints for each the number of tools the client sees, the
// bytes of the tools/list result's `tools` array (compact JSON, UTF-8), the
// bytes of the initialize result's instructions, and a token estimate (bytes / 4,
// a rough rule of thumb for English and JSON; real tokenizers differ).
//
//   node bench/context_size.mjs [path/to/mcpbraid] [path/to/config.json]
//
// Variants: as is; "expose": "search" at the top level; search with
// "pinned": ["read_text_file"] on the server named `files` (when there is one).
// The client declares no capabilities. Needs node >= 20 and, for the example
// config, tests/interop/node_modules (tests/interop/run.sh or `npm ci` there).
// No npm packages: it speaks JSON-RPC over mcpbraid's stdin/stdout itself.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = resolve(process.argv[2] ?? join(root, "build/mcpbraid"));
const cfgPath = resolve(process.argv[3] ?? join(root, "examples/mcpbraid.json"));
const base = JSON.parse(readFileSync(cfgPath, "utf8"));
const serversKey = base.mcpServers ? "mcpServers" : "servers";

// The variants are written to a temp dir: make relative cwds absolute (they
// are relative to the config file).
for (const def of Object.values(base[serversKey])) {
  if (typeof def.cwd === "string" && !isAbsolute(def.cwd) && !def.cwd.startsWith("$")) def.cwd = resolve(dirname(cfgPath), def.cwd);
}

const variants = [
  ["expose all (as is)", base],
  ["expose search, no pins", { expose: "search", ...base }],
];
if (base[serversKey].files) {
  const pinned = structuredClone(base);
  pinned.expose = "search";
  pinned[serversKey].files.pinned = ["read_text_file"];
  variants.push(["expose search, files pinned [read_text_file]", pinned]);
}

/** One mcpbraid session: send requests, await responses by id. */
function session(config, dir) {
  const file = join(dir, `mcpbraid-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(config, null, 2));
  const child = spawn(bin, ["--config", file], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr = (stderr + d).slice(-8000)));
  const waiting = new Map();
  let buf = "";
  let nextId = 1;
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    buf += chunk;
    for (let nl; (nl = buf.indexOf("\n")) >= 0; ) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      const msg = JSON.parse(line);
      if (msg.id !== undefined && !msg.method && waiting.has(msg.id)) {
        waiting.get(msg.id)(msg);
        waiting.delete(msg.id);
      }
    }
  });
  const send = (msg) => child.stdin.write(JSON.stringify({ jsonrpc: "2.0", ...msg }) + "\n");
  const request = (method, params = {}) =>
    new Promise((ok, fail) => {
      const id = nextId++;
      const timer = setTimeout(() => fail(new Error(`${method}: no answer in 20 s\n${stderr}`)), 20_000);
      waiting.set(id, (msg) => {
        clearTimeout(timer);
        msg.error ? fail(new Error(`${method}: ${JSON.stringify(msg.error)}\n${stderr}`)) : ok(msg.result);
      });
      send({ id, method, params });
    });
  const close = () =>
    new Promise((ok) => {
      child.once("exit", ok);
      child.stdin.end();
      setTimeout(() => child.kill("SIGTERM"), 5000).unref();
    });
  return { request, send, close };
}

async function measure(config, dir) {
  const s = session(config, dir);
  try {
    const init = await s.request("initialize", {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "context-size", version: "1" },
    });
    s.send({ method: "notifications/initialized" });
    // Wait until every server is ready, so that the list is complete.
    for (let i = 0; ; i++) {
      const list = await s.request("tools/call", { name: "gateway_list_servers", arguments: {} });
      const notReady = list.structuredContent.servers.filter((x) => x.state !== "ready");
      if (!notReady.length) break;
      if (i >= 100) throw new Error(`not ready: ${JSON.stringify(notReady)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const tools = [];
    let cursor;
    do {
      const page = await s.request("tools/list", cursor ? { cursor } : {});
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    const gateway = tools.filter((t) => t.name.startsWith("gateway_")).length;
    return {
      tools: tools.length,
      gateway,
      bytes: Buffer.byteLength(JSON.stringify(tools), "utf8"),
      instructions: Buffer.byteLength(init.instructions ?? "", "utf8"),
    };
  } finally {
    await s.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "mcpbraid-context-size-"));
try {
  const rows = [];
  for (const [label, config] of variants) rows.push([label, await measure(config, dir)]);
  const all = rows[0][1].bytes;
  console.log(`config: ${cfgPath}\n`);
  console.log("| variant | tools seen (gateway's) | tools JSON bytes | ~tokens (bytes/4) | vs as is | instructions bytes |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [label, r] of rows) {
    const pct = `${((100 * r.bytes) / all).toFixed(1)} %`;
    console.log(`| ${label} | ${r.tools} (${r.gateway}) | ${r.bytes} | ${Math.round(r.bytes / 4)} | ${pct} | ${r.instructions} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
