#!/usr/bin/env bash
# The whole test suite: set-up (apt packages, build, npm peers), a formatting
# check (.ci/format.sh), then unit,
# integration and interop tests with ctest, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer in a second build directory
# (MCPBRAID_SANITIZE=0 skips it), then every libFuzzer target for a bounded
# time (tests/fuzz/run.sh; MCPBRAID_FUZZ_SECONDS per target, default 30;
# MCPBRAID_FUZZ=0 skips it).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

bash "$root/.ci/setup.sh"
echo "== formatting (clang-format --dry-run -Werror)" >&2
bash "$root/.ci/format.sh"
echo "== tests (build)" >&2
(cd "$root/build" && ctest --output-on-failure -j"$jobs" --timeout 900)

if [ "${MCPBRAID_SANITIZE:-1}" = 1 ]; then
  echo "== tests under ASan+UBSan (build-asan)" >&2
  MCPBRAID_BUILD_DIR="$root/build-asan" MCPBRAID_SKIP_NPM=1 \
    MCPBRAID_CMAKE_ARGS="-DMCPBRAID_SANITIZE=ON" bash "$root/.ci/setup.sh"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  (cd "$root/build-asan" && ctest --output-on-failure -j"$jobs" --timeout 900)
fi

if [ "${MCPBRAID_FUZZ:-1}" != 0 ]; then
  echo "== fuzz pass (${MCPBRAID_FUZZ_SECONDS:-30}s per target)" >&2
  bash "$root/tests/fuzz/run.sh" "${MCPBRAID_FUZZ_SECONDS:-30}"
fi
