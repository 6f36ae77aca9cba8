#pragma once
// `mcpbraid serve`: run the gateway on stdin/stdout (the default subcommand).
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct ServeOptions {
  std::string config_path;     // empty: MCPBRAID_CONFIG, then XDG default
  std::string control_socket;  // empty: the default path
  bool no_control_socket = false;
};

void setup_serve(CLI::App& app, ServeOptions& options);
int run_serve(const ServeOptions& options);

}  // namespace mcpbraid::cli
