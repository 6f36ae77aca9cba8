#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz, each for SECONDS, from a scratch
# copy of its seed corpus (tests/fuzz/corpus/<target>/; the repository is
# never written to). Exits non-zero when any target finds a crash, a
# timeout, a leak or an out-of-memory, after printing the reproducer's path
# and the head of the report.
#
#   tests/fuzz/run.sh SECONDS [TARGET...]     (default: every target)
#
# Installs clang and libFuzzer with apt when they are missing (sudo when not
# root), then configures and builds build-fuzz/ (clang, -DMCPBRAID_FUZZ=ON).
#   MCPBRAID_FUZZ_BUILD_DIR   build directory (default: build-fuzz)
#   MCPBRAID_FUZZ_JOBS        targets run at the same time (default: nproc)
#   MCPBRAID_FUZZ_ARGS        extra libFuzzer flags for every target
# Reproduce a finding: build-fuzz/tests/fuzz/<target> <reproducer>
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
all_targets=(fuzz_line_splitter fuzz_envelope fuzz_id_rewriter fuzz_message fuzz_config
             fuzz_uri_template fuzz_sse)

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
  echo "usage: $0 SECONDS [TARGET...]   (targets: ${all_targets[*]})" >&2
  exit 2
fi
seconds=$1
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t" >&2; exit 2; }
done
build=${MCPBRAID_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${MCPBRAID_FUZZ_JOBS:-$(nproc)}

# Tools: clang and the libFuzzer runtime (plus what any build needs).
packages=(clang libfuzzer-14-dev cmake make nlohmann-json3-dev libspdlog-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null >&2
fi
cxx=$(command -v clang++ || command -v clang++-14 || true)
[ -n "$cxx" ] || { echo "fuzz: clang++ not found" >&2; exit 1; }

echo "== fuzz: building in $build" >&2
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER="$cxx" -DMCPBRAID_FUZZ=ON -DBUILD_TESTING=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo </dev/null >"$build/fuzz-configure.log" 2>&1 ||
  { cat "$build/fuzz-configure.log" >&2; exit 1; }
cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" </dev/null >&2

symbolizer=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
[ -z "$symbolizer" ] || export ASAN_SYMBOLIZER_PATH="$symbolizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

work="$build/fuzz-work"
mkdir -p "$work"

dict_of() {
  case $1 in
    fuzz_envelope | fuzz_id_rewriter | fuzz_message) echo json.dict ;;
    *) echo "${1#fuzz_}.dict" ;;
  esac
}

max_len_of() {
  case $1 in
    fuzz_config) echo 16384 ;;
    fuzz_uri_template) echo 2048 ;;
    *) echo 65536 ;;
  esac
}

# One target: scratch corpus, bounded run, log in $work/<target>.log.
run_one() {
  local t=$1 dir="$work/$1"
  rm -rf "$dir" "$dir.log" "$dir.rc"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  if [ -d "$root/tests/fuzz/corpus/$t" ]; then
    cp -r "$root/tests/fuzz/corpus/$t/." "$dir/corpus/"
  fi
  local dict=()
  local d="$root/tests/fuzz/dict/$(dict_of "$t")"
  [ -f "$d" ] && dict=(-dict="$d")
  # shellcheck disable=SC2086
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len_of "$t")" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "${dict[@]}" ${MCPBRAID_FUZZ_ARGS:-} "$dir/corpus" </dev/null >"$dir.log" 2>&1 ||
    return $?
}

echo "== fuzz: ${targets[*]} for ${seconds}s each, $jobs at a time" >&2
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  (rc=0; run_one "$t" || rc=$?; echo "$rc" >"$work/$t.rc") &
  running=$((running + 1))
done
wait

failed=()
for t in "${targets[@]}"; do
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
  log="$work/$t.log"
  # "#123 DONE cov: 456 ft: 789 corp: 12/3456b ... exec/s: 1000 rss: 50Mb"
  stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 || true)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t ok: ${stats:-no stats}" >&2
    continue
  fi
  failed+=("$t")
  echo "fuzz: $t FAILED (exit $rc), log $log" >&2
  for a in "$work/$t/artifacts"/*; do
    [ -e "$a" ] && echo "fuzz: $t reproducer: $a   (run: $build/tests/fuzz/$t $a)" >&2
  done
  # The report: from the first sanitizer/libFuzzer/invariant line on.
  start=$(grep -n -m1 -E '^==[0-9]+==|FUZZ_CHECK failed|runtime error:|^ALARM|libFuzzer: (deadly signal|timeout|out-of-memory)' "$log" | cut -d: -f1 || true)
  # Frames of libFuzzer, libc and the sanitizer runtime are left out.
  sed -n "${start:-1},\$p" "$log" |
    grep -v -E ' in (fuzzer::|__sanitizer_print_stack_trace|__libc_start|_start |raise |abort |__pthread_kill)|libc\.so|^NOTE: |^ +Combine libFuzzer' |
    head -24 | sed "s/^/  $t| /" >&2
  grep -m1 '^SUMMARY' "$log" | sed "s/^/  $t| /" >&2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}" >&2
else
  echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without findings" >&2
fi
# The plain closing line that CI reads.
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
