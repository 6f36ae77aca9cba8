#!/usr/bin/env bash
# Interop tests: the official MCP TypeScript SDK client drives mcpbraid in front of
# real MCP servers from npm (server-everything, server-memory, server-filesystem),
# all launched from ./node_modules (never npx).
#
#   tests/interop/run.sh path/to/mcpbraid [test files...]
#   MCPBRAID_BIN=path/to/mcpbraid tests/interop/run.sh
#   INTEROP_DIRECT=1 tests/interop/run.sh      # no mcpbraid: check the tests against the servers
#
# Env: INTEROP_STDERR=inherit shows mcpbraid's stderr live; INTEROP_TEST_TIMEOUT (ms, per test).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

bin="${1:-${MCPBRAID_BIN:-}}"
if [[ $# -gt 0 ]]; then shift; fi

if [[ "${INTEROP_DIRECT:-0}" != "1" ]]; then
  if [[ -z "$bin" ]]; then
    echo "usage: $0 path/to/mcpbraid [test files...]   (or set MCPBRAID_BIN, or INTEROP_DIRECT=1)" >&2
    exit 2
  fi
  if [[ "$bin" != /* ]]; then bin="$PWD/$bin"; fi
  if [[ ! -x "$bin" ]]; then
    echo "run.sh: mcpbraid binary not found or not executable: $bin" >&2
    exit 2
  fi
  export MCPBRAID_BIN="$bin"
fi

command -v node >/dev/null || { echo "run.sh: node is not installed" >&2; exit 2; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "run.sh: node >= 20 required (found $(node --version))" >&2
  exit 2
fi

cd "$here"

# Install exactly what package-lock.json pins, when node_modules is missing or stale.
if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi

if [[ $# -gt 0 ]]; then
  files=("$@")
else
  files=(./*.test.mjs)
fi

# A hard ceiling for the whole run, on top of the per-test timeouts.
exec timeout --kill-after=10 "${INTEROP_RUN_TIMEOUT:-600}" \
  node --test --test-concurrency=1 --test-timeout=120000 "${files[@]}"
