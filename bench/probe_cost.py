#!/usr/bin/env python3
"""What a 2026-07-28 client's throwaway discover probe costs (issue 14): the SDK v2
client starts a copy of the server for server/discover, then closes its stdin and
sends SIGTERM at once. Starts mcpbraid over server-everything and server-memory
(tests/interop/node_modules), five times: time to the discover answer, children
started, time to exit after SIGTERM, children left.
  python3 bench/probe_cost.py [path/to/mcpbraid]"""
import json, os, subprocess, sys, time, signal
node = subprocess.check_output(["which", "node"]).decode().strip()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bin_ = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "mcpbraid")
nm = os.path.join(root, "tests/interop/node_modules/@modelcontextprotocol")
cfg = {"mcpServers": {
  "everything": {"command": node, "args": [nm + "/server-everything/dist/index.js", "stdio"]},
  "memory": {"command": node, "args": [nm + "/server-memory/dist/index.js"], "env": {"MEMORY_FILE_PATH": "/tmp/mcpbraid-probe-memory.jsonl"}}}}
open("/tmp/mcpbraid-probe.json", "w").write(json.dumps(cfg))
req = {"jsonrpc": "2.0", "id": "server-discover-probe-1", "method": "server/discover", "params": {"_meta": {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "9"},
  "io.modelcontextprotocol/clientCapabilities": {}}}}
answers, exits = [], []
for i in range(5):
    t0 = time.monotonic()
    p = subprocess.Popen([bin_, "--config", "/tmp/mcpbraid-probe.json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdin.write((json.dumps(req) + "\n").encode()); p.stdin.flush()
    line = p.stdout.readline()
    t1 = time.monotonic()
    kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split()
    # what the v2 client does: stdin closed and SIGTERM at once
    p.stdin.close(); p.send_signal(signal.SIGTERM)
    p.wait(5)
    t2 = time.monotonic()
    time.sleep(0.2)
    alive = [k for k in kids if os.path.exists("/proc/" + k)]
    r = json.loads(line)["result"]
    answers.append((t1 - t0) * 1000); exits.append((t2 - t1) * 1000)
    print("discover %.0f ms, children %d, exit after SIGTERM %.0f ms, left %d, caps %s" % ((t1-t0)*1000, len(kids), (t2-t1)*1000, len(alive), sorted(r["capabilities"])))
print("median discover %.0f ms, median exit %.0f ms" % (sorted(answers)[2], sorted(exits)[2]))
