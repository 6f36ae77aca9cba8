#!/usr/bin/env bash
# run.sh — the mcpbraid benchmark: every figure measured directly against the
# bench server and through mcpbraid in the same run, interleaved over several
# rounds; prints the medians, their ratio and the targets of issue 5.
#
# Builds nothing: it runs the programs of an existing build (see --help).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash bench/run.sh [options]

  --build-dir DIR   the build to measure (default $MCPBRAID_BUILD_DIR, else build/ next to bench/)
  --mcpbraid FILE     the mcpbraid binary (default DIR/mcpbraid)
  --server FILE     the bench server (default DIR/bench/mcpbraid_bench_server)
  --load FILE       the load client (default DIR/bench/mcpbraid_bench_load)
  --rounds N        rounds of every figure; medians are reported (default 3; 1 with --quick)
  --cpus LIST       pin every process to these CPUs (taskset -c LIST; 0 = all on one core)
  --quick           small counts, for a smoke test (about 20 s)
  --only LIST       only these figures, comma-separated: latency, latency_one_cpu,
                    throughput, payload, startup, idle_rss, list, inflight (default all)
  --json            print one JSON object instead of the table
  --keep            keep the temp dir (configs, mcpbraid's stderr) and print its path
  --search-data DIR the retrieval data set of the search index (default tests/data/search;
                    no recall figures when it is missing)
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${MCPBRAID_BUILD_DIR:-$here/../build}
mcpbraid="" server="" load="" rounds="" only="" pin="" quick=0 json=0 keep=0
search_data=$here/../tests/data/search

while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift ;;
    --mcpbraid) mcpbraid=$2; shift ;;
    --server) server=$2; shift ;;
    --load) load=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    --cpus) pin=$2; shift ;;
    --quick) quick=1 ;;
    --json) json=1 ;;
    --keep) keep=1 ;;
    --search-data) search_data=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

# Absolute paths: the configs name the server, and mcpbraid may run elsewhere.
absolute() { realpath -m -- "$1"; }
mcpbraid=$(absolute "${mcpbraid:-$build_dir/mcpbraid}")
server=$(absolute "${server:-$build_dir/bench/mcpbraid_bench_server}")
load=$(absolute "${load:-$build_dir/bench/mcpbraid_bench_load}")
for program in "$mcpbraid" "$server" "$load"; do
  if [[ ! -x $program ]]; then
    echo "run.sh: $program is missing; build first:" >&2
    echo "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j" >&2
    exit 2
  fi
done

# ------------------------------------------------------------------ counts

if ((quick)); then
  rounds=${rounds:-1}
  latency_calls=2000 throughput_calls=10000 payload_bytes=1048576 payload_calls=5
  settle_ms=200 list_calls=5 inflight=2000 sleep_ms=3000 # margin for a loaded CI machine
else
  rounds=${rounds:-3}
  latency_calls=20000 throughput_calls=100000 payload_bytes=8388608 payload_calls=20
  settle_ms=1000 list_calls=9 inflight=10000 sleep_ms=3000
fi
inflight_window=64 start_backends=20 start_delay_ms=300
many_tools=10000 tools_backends=10
builtin_tools=4 # echo, blob, sleep, touch

date_utc=$(date -u '+%Y-%m-%d %H:%M UTC') # when the run started
load_avg=$(cut -d ' ' -f 1-3 /proc/loadavg) # anything else running skews every figure

work=$(mktemp -d "${TMPDIR:-/tmp}/mcpbraid-bench.XXXXXX")
if ((keep)); then
  echo "run.sh: keeping $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi

# ----------------------------------------------------------------- configs

# write_config FILE COUNT FAILSAFE_JSON [SERVER_ARGS...]: COUNT bench servers,
# named "bench" when alone (tools bench__echo, ...), else b000, b001, ...
write_config() {
  local file=$1 count=$2 failsafe=$3 args="" arg name i
  shift 3
  for arg in "$@"; do args+="${args:+, }\"$arg\""; done
  {
    echo "{"
    [[ -n $failsafe ]] && echo "  \"failsafe\": $failsafe,"
    echo "  \"mcpServers\": {"
    for ((i = 0; i < count; i++)); do
      if ((count == 1)); then name=bench; else printf -v name 'b%03d' "$i"; fi
      printf '    "%s": {"command": "%s", "args": [%s]}%s\n' \
        "$name" "$server" "$args" "$( ((i + 1 < count)) && echo ,)"
    done
    echo "  }"
    echo "}"
  } >"$file"
}

write_config "$work/one.json" 1 ""
write_config "$work/start.json" "$start_backends" "" --start-delay-ms "$start_delay_ms"
write_config "$work/idle20.json" 20 ""
write_config "$work/idle100.json" 100 ""
write_config "$work/tools.json" "$tools_backends" "" --tools $((many_tools / tools_backends))
# Every call of the in-flight figure must be admitted: raise max_in_flight
# (default 64) above the burst, and the deadline above the sleep.
write_config "$work/inflight.json" 1 "{\"max_in_flight\": $((inflight + 1)), \"timeout\": \"120s\"}"

# ------------------------------------------------------------------ running

log=$work/load.log # the load client's complaints
mux_log=$work/mcpbraid.log # mcpbraid's stderr (info level), appended run after run

# field JSON KEY: a number of a flat JSON object.
field() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9.eE+]*\).*/\1/p" <<<"$1"; }
nonzero() { local value; value=$(field "$1" "$2"); [[ -n $value && $value != 0 ]]; }

# run_load SIDE SCENARIO CONFIG SERVER_ARGS [LOAD_OPTIONS...]: one scenario,
# directly (SIDE=direct: the bench server with SERVER_ARGS) or through mcpbraid
# (SIDE=mcpbraid: over CONFIG); prints the result line.  Any failed call makes
# the figure meaningless, so it stops the run.
run_load() {
  local side=$1 scenario=$2 config=$3 server_args=$4 result
  shift 4
  local -a command pinning=()
  local cpus=${run_cpus:-$pin} # run_cpus: a figure's own pinning (a local of the caller)
  [[ -n $cpus ]] && pinning=(taskset -c "$cpus") # inherited by the children
  if [[ $side == direct ]]; then
    # shellcheck disable=SC2206 # server_args is a list of words
    command=("$server" $server_args)
  else
    command=("$mcpbraid" --log-level info -c "$config")
    set -- --prefix bench__ --count-only __ "$@" # mcpbraid's own tools have no "__"
  fi
  if ! result=$("${pinning[@]}" "$load" "$scenario" --child-stderr "$mux_log" "$@" \
    -- "${command[@]}" 2>>"$log"); then
    echo "run.sh: $scenario ($side) failed:" >&2
    tail -n 5 "$log" >&2
    echo "--- last lines of mcpbraid's stderr:" >&2
    tail -n 10 "$mux_log" >&2 || true
    exit 1
  fi
  if nonzero "$result" errors || nonzero "$result" early_answers; then
    echo "run.sh: $scenario ($side) had failed or early answers: $result" >&2
    tail -n 10 "$mux_log" >&2 || true
    exit 1
  fi
  printf '%s\n' "$result"
}

declare -A samples # "figure.side" -> space-separated values, one per round

add() { samples[$1]+="${samples[$1]:+ }$2"; }

# One function per figure, taking the side; each records its samples.

fig_latency() {
  local r
  r=$(run_load "$1" latency "$work/one.json" "" --calls "$latency_calls")
  add "latency_p50_us.$1" "$(field "$r" p50_us)"
  add "latency_p99_us.$1" "$(field "$r" p99_us)"
  add "latency_cpu_us_per_call.$1" "$(field "$r" cpu_us_per_call)"
}

# The same with client, mcpbraid and server on one CPU: no wake-up crosses
# CPUs, so the figure is what the processes spend, not what the machine's
# wake-ups cost (tens of us per hop between idle vCPUs of a VM).
fig_latency_one_cpu() {
  local r run_cpus=0
  r=$(run_load "$1" latency "$work/one.json" "" --calls "$latency_calls")
  add "latency_1cpu_p50_us.$1" "$(field "$r" p50_us)"
  add "latency_1cpu_p99_us.$1" "$(field "$r" p99_us)"
}

fig_throughput() {
  local r
  r=$(run_load "$1" throughput "$work/one.json" "" \
    --calls "$throughput_calls" --inflight "$inflight_window")
  add "throughput_calls_per_s.$1" "$(field "$r" calls_per_s)"
  add "throughput_cpu_us_per_call.$1" "$(field "$r" cpu_us_per_call)"
}

# The same window, refilled in batches: every answer available is read before
# the next requests go out in one write. Kinder to both ends (fewer wake-ups
# and syscalls per call); a second, labelled figure, not the target.
fig_throughput_batched() {
  local r
  r=$(run_load "$1" throughput-batched "$work/one.json" "" \
    --calls "$throughput_calls" --inflight "$inflight_window")
  add "throughput_batched_calls_per_s.$1" "$(field "$r" calls_per_s)"
}

fig_payload() {
  local r
  r=$(run_load "$1" payload "$work/one.json" "" --bytes "$payload_bytes" --calls "$payload_calls")
  add "payload_mb_per_s.$1" "$(field "$r" mb_per_s)"
  add "payload_cpu_us_per_call.$1" "$(field "$r" cpu_us_per_call)"
}

# Directly: one server starting in 300 ms; through mcpbraid: twenty of them.
fig_startup() {
  local r expect=$builtin_tools
  [[ $1 == mcpbraid ]] && expect=$((start_backends * builtin_tools))
  r=$(run_load "$1" startup "$work/start.json" "--start-delay-ms $start_delay_ms" \
    --expect-tools "$expect")
  add "startup_ms.$1" "$(field "$r" ready_ms)"
  add "startup_init_ms.$1" "$(field "$r" init_ms)"
}

# Directly: the bench server's own RSS, as a yardstick; through mcpbraid: mcpbraid
# itself (not its children) with 1, 20 and 100 idle backends.
fig_idle_rss() {
  local r
  if [[ $1 == direct ]]; then
    r=$(run_load direct idle-rss "" "" --settle-ms "$settle_ms")
    add "rss_idle_server_kib.direct" "$(field "$r" rss_kib)"
    return
  fi
  local config count
  for count in 1 20 100; do
    config=$work/idle$count.json
    ((count == 1)) && config=$work/one.json
    r=$(run_load mcpbraid idle-rss "$config" "" --settle-ms "$settle_ms")
    add "rss_idle_${count}_kib.mcpbraid" "$(field "$r" rss_kib)"
  done
}

# Directly: one server listing 10,000 tools; through mcpbraid: 10 x 1,000.
fig_list() {
  local r expect=$((many_tools + builtin_tools))
  [[ $1 == mcpbraid ]] && expect=$((many_tools + tools_backends * builtin_tools))
  r=$(run_load "$1" list "$work/tools.json" "--tools $many_tools" \
    --calls "$list_calls" --expect-tools "$expect")
  add "list_10k_tools_us.$1" "$(field "$r" median_us)"
}

# The same, each list the first after the tools changed (the server's touch
# tool sends list_changed): through mcpbraid, b000 changes, so the merged
# list is fetched and rendered again, not served from its cache.
fig_list_changed() {
  local r expect=$((many_tools + builtin_tools)) prefix=""
  if [[ $1 == mcpbraid ]]; then
    expect=$((many_tools + tools_backends * builtin_tools))
    prefix=b000__
  fi
  r=$(run_load "$1" list-changed "$work/tools.json" "--tools $many_tools" \
    --calls "$list_calls" --expect-tools "$expect" --prefix "$prefix")
  add "list_changed_10k_tools_us.$1" "$(field "$r" median_us)"
}

fig_inflight() {
  local r
  r=$(run_load "$1" inflight-mem "$work/inflight.json" "" \
    --inflight "$inflight" --sleep-ms "$sleep_ms")
  add "inflight_rss_kib.$1" "$(field "$r" rss_kib)"
  add "inflight_bytes_per_request.$1" "$(field "$r" bytes_per_request)"
}

figures=(fig_latency fig_latency_one_cpu fig_throughput fig_throughput_batched fig_payload fig_startup fig_idle_rss
  fig_list fig_list_changed fig_inflight)
# Pinned by --cpus, the plain latency figure is the one-CPU figure already.
[[ -n $pin ]] && figures=("${figures[@]/fig_latency_one_cpu/}")
if [[ -n $only ]]; then
  IFS=, read -ra names <<<"$only"
  figures=()
  for name in "${names[@]}"; do
    if ! declare -F "fig_$name" >/dev/null; then echo "run.sh: no figure '$name'" >&2; exit 2; fi
    figures+=("fig_$name")
  done
fi
for ((round = 1; round <= rounds; round++)); do
  # Alternate who goes first, so a drift (thermal, cache, a neighbour) does
  # not always favour the same side.
  sides=(direct mcpbraid)
  ((round % 2 == 0)) && sides=(mcpbraid direct)
  for figure in "${figures[@]}"; do
    echo "run.sh: round $round/$rounds: ${figure#fig_}" >&2
    [[ -z $figure ]] && continue
    for side in "${sides[@]}"; do "$figure" "$side"; done
  done
done

# ----------------------------------------------------------------- results

median() { tr ' ' '\n' <<<"$1" | sort -g | awk '{v[NR] = $1}
  END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# calc EXPR: awk arithmetic, printed with at most 2 decimals.
calc() { awk "BEGIN { printf \"%.2f\", $1 }" | sed 's/\.\{0,1\}0*$//'; }

m() { median "${samples[$1]:-}"; }
measured() { [[ -n ${samples[$1.direct]:-}${samples[$1.mcpbraid]:-} ]]; }

# Empty in, empty out: a figure that was not measured (--only) stays blank.
kib_to_mib() { if [[ -n $1 ]]; then calc "$1 / 1024"; fi; }
ratio() { if [[ -n $1 && -n $2 && $1 != 0 ]]; then calc "$2 / $1"; fi; }
times() { if [[ -n $1 && -n $2 && $1 != 0 ]]; then awk "BEGIN { printf \"%.2fx\", $2 / $1 }"; fi; }
difference() { if [[ -n $1 && -n $2 ]]; then calc "$2 - $1"; fi; }
# met CONDITION: "met" or "NOT met"; empty when an operand is missing (awk
# then fails on the syntax, status 2).
met() {
  local status=0
  awk "BEGIN { exit !($1) }" 2>/dev/null || status=$?
  case $status in 0) echo met ;; 1) echo "NOT met" ;; esac
}

lat_d=$(m latency_p50_us.direct) lat_m=$(m latency_p50_us.mcpbraid)
tput_d=$(m throughput_calls_per_s.direct) tput_m=$(m throughput_calls_per_s.mcpbraid)
pay_d=$(m payload_mb_per_s.direct) pay_m=$(m payload_mb_per_s.mcpbraid)
start_m=$(m startup_ms.mcpbraid) rss20=$(m rss_idle_20_kib.mcpbraid)
added_p50=$(difference "$lat_d" "$lat_m")
added_p50_1cpu=$(difference "$(m latency_1cpu_p50_us.direct)" "$(m latency_1cpu_p50_us.mcpbraid)")
tput_ratio=$(ratio "$tput_d" "$tput_m") pay_ratio=$(ratio "$pay_d" "$pay_m")

# Tracing + health recording per request at info level: CPU only, no peers.
overhead_bin=$(dirname "$load")/mcpbraid_bench_overhead
overhead_ns=""
if [[ -x $overhead_bin ]]; then
  overhead_ns=$(field "$("$overhead_bin" $( ((quick)) && echo 200000))" ns_per_request)
fi
met_overhead=""
[[ -n $overhead_ns ]] && met_overhead=$(met "$overhead_ns < 1000")

# The search index of search mode: query time over 10,000 tools and recall on
# the data set; CPU only, no peers. Its summary lines follow the table.
search_bin=$(dirname "$load")/mcpbraid_bench_search
search_lines="" search_p50="" search_p99="" recall1="" recall5=""
if [[ -x $search_bin ]]; then
  search_args=()
  [[ -d $search_data ]] && search_args=(--data "$search_data")
  search_lines=$("$search_bin" "${search_args[@]}" | grep -E '^(search|recall)' || true)
  search_p50=$(sed -n 's/^search [0-9]* tools: p50 \([0-9.]*\) us.*/\1/p' <<<"$search_lines")
  search_p99=$(sed -n 's/^search [0-9]* tools: .*p99 \([0-9.]*\) us.*/\1/p' <<<"$search_lines")
  recall1=$(sed -n 's/^recall@1 \([0-9.]*\) .*/\1/p' <<<"$search_lines")
  recall5=$(sed -n 's/^recall@1 .* recall@5 \([0-9.]*\) .*/\1/p' <<<"$search_lines")
fi

met_latency=$(met "$added_p50 <= 10")
met_latency_1cpu=$(met "$added_p50_1cpu <= 15")
met_tput=$(met "$tput_ratio >= 0.5")
met_payload=$(met "$pay_ratio >= 0.6")
met_start=$(met "$start_m < 1500")
list_ratio=$(ratio "$(m list_10k_tools_us.direct)" "$(m list_10k_tools_us.mcpbraid)")
list_changed_ratio=$(ratio "$(m list_changed_10k_tools_us.direct)" \
  "$(m list_changed_10k_tools_us.mcpbraid)")
met_list=$(met "$list_ratio <= 1.5")
met_list_changed=$(met "$list_changed_ratio <= 1.5")
inflight_bytes=$(m inflight_bytes_per_request.mcpbraid)
met_inflight=$(met "$inflight_bytes <= 300")
met_rss=$(met "$rss20 < 16 * 1024")

cpus=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cpu_model=${cpu_model:-unknown}
version=$("$mcpbraid" --version 2>/dev/null | awk '{print $NF}')
payload_label="payload $((payload_bytes / 1048576)) MiB"
((payload_bytes < 1048576)) && payload_label="payload $payload_bytes B"

names=(latency_p50_us latency_p99_us latency_cpu_us_per_call latency_1cpu_p50_us
  latency_1cpu_p99_us throughput_calls_per_s throughput_batched_calls_per_s
  throughput_cpu_us_per_call payload_mb_per_s payload_cpu_us_per_call startup_ms startup_init_ms
  rss_idle_server_kib rss_idle_1_kib rss_idle_20_kib rss_idle_100_kib list_10k_tools_us list_changed_10k_tools_us
  inflight_rss_kib inflight_bytes_per_request)

jnum() { echo "${1:-null}"; }

# "NAME": {"direct": median, "direct_rounds": [...], "mcpbraid": ..., ...}
figure_json() {
  local name=$1 side sep=""
  local out="\"$name\": {"
  for side in direct mcpbraid; do
    [[ -z ${samples[$name.$side]:-} ]] && continue
    out+="$sep\"$side\": $(m "$name.$side"), \"${side}_rounds\": [${samples[$name.$side]// /, }]"
    sep=", "
  done
  printf '%s}' "$out"
}

# target_json TARGET VALUE MET
target_json() {
  local met=null
  [[ $3 == met ]] && met=true
  [[ $3 == "NOT met" ]] && met=false
  printf '{"target": "%s", "value": %s, "met": %s}' "$1" "$(jnum "$2")" "$met"
}

print_json() {
  local name body=""
  for name in "${names[@]}"; do
    if measured "$name"; then body+="${body:+, }$(figure_json "$name")"; fi
  done
  cat <<EOF
{"date": "$date_utc", "nproc": $cpus, "cpu": "$cpu_model", "load_average": "$load_avg",
 "mcpbraid_version": "$version", "mcpbraid": "$mcpbraid", "pinned_cpus": "$pin",
 "rounds": $rounds, "quick": $( ((quick)) && echo true || echo false),
 "counts": {"latency_calls": $latency_calls, "throughput_calls": $throughput_calls,
  "inflight_window": $inflight_window, "payload_bytes": $payload_bytes,
  "payload_calls": $payload_calls, "start_backends": $start_backends,
  "start_delay_ms": $start_delay_ms, "tools": $many_tools, "inflight": $inflight},
 "figures": {$body},
 "added_p50_us": $(jnum "$added_p50"), "added_p50_one_cpu_us": $(jnum "$added_p50_1cpu"),
 "throughput_ratio": $(jnum "$tput_ratio"), "payload_ratio": $(jnum "$pay_ratio"),
 "search_10k_tools_us": {"p50": $(jnum "$search_p50"), "p99": $(jnum "$search_p99")},
 "search_recall": {"at1": $(jnum "$recall1"), "at5": $(jnum "$recall5")},
 "targets": {
  "added_p50_latency": $(target_json "<= 10 us" "$added_p50" "$met_latency"),
  "added_p50_latency_one_cpu": $(target_json "<= 15 us" "$added_p50_1cpu" "$met_latency_1cpu"),
  "throughput": $(target_json ">= 50% of direct" "$tput_ratio" "$met_tput"),
  "payload": $(target_json ">= 60% of direct" "$pay_ratio" "$met_payload"),
  "startup_20x300ms": $(target_json "< 1500 ms" "$start_m" "$met_start"),
  "rss_20_idle_backends": $(target_json "< 16 MiB" "$(kib_to_mib "$rss20")" "$met_rss"),
  "tools_list_10k": $(target_json "<= 1.5x direct" "$list_ratio" "$met_list"),
  "tools_list_10k_after_change": $(target_json "<= 1.5x direct" "$list_changed_ratio" "$met_list_changed"),
  "bytes_per_call_in_flight": $(target_json "<= 300 B" "$inflight_bytes" "$met_inflight"),
  "tracing_health_per_request_ns": $(target_json "< 1000 ns" "$overhead_ns" "$met_overhead")}}
EOF
}

row() { printf '| %-34s | %9s | %9s | %6s | %-16s | %-7s |\n' "$@"; }

# figure_row LABEL NAME [TARGET MET [DIVISOR]]: both medians (divided, for a
# unit change) and their ratio; no row when the figure was not measured.
figure_row() {
  measured "$2" || return 0
  local direct mux divisor=${5:-1}
  direct=$(m "$2.direct") mux=$(m "$2.mcpbraid")
  [[ -n $direct ]] && direct=$(calc "$direct / $divisor")
  [[ -n $mux ]] && mux=$(calc "$mux / $divisor")
  row "$1" "$direct" "$mux" "$(times "$direct" "$mux")" "${3:-}" "${4:-}"
}

print_table() {
  echo "mcpbraid benchmark, $date_utc"
  echo "machine: $cpus x $cpu_model, load average $load_avg at start${pin:+; pinned to CPUs $pin}"
  echo "mcpbraid $version: $mcpbraid"
  echo "$rounds round(s), direct and mcpbraid interleaved; medians; ratio = mcpbraid / direct"
  echo
  row figure direct mcpbraid ratio target "met?"
  echo "|------------------------------------|-----------|-----------|--------|------------------|---------|"
  figure_row "latency p50, us" latency_p50_us
  figure_row "latency p99, us" latency_p99_us
  if measured latency_p50_us; then
    row "added p50 latency, us" "" "$added_p50" "" "<= 10 us" "$met_latency"
  fi
  figure_row "  CPU per call, us *" latency_cpu_us_per_call
  figure_row "latency p50, all on one CPU, us" latency_1cpu_p50_us
  figure_row "latency p99, all on one CPU, us" latency_1cpu_p99_us
  if measured latency_1cpu_p50_us; then
    row "added p50 latency, one CPU, us" "" "$added_p50_1cpu" "" "<= 15 us" "$met_latency_1cpu"
  fi
  figure_row "throughput, $inflight_window in flight, calls/s" throughput_calls_per_s \
    ">= 50% of direct" "$met_tput"
  figure_row "  CPU per call, us *" throughput_cpu_us_per_call
  figure_row "  the same, refilled in batches" throughput_batched_calls_per_s
  figure_row "$payload_label, MB/s" payload_mb_per_s ">= 60% of direct" "$met_payload"
  figure_row "  CPU per call, ms *" payload_cpu_us_per_call "" "" 1000
  figure_row "start, $start_backends x $start_delay_ms ms backends, ms **" startup_ms \
    "< 1.5 s" "$met_start"
  figure_row "idle RSS, the server alone, MiB" rss_idle_server_kib "" "" 1024
  figure_row "idle RSS, 1 backend, MiB" rss_idle_1_kib "" "" 1024
  figure_row "idle RSS, 20 backends, MiB" rss_idle_20_kib "< 16 MiB" "$met_rss" 1024
  figure_row "idle RSS, 100 backends, MiB" rss_idle_100_kib "" "" 1024
  figure_row "tools/list, $many_tools tools, ms **" list_10k_tools_us "<= 1.5x direct" "$met_list" 1000
  figure_row "  the first after a change, ms **" list_changed_10k_tools_us "<= 1.5x direct" \
    "$met_list_changed" 1000
  figure_row "RSS, $inflight calls in flight, MiB" inflight_rss_kib "" "" 1024
  figure_row "  growth per call in flight, bytes" inflight_bytes_per_request "<= 300 B" \
    "$met_inflight"
  if [[ -n $overhead_ns ]]; then
    row "tracing + health per request, ns" "" "$overhead_ns" "" "< 1 us" "$met_overhead"
  fi
  echo
  echo "*  on-CPU time of the spawned process: the server directly, mcpbraid alone through mcpbraid"
  echo "** directly: one server of $start_delay_ms ms; one server listing $many_tools tools" \
    "(mcpbraid: $tools_backends x $((many_tools / tools_backends)))"
  echo "idle RSS through mcpbraid is mcpbraid's own, without its children"
  if [[ -n $search_lines ]]; then
    echo
    echo "tool search index (mcpbraid_bench_search, CPU only):"
    sed 's/^/  /' <<<"$search_lines"
  fi
}

if ((json)); then print_json; else print_table; fi
