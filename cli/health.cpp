#include "cli/health.hpp"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>

#include "backends/control.hpp"
#include "backends/gateway.hpp"
#include "core/config.hpp"
#include "core/health.hpp"
#include "core/session.hpp"
#include "core/trace.hpp"

namespace mcpbraid::cli {

namespace {

constexpr std::chrono::milliseconds kSocketTimeout{2000};
constexpr int kExitUnreachable = 2;

int usage_error(const std::string& text) {
  std::fprintf(stderr, "mcpbraid health: %s\n", text.c_str());
  return kExitUnreachable;
}

bool want_colour() {
  const char* no_color = std::getenv("NO_COLOR");  // https://no-color.org
  return ::isatty(STDOUT_FILENO) && !(no_color && *no_color);
}

// ------------------------------------------------------------ live instances

std::optional<health::Snapshot> query(const std::string& path, std::chrono::milliseconds timeout,
                                      std::string* error) {
  auto answer = control_request(path, {{"method", "health"}}, timeout, error);
  if (!answer) return std::nullopt;
  if (answer->contains("error")) {
    *error = path + ": " + answer->value("/error/message"_json_pointer, std::string("error"));
    return std::nullopt;
  }
  try {
    return health::snapshot_from_json(answer->at("result"));
  } catch (const json::exception& e) {
    *error = path + ": unexpected answer: " + e.what();
    return std::nullopt;
  }
}

// ------------------------------------------------------------------- probing

// The gateway's own parts without a client: every server started and
// initialized (handshake), its tools listed (list_sync), then pinged; what
// they recorded is the snapshot. No restarts, one initialize attempt, and
// no step waits longer than the timeout.
class Probe {
 public:
  Probe(asio::io_context& io, Config config, std::chrono::milliseconds timeout)
      : gateway_(io, for_probe(std::move(config), timeout), GatewayOptions{{}, 0, false}) {}

  void run() {
    gateway_.start(-1, -1);
    gateway_.session().on_initialize(
        {{"protocolVersion", kLatestProtocolVersion},
         {"capabilities", json::object()},
         {"clientInfo", {{"name", "mcpbraid-health"}, {"version", MCPBRAID_VERSION}}}});
    gateway_.session().on_initialized();
    gateway_.handshake().begin();
    gateway_.handshake().when_settled(
        [this] { gateway_.lists().collect(ListKind::tools, [this] { ping_all(); }); });
  }

  const health::Snapshot& snapshot() const { return snapshot_; }

 private:
  static Config for_probe(Config config, std::chrono::milliseconds timeout) {
    for (ServerConfig& server : config.servers) {
      server.failsafe.timeout = server.failsafe.max_timeout = timeout;
      server.failsafe.retry.max_attempts = 1;
    }
    // Every initialize ends (answer or deadline) before the bounded wait.
    config.initialize_timeout = 2 * timeout + std::chrono::seconds(1);
    return config;
  }

  void ping_all() {
    auto remaining = std::make_shared<std::size_t>(1);
    auto done = [this, remaining] {
      if (--*remaining == 0) finish();
    };
    for (auto& backend : gateway_.backends()) {
      if (backend->state() != BackendState::ready) continue;
      const std::string& list_error = gateway_.lists().error(*backend, ListKind::tools);
      if (!list_error.empty()) {
        backend->set_failed("tools/list failed: " + list_error);
        continue;
      }
      ++*remaining;
      Backend* b = backend.get();
      b->request("ping", json::object(), [b, done](Reply&& reply) {
        if (!reply.ok())
          b->set_failed("ping failed: " + (reply.kind == Reply::Kind::error
                                               ? reply.value.value("message", std::string("error"))
                                               : reply.reason));
        done();
      });
    }
    done();
  }

  void finish() {
    snapshot_ = gateway_.snapshot();
    gateway_.stop();
  }

  Gateway gateway_;
  health::Snapshot snapshot_;
};

int probe(const HealthOptions& options, std::vector<health::Snapshot>& out) {
  std::string path = resolve_config_path(options.config_path);
  Config config;
  try {
    config = load_config(path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "mcpbraid health: %s\n", e.what());
    return kExitUnreachable;
  }
  ::signal(SIGPIPE, SIG_IGN);
  auto started = Clock::now();
  asio::io_context io(1);
  auto timeout = options.timeout_ms > 0 ? std::chrono::milliseconds(options.timeout_ms)
                                        : config.initialize_timeout;
  Probe probe(io, config, timeout);
  probe.run();
  io.run();  // returns once every child is stopped and reaped
  health::Snapshot snapshot = probe.snapshot();
  snapshot.pid = ::getpid();
  snapshot.config = path;
  snapshot.uptime_s = std::chrono::duration<double>(Clock::now() - started).count();
  out.push_back(std::move(snapshot));
  return 0;
}

int live(const HealthOptions& options, std::vector<health::Snapshot>& out) {
  auto timeout =
      options.timeout_ms > 0 ? std::chrono::milliseconds(options.timeout_ms) : kSocketTimeout;
  std::vector<std::string> sockets =
      options.socket.empty() ? instance_sockets() : std::vector<std::string>{options.socket};
  std::vector<std::string> errors;
  for (const auto& path : sockets) {
    std::string error;
    if (auto snapshot = query(path, timeout, &error))
      out.push_back(std::move(*snapshot));
    else
      errors.push_back(error);
  }
  for (const auto& error : errors) std::fprintf(stderr, "mcpbraid health: %s\n", error.c_str());
  if (!out.empty()) return 0;
  if (sockets.empty()) {
    std::string dirs;
    for (const auto& dir : control_dirs()) dirs += (dirs.empty() ? "" : ", ") + dir;
    std::fprintf(stderr, "mcpbraid health: no running mcpbraid instance found (looked in %s)\n",
                 dirs.empty() ? default_control_dir().c_str() : dirs.c_str());
  }
  return kExitUnreachable;
}

void print(const std::vector<health::Snapshot>& snapshots, const std::string& format) {
  std::string text;
  if (format == "prometheus") {
    text = health::render_prometheus(snapshots);
  } else if (format == "json") {
    for (const auto& s : snapshots)
      text += health::to_json(s).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  } else {
    bool colour = want_colour();
    for (std::size_t i = 0; i < snapshots.size(); ++i)
      text += (i ? "\n" : "") + health::render_table(snapshots[i], colour);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
}

}  // namespace

void setup_health(CLI::App& app, HealthOptions& options) {
  auto* socket =
      app.add_option("--socket", options.socket, "Ask the instance on this control socket only");
  app.add_flag("--json", options.json, "Print JSON, one object per instance per line");
  app.add_option("--format", options.format, "table (default), json or prometheus")
      ->check(CLI::IsMember({"table", "json", "prometheus"}));
  auto* probe_flag = app.add_flag(
      "--probe", options.probe,
      "No running instance: start each server of the config, initialize, list tools, ping, "
      "report, stop them all");
  app.add_option("-c,--config", options.config_path, "Config for --probe (default: as for serve)");
  app.add_option("--timeout", options.timeout_ms,
                 "Milliseconds to wait for an answer (default: 2000 for a socket, "
                 "initialize_timeout for --probe)")
      ->check(CLI::PositiveNumber);
  probe_flag->excludes(socket);
}

int run_health(const HealthOptions& options) {
  std::string format = options.json ? "json" : options.format;
  if (options.json && options.format != "table" && options.format != "json")
    return usage_error("--json and --format " + options.format + " disagree");
  if (!options.probe && !options.config_path.empty())
    return usage_error("--config is only used with --probe");
  std::vector<health::Snapshot> snapshots;
  int status = options.probe ? probe(options, snapshots) : live(options, snapshots);
  if (status != 0) return status;
  print(snapshots, format);
  std::fflush(stdout);
  return health::exit_status(snapshots);
}

}  // namespace mcpbraid::cli
