// server-filesystem through mcpbraid, next to server-everything. With a roots
// client, both servers ask for roots/list right after `initialized` (each with
// its own id 0), so mcpbraid must keep the two requests apart.

import assert from "node:assert/strict";
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe } from "node:test";
import { SEP, Session, listAll, makeTempDir, serverDefs, sleep, tester, textOf } from "./harness.mjs";

function makeTree(dir, label) {
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "hello.txt"), `hello from ${label}\nsecond line\n`);
  writeFileSync(join(dir, "sub", "nested.md"), `# nested ${label}\n`);
}

describe("server-filesystem, client without roots", () => {
  let s;
  let tmp;
  before(
    async () => {
      tmp = makeTempDir("mcpbraid-interop-fs-");
      const dir = realpathSync(tmp.dir);
      makeTree(dir, "args");
      s = await Session.open({
        servers: ["everything", "filesystem"],
        defs: { filesystem: serverDefs(dir, { filesystemDirs: [dir] }).filesystem },
      });
      s.fsDir = dir;
      await listAll(s.client("filesystem"), "tools");
    },
    { timeout: 30_000 },
  );
  after(async () => {
    await s?.close();
    tmp?.cleanup();
  });
  const it = tester(() => s, "filesystem");

  it("list_directory shows the temp dir's entries", async () => {
    const res = await s.callTool("filesystem", "list_directory", { path: s.fsDir });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const lines = textOf(res).split("\n").sort();
    assert.deepEqual(lines, ["[DIR] sub", "[FILE] hello.txt"]);
  });

  it("read_text_file returns a file's text (and head works)", async () => {
    const res = await s.callTool("filesystem", "read_text_file", { path: join(s.fsDir, "hello.txt") });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    assert.equal(textOf(res), "hello from args\nsecond line\n");
    const head = await s.callTool("filesystem", "read_text_file", { path: join(s.fsDir, "hello.txt"), head: 1 });
    assert.equal(textOf(head), "hello from args");
  });

  it("a path outside the allowed directory is refused as a tool error", async () => {
    const res = await s.callTool("filesystem", "read_text_file", { path: "/etc/hostname" });
    assert.equal(res.isError, true, `read outside allowed dirs: ${JSON.stringify(res)}`);
  });
});

describe("server-filesystem, client with roots (two servers ask roots/list at once)", () => {
  let s;
  let argsTmp;
  let rootTmp;
  let rootsCalls = 0;
  let currentRoot; // what the roots handler answers; the last test moves it
  before(
    async () => {
      argsTmp = makeTempDir("mcpbraid-interop-fsargs-");
      rootTmp = makeTempDir("mcpbraid-interop-fsroot-");
      const argsDir = realpathSync(argsTmp.dir);
      const rootDir = realpathSync(rootTmp.dir);
      makeTree(argsDir, "args");
      makeTree(rootDir, "root");
      s = await Session.open({
        servers: ["everything", "filesystem"],
        capabilities: { roots: { listChanged: true } },
        handlers: {
          roots: async () => {
            rootsCalls++;
            return { roots: [{ uri: pathToFileURL(currentRoot ?? rootDir).href, name: "interop-fs-root" }] };
          },
        },
        defs: { filesystem: serverDefs(argsDir, { filesystemDirs: [argsDir] }).filesystem },
      });
      s.rootDir = rootDir;
      s.argsDir = argsDir;
      await listAll(s.client("filesystem"), "tools");
    },
    { timeout: 30_000 },
  );
  after(async () => {
    await s?.close();
    argsTmp?.cleanup();
    rootTmp?.cleanup();
  });
  const it = tester(() => s, "filesystem");

  it("server-filesystem switches its allowed directories to the client's root", async () => {
    // server-filesystem asks for roots in its oninitialized hook; give it up to 3 s.
    let text = "";
    const deadline = Date.now() + 3000;
    do {
      const res = await s.callTool("filesystem", "list_allowed_directories", {});
      text = textOf(res);
      if (text.includes(s.rootDir)) break;
      await sleep(100);
    } while (Date.now() < deadline);
    assert.ok(text.includes(s.rootDir), `allowed directories never became the client's root:\n${text}`);
    const res = await s.callTool("filesystem", "read_text_file", { path: join(s.rootDir, "hello.txt") });
    assert.equal(textOf(res), "hello from root\nsecond line\n");
  });

  it("server-everything got the same roots (its roots/list was answered too)", async () => {
    const names = await s.waitForTools([`everything${SEP}get-roots-list`], 3000);
    assert.ok(names.includes(`everything${SEP}get-roots-list`), `get-roots-list missing: ${JSON.stringify(names)}`);
    const res = await s.callTool("everything", "get-roots-list", {});
    assert.ok(textOf(res).includes(pathToFileURL(s.rootDir).href), textOf(res));
    // mcpbraid may forward each roots/list or answer from a cache: both are fine.
    assert.ok(rootsCalls >= 1, "the client's roots/list handler was never called");
  });

  it("notifications/roots/list_changed reaches server-filesystem, which re-reads the roots", async () => {
    const moved = join(s.rootDir, "sub");
    currentRoot = moved;
    await s.client("filesystem").sendRootsListChanged();
    let text = "";
    const deadline = Date.now() + 3000;
    do {
      text = textOf(await s.callTool("filesystem", "list_allowed_directories", {}));
      if (text.split("\n").includes(moved)) break;
      await sleep(100);
    } while (Date.now() < deadline);
    assert.ok(text.split("\n").includes(moved), `allowed directories did not follow the new root:\n${text}`);
    const res = await s.callTool("filesystem", "list_directory", { path: moved });
    assert.equal(textOf(res), "[FILE] nested.md");
  });
});
