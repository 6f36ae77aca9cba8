#pragma once
// `mcpbraid restart SERVER`: a running instance restarts that server now,
// a failed one too, with its crash-loop count reset.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct RestartOptions {
  std::string server;
  std::string socket;  // empty: the only running instance
};

void setup_restart(CLI::App& app, RestartOptions& options);
// 0 restarted, 2 no such server, no instance or a usage error.
int run_restart(const RestartOptions& options);

}  // namespace mcpbraid::cli
