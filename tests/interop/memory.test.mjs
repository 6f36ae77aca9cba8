// server-memory through mcpbraid: the config's env reaches the server
// (MEMORY_FILE_PATH), tools round-trip, resource subscriptions are routed.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe } from "node:test";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { REQUEST_TIMEOUT, Session, listAll, sleep, tester, textOf } from "./harness.mjs";

const GRAPH_URI = "memory://knowledge-graph";

describe("server-memory through mcpbraid", () => {
  let s;
  let memoryFile;
  const updates = [];
  const tag = `interop-${process.pid}-${Date.now()}`;
  const entities = [
    { name: `${tag}-alice`, entityType: "person", observations: ["writes C++", "likes multiplexers"] },
    { name: `${tag}-mcpbraid`, entityType: "program", observations: ["speaks MCP on stdio"] },
  ];

  before(
    async () => {
      s = await Session.open({ servers: ["everything", "memory"] });
      memoryFile = join(s.dir, "memory.jsonl"); // serverDefs' default MEMORY_FILE_PATH
      s.client("memory").setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updates.push(n.params);
      });
      await listAll(s.client("memory"), "tools"); // lets the SDK validate structuredContent
    },
    { timeout: 30_000 },
  );
  after(async () => s?.close());
  const it = tester(() => s, "memory");

  it("create_entities then read_graph returns them", async () => {
    const created = await s.callTool("memory", "create_entities", { entities });
    assert.ok(!created.isError, `isError: ${JSON.stringify(created)}`);
    assert.deepEqual(created.structuredContent?.entities, entities);
    assert.deepEqual(JSON.parse(textOf(created)), entities);

    const graph = await s.callTool("memory", "read_graph", {});
    assert.ok(!graph.isError, `isError: ${JSON.stringify(graph)}`);
    for (const e of entities) {
      const found = graph.structuredContent.entities.find((x) => x.name === e.name);
      assert.deepEqual(found, e, `entity ${e.name} not in read_graph: ${textOf(graph)}`);
    }
  });

  it("the server used MEMORY_FILE_PATH from the config's env", async () => {
    assert.ok(existsSync(memoryFile), `no memory file at ${memoryFile}: the env did not reach server-memory`);
    const text = readFileSync(memoryFile, "utf8");
    assert.ok(text.includes(`${tag}-alice`), `memory file lacks the entity:\n${text}`);
  });

  it("create_relations and search_nodes round-trip", async () => {
    const relation = { from: `${tag}-alice`, to: `${tag}-mcpbraid`, relationType: "maintains" };
    const rel = await s.callTool("memory", "create_relations", { relations: [relation] });
    assert.ok(!rel.isError, `isError: ${JSON.stringify(rel)}`);
    const found = await s.callTool("memory", "search_nodes", { query: "multiplexers" });
    assert.ok(!found.isError, `isError: ${JSON.stringify(found)}`);
    assert.deepEqual(
      found.structuredContent.entities.map((e) => e.name),
      [`${tag}-alice`],
    );
    const graph = JSON.parse(
      (await s.client("memory").readResource({ uri: GRAPH_URI }, { timeout: REQUEST_TIMEOUT })).contents[0].text,
    );
    assert.ok(
      graph.relations.some((r) => r.from === relation.from && r.relationType === "maintains"),
      JSON.stringify(graph),
    );
  });

  it("resources/subscribe on memory://knowledge-graph delivers resources/updated", async () => {
    await s.client("memory").subscribeResource({ uri: GRAPH_URI }, { timeout: REQUEST_TIMEOUT });
    const before = updates.length;
    const res = await s.callTool("memory", "add_observations", {
      observations: [{ entityName: `${tag}-mcpbraid`, contents: ["routes subscriptions"] }],
    });
    assert.ok(!res.isError, `isError: ${JSON.stringify(res)}`);
    const deadline = Date.now() + 3000;
    while (updates.length === before && Date.now() < deadline) await sleep(50);
    assert.ok(updates.length > before, "no notifications/resources/updated within 3 s");
    assert.equal(updates.at(-1).uri, GRAPH_URI);
    await s.client("memory").unsubscribeResource({ uri: GRAPH_URI }, { timeout: REQUEST_TIMEOUT });
  });
});
