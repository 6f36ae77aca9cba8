#pragma once
// The health snapshot of a running gateway, as plain values: what the
// control socket serves, what `mcpbraid health` prints (table, JSON,
// Prometheus), and what the gateway_health tool answers. The JSON form is an
// interface documented in mcpbraid(1): change it only by adding fields.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mcpbraid::health {

using json = nlohmann::json;

struct BackendStatus {
  std::string name;
  std::string state = "starting";             // starting, ready, backoff, failed, stopped
  std::string circuit = "closed";             // closed, open, half_open
  std::int64_t next_probe_ms = 0;             // until the circuit admits a probe (0 when closed)
  std::optional<std::int64_t> restart_in_ms;  // in backoff: until the next start
  bool healthy = true;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  int consecutive_failures = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  int restarts = 0;
  std::string transport = "stdio";     // stdio, http, sse, http-or-sse
  std::optional<std::string> origin;   // a remote server's scheme://host:port
  std::optional<std::string> session;  // a remote server's: active, none, renewing, ...
  // The protocol revision it speaks once ready: the handshake's negotiated
  // version, or "2026-07-28" for a server without a handshake. `era` says
  // which: "handshake" or "stateless".
  std::optional<std::string> protocol;
  std::optional<std::string> era;
  std::optional<bool> inherit_env;    // a stdio server's: its child gets our whole environment
  std::optional<std::int64_t> pid;    // none when no child runs
  std::optional<double> uptime_s;     // since the running child started
  std::optional<std::int64_t> tools;  // none until its tools were listed
  // What the client sees of them (README "Saving context"): tools in its
  // tools/list (fewer than `tools` in search mode), what the filters hid,
  // and names lost to another server's ("name (kept by server)").
  std::optional<std::int64_t> tools_listed;
  std::int64_t tools_hidden = 0, prompts_hidden = 0, resources_hidden = 0;
  std::vector<std::string> collisions;
  std::int64_t in_flight = 0;
  std::string last_error;
  std::vector<std::string> stderr_tail;  // the last lines, oldest first
};

// How the last reload of the config went (none yet: no reload).
struct ReloadStatus {
  bool ok = false;
  std::string at;       // UTC, ISO 8601 ("2026-12-02T01:02:03Z")
  std::string error;    // why it failed (the old config stays)
  std::string changes;  // what it did when ok ("1 added (fs)", "no change")
};

struct Snapshot {
  std::int64_t pid = 0;  // of mcpbraid
  std::string version;
  std::string config;  // the config file's path
  double uptime_s = 0;
  // Exceptions caught by the gateway's last-resort guard: a bug each; 0 in
  // a healthy build, whatever the peers sent.
  std::uint64_t internal_errors = 0;
  std::vector<BackendStatus> backends;  // in config order (sorted by name)
  std::optional<ReloadStatus> last_reload;
};

// Sick: unhealthy, circuit not closed, in backoff or failed.
bool sick(const BackendStatus& backend);
// `mcpbraid health`'s exit status for these snapshots: 0 all well, 1 some sick.
int exit_status(const std::vector<Snapshot>& snapshots);

json to_json(const BackendStatus& backend);
json to_json(const Snapshot& snapshot);
// Reads what to_json wrote (a peer of another version may add fields).
// Throws nlohmann::json::exception on a malformed document.
Snapshot snapshot_from_json(const json& doc);

// A table that fits 80 columns; ANSI colour when `color`. At most
// `stderr_lines` stderr lines per backend.
std::string render_table(const Snapshot& snapshot, bool color, std::size_t stderr_lines = 3);
// The Prometheus text exposition format, one family per figure, every
// snapshot's backends labelled by instance (pid) and server.
std::string render_prometheus(const std::vector<Snapshot>& snapshots);

// "3h12m", "4m05s", "12s", "850ms".
std::string format_duration_ms(double ms);

}  // namespace mcpbraid::health
