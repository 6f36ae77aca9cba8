#pragma once
// `mcpbraid reload`: a running instance reads its config again, as on
// SIGHUP.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct ReloadOptions {
  std::string socket;  // empty: the only running instance
  bool json = false;
};

void setup_reload(CLI::App& app, ReloadOptions& options);
// 0 reloaded, 1 the new config is invalid (the old one stays), 2 no
// instance or a usage error.
int run_reload(const ReloadOptions& options);

}  // namespace mcpbraid::cli
