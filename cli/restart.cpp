#include "cli/restart.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/instance.hpp"

namespace mcpbraid::cli {

void setup_restart(CLI::App& app, RestartOptions& options) {
  app.add_option("SERVER", options.server, "The server to restart (its name in the config)")
      ->required();
  app.add_option("--socket", options.socket,
                 "The instance's control socket (default: the only running instance)");
}

int run_restart(const RestartOptions& options) {
  auto path = choose_instance(options.socket, "restart");
  if (!path) return 2;
  auto result = control_call(*path, {{"method", "restart"}, {"server", options.server}}, "restart");
  if (!result) return 2;
  std::printf("restarting %s (was %s)\n", options.server.c_str(),
              result->value("was", std::string("?")).c_str());
  return 0;
}

}  // namespace mcpbraid::cli
