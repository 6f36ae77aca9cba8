#!/usr/bin/env bash
# The main job: mcpbraid in front of the example servers of examples/mcpbraid.json
# (server-everything, server-memory, server-filesystem from npm).
# Sets everything up first (apt packages, build, npm peers).
#   stdin a terminal: runs a short scripted session and prints the answers;
#   stdin a pipe:     serves it, like an editor would (`... | bash examples/demo.sh`).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/.ci/setup.sh"
mcpbraid=("$root/build/mcpbraid" --config "$root/examples/mcpbraid.json")

if [ -t 0 ]; then
  echo "demo: a scripted session (pipe your own JSON-RPC lines into this script to drive it)" >&2
  printf '%s\n' \
    '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"demo","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"hello through mcpbraid"}}}' \
    '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"everything__get-sum","arguments":{"a":2,"b":3}}}' \
    '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"memory__read_graph","arguments":{}}}' \
    '{"jsonrpc":"2.0","id":6,"method":"prompts/list"}' \
    | "${mcpbraid[@]}"
else
  exec "${mcpbraid[@]}"
fi
