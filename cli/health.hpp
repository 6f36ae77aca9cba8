#pragma once
// `mcpbraid health`: the health of running instances (through their control
// sockets), or of a config's servers started just for a probe.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct HealthOptions {
  std::string socket;            // one instance; empty: every instance of this user
  bool json = false;             // same as --format json
  std::string format = "table";  // table, json, prometheus
  bool probe = false;            // start the config's servers instead
  std::string config_path;       // for --probe
  int timeout_ms = 0;            // 0: 2 s for a socket, initialize_timeout for a probe
};

void setup_health(CLI::App& app, HealthOptions& options);
// 0 all healthy, 1 some backend sick, 2 nothing reachable or a usage error.
int run_health(const HealthOptions& options);

}  // namespace mcpbraid::cli
