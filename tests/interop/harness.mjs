// Shared plumbing for the interop tests: builds an mcpbraid config that points at
// the MCP servers installed in ./node_modules, starts mcpbraid behind the
// official TypeScript SDK client, and hides the naming difference between the
// two launch modes:
//
//   default           one mcpbraid process in front of every configured server;
//                     tools and prompts are called `<server>__<name>`.
//   INTEROP_DIRECT=1  no mcpbraid: one SDK client per server, talking to the
//                     server directly with its original names. Used to check
//                     the tests' own expectations against the real servers.
//                     A remote server def ({type?, url, headers?}) is reached
//                     with the SDK's HTTP transports.
//
// Environment: MCPBRAID_BIN (path to the binary, required unless direct),
// MCPBRAID_SEPARATOR (default "__"), INTEROP_STDERR=inherit to see stderr live.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const DIRECT = process.env.INTEROP_DIRECT === "1";
export const MCPBRAID_BIN = process.env.MCPBRAID_BIN ?? "";
export const SEP = process.env.MCPBRAID_SEPARATOR ?? "__";

/** Per-test timeout (ms): a hang fails the test instead of blocking the run. */
export const TEST_TIMEOUT = Number(process.env.INTEROP_TEST_TIMEOUT ?? 30_000);
/** Timeout handed to every SDK request unless a test says otherwise. */
export const REQUEST_TIMEOUT = 15_000;

/** Absolute path of an installed package's bin entry point (from its package.json). */
export function entryPoint(pkg) {
  const dir = join(HERE, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const bin = typeof manifest.bin === "string" ? manifest.bin : Object.values(manifest.bin ?? {})[0];
  if (!bin) throw new Error(`${pkg}: no bin entry in package.json`);
  return join(dir, bin);
}

export const ENTRY = {
  everything: entryPoint("@modelcontextprotocol/server-everything"),
  memory: entryPoint("@modelcontextprotocol/server-memory"),
  filesystem: entryPoint("@modelcontextprotocol/server-filesystem"),
};

/** A fresh temporary directory, removed by the returned cleanup. */
export function makeTempDir(prefix = "mcpbraid-interop-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Server definitions in Claude-Desktop `mcpServers` form. The command is this
 * very node binary (absolute path), so nothing depends on PATH or npx.
 */
export function serverDefs(tmp, { memoryFile, filesystemDirs } = {}) {
  return {
    everything: {
      command: process.execPath,
      args: [ENTRY.everything, "stdio"],
      env: {},
    },
    memory: {
      command: process.execPath,
      args: [ENTRY.memory],
      env: { MEMORY_FILE_PATH: memoryFile ?? join(tmp, "memory.jsonl") },
    },
    filesystem: {
      command: process.execPath,
      args: [ENTRY.filesystem, ...(filesystemDirs ?? [tmp])],
      env: {},
    },
  };
}

/** Everything a test declares about its client: capabilities and handlers. */
export const ALL_CLIENT_CAPS = { roots: { listChanged: true }, sampling: {}, elicitation: { form: {} } };

function installHandlers(client, handlers) {
  if (handlers.roots) client.setRequestHandler(ListRootsRequestSchema, handlers.roots);
  if (handlers.sampling) client.setRequestHandler(CreateMessageRequestSchema, handlers.sampling);
  if (handlers.elicitation) client.setRequestHandler(ElicitRequestSchema, handlers.elicitation);
}

function withTimeout(promise, ms, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

/** Keeps the last `limit` characters of a child's stderr for failure reports. */
function captureStderr(transport, limit = 64 * 1024) {
  const box = { text: "" };
  const stream = transport.stderr;
  if (stream) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk) => {
      box.text += chunk;
      if (box.text.length > limit) box.text = box.text.slice(-limit);
    });
  }
  return box;
}

/**
 * Direct mode only: an SDK client for a remote server def ({type?, url, headers?}).
 * Without a type it tries Streamable HTTP, then SSE, as the spec's
 * backwards-compatibility section says.
 */
async function connectRemote({ type, url, headers, capabilities, handlers, label }) {
  const requestInit = headers ? { headers } : undefined;
  const kinds = type === "sse" ? ["sse"] : type ? ["http"] : ["http", "sse"];
  for (const kind of kinds) {
    const client = new Client({ name: "mcpbraid-interop", version: "0.1.0" }, { capabilities });
    installHandlers(client, handlers);
    const errors = [];
    client.onerror = (err) => errors.push(err);
    const transport =
      kind === "sse"
        ? new SSEClientTransport(new URL(url), { requestInit })
        : new StreamableHTTPClientTransport(new URL(url), { requestInit });
    const wire = tapWire(transport);
    try {
      await withTimeout(client.connect(transport, { timeout: 10_000 }), 12_000, `${label}: initialize`);
    } catch (err) {
      await client.close().catch(() => {});
      if (kind !== kinds.at(-1)) continue;
      err.message = `${label}: connect/initialize to ${url} failed: ${err.message}`;
      throw err;
    }
    const exit = { done: true, code: 0, signal: null }; // no process of ours
    return { client, errors, stderr: { text: "" }, wire, exit, pid: undefined };
  }
}

async function connectClient({ command, args, env, url, type, headers, capabilities, handlers, label }) {
  if (url) return connectRemote({ type, url, headers, capabilities, handlers, label });
  const client = new Client({ name: "mcpbraid-interop", version: "0.1.0" }, { capabilities });
  installHandlers(client, handlers);
  const errors = [];
  client.onerror = (err) => errors.push(err);
  const stderrMode = process.env.INTEROP_STDERR === "inherit" ? "inherit" : "pipe";
  const transport = new StdioClientTransport({
    command,
    args,
    env: env ? { ...process.env, ...env } : undefined,
    stderr: stderrMode,
  });
  const stderr = captureStderr(transport);
  const wire = tapWire(transport);
  try {
    await withTimeout(client.connect(transport, { timeout: 10_000 }), 12_000, `${label}: initialize`);
  } catch (err) {
    await client.close().catch(() => {});
    err.message = `${label}: connect/initialize failed: ${err.message}`;
    err.message += stderr.text ? `\n--- ${label} stderr ---\n${stderr.text.slice(-4000)}` : "";
    throw err;
  }
  // How the process ended (StdioClientTransport keeps the ChildProcess private).
  const exit = { done: false, code: null, signal: null };
  transport._process?.once("exit", (code, signal) => Object.assign(exit, { done: true, code, signal }));
  return { client, errors, stderr, wire, exit, pid: transport.pid };
}

const SANITIZER_REPORT = /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: UndefinedBehaviorSanitizer/;

/**
 * Records every JSON-RPC message crossing the transport, in order:
 * {dir: "out" | "in", msg}. The SDK client handles notifications a microtask
 * later than responses, so a progress notification written just before the
 * response can miss its callback; the wire log shows what was really sent.
 */
function tapWire(transport, limit = 20_000) {
  const log = [];
  const push = (dir, msg) => {
    log.push({ dir, msg });
    if (log.length > limit) log.splice(0, log.length - limit);
  };
  const send = transport.send.bind(transport);
  transport.send = (msg, opts) => {
    push("out", msg);
    return send(msg, opts);
  };
  // Client.connect installs transport.onmessage before start(); wrap it on assignment.
  let handler;
  Object.defineProperty(transport, "onmessage", {
    configurable: true,
    get: () => handler,
    set: (fn) => {
      handler = fn
        ? (msg, extra) => {
            push("in", msg);
            return fn(msg, extra);
          }
        : fn;
    },
  });
  return log;
}

/**
 * A connection to the servers in `servers` (names from serverDefs), either
 * through one mcpbraid process or, with INTEROP_DIRECT=1, one client each.
 */
export class Session {
  static async open({
    servers = ["everything", "memory"],
    capabilities = {},
    handlers = {},
    defs: defsOverride = {},
    top = {},
    extra = {},
  } = {}) {
    const tmp = makeTempDir();
    const defs = { ...serverDefs(tmp.dir), ...defsOverride };
    const session = new Session(servers, tmp);
    try {
      if (DIRECT) {
        for (const name of servers) {
          const def = defs[name];
          const conn = await connectClient({
            command: def.command,
            args: def.args,
            env: def.env,
            url: def.url,
            type: def.type,
            headers: def.headers,
            capabilities,
            handlers,
            label: name,
          });
          session.conns.set(name, conn);
        }
      } else {
        if (!MCPBRAID_BIN) throw new Error("MCPBRAID_BIN is not set (or run with INTEROP_DIRECT=1)");
        // `extra` adds mcpbraid-only keys to a server's def (prefix, tools, pinned...),
        // `top` to the config's top level (expose, separator...); direct mode ignores both.
        const cfg = {
          ...top,
          mcpServers: Object.fromEntries(servers.map((n) => [n, { ...defs[n], ...(extra[n] ?? {}) }])),
        };
        const cfgPath = join(tmp.dir, "mcpbraid.json");
        writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
        session.cfgPath = cfgPath;
        const conn = await connectClient({
          command: MCPBRAID_BIN,
          args: ["--config", cfgPath],
          env: {},
          capabilities,
          handlers,
          label: "mcpbraid",
        });
        for (const name of servers) session.conns.set(name, conn);
        session.mux = conn;
      }
    } catch (err) {
      await session.close().catch(() => {});
      throw err;
    }
    return session;
  }

  constructor(servers, tmp) {
    this.servers = servers;
    this.tmp = tmp;
    this.conns = new Map();
    this.mux = null;
  }

  /** The temp dir holding this session's config and scratch files. */
  get dir() {
    return this.tmp.dir;
  }

  /** The SDK client that reaches `server`. */
  client(server = "everything") {
    const conn = this.conns.get(server);
    if (!conn) throw new Error(`no connection for server ${server}`);
    return conn.client;
  }

  /** Errors the SDK reported through client.onerror (unknown ids, stray progress...). */
  errors(server = "everything") {
    return this.conns.get(server)?.errors ?? [];
  }

  /** Every message sent ("out") and received ("in") on the connection to `server`. */
  wire(server = "everything") {
    return this.conns.get(server)?.wire ?? [];
  }

  /** Tail of mcpbraid's (or the direct server's) stderr, for diagnostics. */
  stderr(server = "everything") {
    return this.conns.get(server)?.stderr.text ?? "";
  }

  /** The name a tool or prompt of `server` has on the wire. */
  name(server, original) {
    return DIRECT ? original : `${server}${SEP}${original}`;
  }

  callTool(server, tool, args = {}, options = {}) {
    return this.client(server).callTool({ name: this.name(server, tool), arguments: args }, undefined, {
      timeout: REQUEST_TIMEOUT,
      ...options,
    });
  }

  /**
   * Every tool name visible to the client, draining pagination. In direct mode
   * the per-server lists are merged and given the mux's prefix, so callers can
   * assert on `<server>__<name>` in both modes.
   */
  async toolNames() {
    if (!DIRECT) return (await listAll(this.mux.client, "tools")).map((t) => t.name);
    const names = [];
    for (const server of this.servers) {
      for (const t of await listAll(this.client(server), "tools")) names.push(`${server}${SEP}${t.name}`);
    }
    return names;
  }

  async promptNames() {
    if (!DIRECT) return (await listAll(this.mux.client, "prompts")).map((p) => p.name);
    const names = [];
    for (const server of this.servers) {
      const caps = this.client(server).getServerCapabilities();
      if (!caps?.prompts) continue;
      for (const p of await listAll(this.client(server), "prompts")) names.push(`${server}${SEP}${p.name}`);
    }
    return names;
  }

  /**
   * Polls tools/list until every name in `wanted` (qualified `<server>__<name>`)
   * is present or `timeoutMs` passes; returns the last list seen.
   */
  async waitForTools(wanted, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const names = await this.toolNames();
      if (wanted.every((w) => names.includes(w)) || Date.now() >= deadline) return names;
      await sleep(100);
    }
  }

  /**
   * Closes every client (the SDK ends stdin, waits 2 s, SIGTERMs, waits 2 s,
   * SIGKILLs). Throws if mcpbraid crashed (a signal the SDK did not send) or
   * printed a sanitizer report, so an `after` hook fails the suite.
   */
  async close() {
    const seen = new Set();
    const problems = [];
    for (const [name, conn] of this.conns) {
      if (seen.has(conn)) continue;
      seen.add(conn);
      await conn.client.close().catch(() => {});
      const label = conn === this.mux ? "mcpbraid" : name;
      const deadline = Date.now() + 2000;
      while (!conn.exit.done && Date.now() < deadline) await sleep(20);
      const { signal } = conn.exit;
      if (signal && signal !== "SIGTERM" && signal !== "SIGKILL") {
        problems.push(`${label} died of ${signal}`);
      }
      const report = conn.stderr.text.match(SANITIZER_REPORT);
      if (report) {
        const from = Math.max(0, report.index - 200);
        problems.push(`${label} stderr has a sanitizer report:\n${conn.stderr.text.slice(from, from + 4000)}`);
      }
    }
    this.closed = [...seen].map((c) => ({ exit: { ...c.exit }, pid: c.pid }));
    this.conns.clear();
    this.tmp.cleanup();
    if (problems.length) throw new Error(problems.join("\n"));
  }
}

/** Drains a paginated list method: kind is tools | prompts | resources | resourceTemplates. */
export async function listAll(client, kind) {
  const method = {
    tools: ["listTools", "tools"],
    prompts: ["listPrompts", "prompts"],
    resources: ["listResources", "resources"],
    resourceTemplates: ["listResourceTemplates", "resourceTemplates"],
  }[kind];
  const items = [];
  let cursor;
  for (let page = 0; page < 100; page++) {
    const res = await client[method[0]](cursor ? { cursor } : {}, { timeout: REQUEST_TIMEOUT });
    items.push(...res[method[1]]);
    cursor = res.nextCursor;
    if (!cursor) return items;
  }
  throw new Error(`${kind}: more than 100 pages, pagination does not terminate`);
}

/** Pids whose parent is `pid`, from /proc. */
export function childrenOf(pid) {
  const kids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) kids.push(Number(entry));
    } catch {
      /* process went away while we looked */
    }
  }
  return kids;
}

/** Whether `pid` runs (a zombie has exited). */
export function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** All text content of a CallToolResult / GetPromptResult message list, joined. */
export function textOf(result) {
  return (result.content ?? [])
    .filter((c) => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

/** Runs `fn` and, if it throws, adds the session's stderr tail to the error. */
export async function withStderr(session, fn, server = "everything") {
  try {
    return await fn();
  } catch (err) {
    const tail = session?.stderr(server);
    if (tail && err && typeof err === "object" && !err.__stderrAdded) {
      err.__stderrAdded = true;
      const extra = `\n--- ${DIRECT ? server : "mcpbraid"} stderr (tail) ---\n${tail.slice(-3000)}`;
      try {
        err.message += extra;
      } catch {
        /* read-only message: leave as is */
      }
    }
    throw err;
  }
}

/**
 * `test` with the suite's timeout that appends the session's stderr tail to a
 * failure. `getSession` is called lazily (the session is opened in `before`).
 */
export function tester(getSession, server = "everything") {
  return (name, a, b) => {
    const [opts, fn] = typeof a === "function" ? [b ?? {}, a] : [a ?? {}, b];
    return test(name, { timeout: TEST_TIMEOUT, ...opts }, (t) => withStderr(getSession(), () => fn(t), server));
  };
}

/**
 * The last outgoing tools/call for `toolName` (and `args`, if given) on a wire log, with its id and
 * progress token, plus what came back for it: progress notifications, the
 * response, and the position of our notifications/cancelled (if any).
 */
export function traceCall(wire, toolName, args) {
  let reqIdx = -1;
  for (let i = wire.length - 1; i >= 0; i--) {
    const { dir, msg } = wire[i];
    if (
      dir === "out" &&
      msg.method === "tools/call" &&
      msg.params?.name === toolName &&
      (args === undefined || JSON.stringify(msg.params?.arguments) === JSON.stringify(args))
    ) {
      reqIdx = i;
      break;
    }
  }
  if (reqIdx < 0) throw new Error(`no tools/call ${toolName} on the wire`);
  const req = wire[reqIdx].msg;
  const token = req.params?._meta?.progressToken;
  const out = { id: req.id, reqAt: reqIdx, token, progress: [], responseAt: -1, cancelAt: -1, lateProgress: [], responses: [] };
  for (let i = reqIdx + 1; i < wire.length; i++) {
    const { dir, msg } = wire[i];
    if (dir === "out" && msg.method === "notifications/cancelled" && msg.params?.requestId === req.id) {
      out.cancelAt = i;
    } else if (dir === "in" && msg.method === "notifications/progress" && token !== undefined) {
      if (String(msg.params?.progressToken) !== String(token)) continue;
      out.progress.push({ at: i, ...msg.params });
      if (out.cancelAt >= 0 || out.responseAt >= 0) out.lateProgress.push(msg.params);
    } else if (dir === "in" && msg.method === undefined && msg.id === req.id) {
      out.responses.push({ at: i, msg });
      if (out.responseAt < 0) out.responseAt = i;
    }
  }
  return out;
}
