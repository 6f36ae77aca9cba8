#include "cli/reload.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/instance.hpp"

namespace mcpbraid::cli {

void setup_reload(CLI::App& app, ReloadOptions& options) {
  app.add_option("--socket", options.socket,
                 "The instance's control socket (default: the only running instance)");
  app.add_flag("--json", options.json, "Print the instance's answer as JSON");
}

int run_reload(const ReloadOptions& options) {
  auto path = choose_instance(options.socket, "reload");
  if (!path) return 2;
  auto result = control_call(*path, {{"method", "reload"}}, "reload");
  if (!result) return 2;
  bool ok = result->value("ok", false);
  if (options.json) {
    std::printf("%s\n", result->dump().c_str());
  } else if (ok) {
    std::printf("reloaded: %s\n", result->value("changes", std::string()).c_str());
    if (auto keys = result->find("needs_restart"); keys != result->end() && !keys->empty())
      std::printf("not applied until mcpbraid restarts: %s\n", keys->dump().c_str());
  } else {
    std::fprintf(stderr, "mcpbraid reload: the config was not applied (the old one stays): %s\n",
                 result->value("error", std::string()).c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace mcpbraid::cli
