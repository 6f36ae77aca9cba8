#!/usr/bin/env node
// Checks tests/data/search: every tools/*.json has "server" (unique, [a-z0-9_-]+),
// "source" and a "tools" array of named tools with unique names; queries.json is an
// array of {"query","server","tool"} whose (server, tool) exists; no duplicate queries.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const errors = [];
const servers = new Map();
let total = 0, bytes = 0;
for (const f of fs.readdirSync(path.join(here, "tools")).filter((f) => f.endsWith(".json")).sort()) {
  const p = path.join(here, "tools", f);
  bytes += fs.statSync(p).size;
  const d = JSON.parse(fs.readFileSync(p, "utf8"));
  if (typeof d.server !== "string" || !/^[a-z0-9_-]+$/.test(d.server)) errors.push(`${f}: bad server`);
  if (typeof d.source !== "string" || !d.source) errors.push(`${f}: no source`);
  if (!Array.isArray(d.tools) || d.tools.length === 0) { errors.push(`${f}: no tools`); continue; }
  if (f !== `${d.server}.json`) errors.push(`${f}: file name is not <server>.json`);
  if (servers.has(d.server)) errors.push(`${f}: server ${d.server} also in ${servers.get(d.server).file}`);
  const names = new Set();
  for (const t of d.tools) {
    if (typeof t.name !== "string") errors.push(`${f}: tool without name`);
    if (names.has(t.name)) errors.push(`${f}: duplicate tool ${t.name}`);
    names.add(t.name);
  }
  servers.set(d.server, { file: f, names });
  total += d.tools.length;
  console.log(`${d.server.padEnd(20)} ${String(d.tools.length).padStart(4)} tools  ${d.source}`);
}
const q = JSON.parse(fs.readFileSync(path.join(here, "queries.json"), "utf8"));
if (!Array.isArray(q)) errors.push("queries.json is not an array");
const seen = new Set(), per = {};
for (const [i, e] of q.entries()) {
  const keys = Object.keys(e).sort().join(",");
  if (keys !== "query,server,tool") errors.push(`query ${i}: keys ${keys}`);
  if (typeof e.query !== "string" || !e.query.trim()) errors.push(`query ${i}: empty`);
  if (seen.has(e.query)) errors.push(`query ${i}: duplicate "${e.query}"`);
  seen.add(e.query);
  const s = servers.get(e.server);
  if (!s) errors.push(`query ${i}: no server ${e.server}`);
  else if (!s.names.has(e.tool)) errors.push(`query ${i}: no tool ${e.server}/${e.tool}`);
  if (e.query.trim().toLowerCase() === String(e.tool).toLowerCase()) errors.push(`query ${i}: is the tool name`);
  per[e.server] = (per[e.server] || 0) + 1;
}
console.log(`${servers.size} servers, ${total} tools, ${(bytes / 1024).toFixed(0)} KiB; ${q.length} queries`, per);
if (bytes > 2 * 1024 * 1024) errors.push("tools/ is over 2 MB");
for (const e of errors) console.error("ERROR", e);
process.exit(errors.length ? 1 : 0);
