#!/usr/bin/env node
// Dump an MCP server's tools/list, exactly as the server sent it, in the
// format of tests/data/search/tools/<server>.json:
//   {"server": NAME, "source": SOURCE, "tools": [ ...raw tools/list entries... ]}
//
// Usage:
//   node tests/data/search/dump_tools.mjs --server NAME --source "pkg@1.2.3 (how obtained)" \
//        [--env KEY=VALUE]... [--timeout SECONDS] -- COMMAND [ARGS...]
//
// The server is launched over stdio with the current environment plus the --env
// pairs.  Pages are followed through nextCursor.  The JSON goes to stdout, the
// server's stderr to our stderr.
//
// The MCP TypeScript SDK is taken from tests/interop/node_modules (the version
// pinned in tests/interop/package-lock.json; run `npm ci` there first), or from
// the directory in MCP_SDK_DIR (a node_modules/@modelcontextprotocol/sdk folder).
// Not part of the test suite.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const sdkDir = process.env.MCP_SDK_DIR ||
  path.resolve(here, "../../interop/node_modules/@modelcontextprotocol/sdk");
const load = (p) => import(pathToFileURL(path.join(sdkDir, "dist/esm", p)).href);
const { Client } = await load("client/index.js");
const { StdioClientTransport } = await load("client/stdio.js");
const { ListToolsResultSchema } = await load("types.js");

function usage(msg) {
  if (msg) process.stderr.write(`dump_tools: ${msg}\n`);
  process.stderr.write(
    "usage: dump_tools.mjs --server NAME --source SOURCE [--env K=V]... [--timeout S] -- COMMAND [ARGS...]\n");
  process.exit(2);
}

const argv = process.argv.slice(2);
let server, source, timeout = 60;
const env = {};
let i = 0;
for (; i < argv.length; i++) {
  const a = argv[i];
  if (a === "--") { i++; break; }
  const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
  if (a === "--server") server = val();
  else if (a === "--source") source = val();
  else if (a === "--timeout") timeout = Number(val());
  else if (a === "--env") {
    const kv = val(); const eq = kv.indexOf("=");
    if (eq <= 0) usage(`bad --env ${kv}`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else usage(`unknown option ${a}`);
}
const cmd = argv.slice(i);
if (!server || !source || cmd.length === 0) usage();
if (!/^[a-z0-9_-]+$/.test(server)) usage("server name must match [a-z0-9_-]+");

const transport = new StdioClientTransport({
  command: cmd[0],
  args: cmd.slice(1),
  env: { ...process.env, ...env },
  stderr: "inherit",
});
const client = new Client({ name: "mcpbraid-dump-tools", version: "0.0.0" }, { capabilities: {} });
await client.connect(transport, { timeout: timeout * 1000 });

// Take the tools/list answers off the wire before the SDK parses them, so that
// what is written is what the server sent (no fields dropped or defaulted).
const pages = new Map();
const orig = transport.onmessage;
transport.onmessage = (msg, extra) => {
  if (msg && msg.id !== undefined && msg.result && Array.isArray(msg.result.tools))
    pages.set(msg.id, msg.result);
  return orig(msg, extra);
};

const tools = [];
let cursor;
for (let page = 0; page < 1000; page++) {
  const before = new Set(pages.keys());
  try {
    await client.request({ method: "tools/list", params: cursor ? { cursor } : {} },
                         ListToolsResultSchema, { timeout: timeout * 1000 });
  } catch (e) {
    // The raw answer is still usable if only the SDK's schema check refused it.
    process.stderr.write(`dump_tools: tools/list: ${e.message}\n`);
  }
  const id = [...pages.keys()].find((k) => !before.has(k));
  if (id === undefined) { process.stderr.write("dump_tools: no tools/list answer\n"); process.exit(1); }
  const res = pages.get(id);
  tools.push(...res.tools);
  cursor = res.nextCursor;
  if (!cursor) break;
}
await client.close();
process.stdout.write(JSON.stringify({ server, source, tools }, null, 2) + "\n");
process.exit(0);
