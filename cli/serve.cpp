#include "cli/serve.hpp"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>

#include "backends/control.hpp"
#include "backends/gateway.hpp"
#include "core/config.hpp"
#include "core/trace.hpp"

namespace mcpbraid::cli {

void setup_serve(CLI::App& app, ServeOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "Config file (default: $MCPBRAID_CONFIG, else "
                 "$XDG_CONFIG_HOME/mcpbraid/config.json, else ~/.config/mcpbraid/config.json)");
  auto* path =
      app.add_option("--control-socket", options.control_socket,
                     "Control socket for `mcpbraid health` (default: "
                     "$XDG_RUNTIME_DIR/mcpbraid/<pid>.sock, else /tmp/mcpbraid-<uid>/<pid>.sock)");
  app.add_flag("--no-control-socket", options.no_control_socket, "Do not open a control socket")
      ->excludes(path);
}

namespace {

// Where the control socket goes; "" for none (turned off, or the default
// directory is unusable, which must not stop the gateway).
std::string control_socket_path(const ServeOptions& options) {
  if (options.no_control_socket) return "";
  if (!options.control_socket.empty()) return options.control_socket;
  std::string error;
  if (!prepare_control_dir(default_control_dir(), &error)) {
    trace::error("control.listen_failed").kv("error", error);
    return "";
  }
  return default_control_path(::getpid());
}

}  // namespace

int run_serve(const ServeOptions& options) {
  std::string path = resolve_config_path(options.config_path);
  Config config;
  try {
    config = load_config(path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "mcpbraid: %s\n", e.what());
    return 2;
  }
  for (const auto& warning : config.warnings)
    trace::warn("config.warning").kv("file", path).kv("warning", warning);

  // A client that goes away must not kill us mid-write: we see EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  // Large results (MiBs) pass through buffers that are freed once written.
  // With glibc's defaults each is a fresh mmap or a heap trimmed back to the
  // OS, so every large call pays page faults for all its bytes (3x the CPU
  // of the copy itself, measured with bench/). Keep freed memory for reuse;
  // the gateway trims the heap once large traffic stops.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  asio::io_context io(1);
  Gateway gateway(io, std::move(config));
  gateway.set_control_socket(control_socket_path(options));
  return gateway.run(STDIN_FILENO, STDOUT_FILENO);
}

}  // namespace mcpbraid::cli
