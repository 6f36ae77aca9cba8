#!/usr/bin/env bash
# Installs what mcpbraid needs to build and test on Debian, then builds it.
# Idempotent: packages already present are not reinstalled.
#   MCPBRAID_BUILD_DIR   build directory (default: build)
#   MCPBRAID_SKIP_NPM=1  do not install the npm test peers
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${MCPBRAID_BUILD_DIR:-$root/build}

packages=(g++ cmake make pkg-config python3 libcli11-dev nlohmann-json3-dev libspdlog-dev
          doctest-dev libasio-dev libcurl4-openssl-dev python3-hypothesis clang-format)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# nodejs/npm may come from elsewhere than Debian (a node tarball on PATH).
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi

echo "setup: building in $build" >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${MCPBRAID_CMAKE_ARGS:-} >&2
cmake --build "$build" -j"$(nproc)" >&2

if [ "${MCPBRAID_SKIP_NPM:-0}" != 1 ]; then
  interop="$root/tests/interop"
  if [ ! -d "$interop/node_modules" ] || [ "$interop/package-lock.json" -nt "$interop/node_modules" ]; then
    echo "setup: installing npm test peers (tests/interop/package-lock.json)" >&2
    (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error >&2 && touch node_modules)
  fi
fi
