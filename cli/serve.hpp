#pragma once
// `mcpmux serve`: run the gateway on stdin/stdout (the default subcommand).
#include <string>

namespace CLI {
class App;
}

namespace mcpmux::cli {

struct ServeOptions {
  std::string config_path;  // empty: MCPMUX_CONFIG, then XDG default
};

void setup_serve(CLI::App& app, ServeOptions& options);
int run_serve(const ServeOptions& options);

}  // namespace mcpmux::cli
