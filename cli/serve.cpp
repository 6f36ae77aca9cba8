#include "cli/serve.hpp"

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>

#include "backends/gateway.hpp"
#include "core/config.hpp"
#include "core/trace.hpp"

namespace mcpmux::cli {

void setup_serve(CLI::App& app, ServeOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "Config file (default: $MCPMUX_CONFIG, else "
                 "$XDG_CONFIG_HOME/mcpmux/config.json, else ~/.config/mcpmux/config.json)");
}

int run_serve(const ServeOptions& options) {
  std::string path = resolve_config_path(options.config_path);
  Config config;
  try {
    config = load_config(path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "mcpmux: %s\n", e.what());
    return 2;
  }
  for (const auto& warning : config.warnings)
    trace::warn("config.warning").kv("file", path).kv("warning", warning);

  // A client that goes away must not kill us mid-write: we see EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  Gateway gateway(io, std::move(config));
  return gateway.run(STDIN_FILENO, STDOUT_FILENO);
}

}  // namespace mcpmux::cli
