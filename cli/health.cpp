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

#include "backends/backend.hpp"
#include "backends/control.hpp"
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

// The sockets in the control directories, oldest instance (lowest pid) first.
// Sockets of instances that died without cleaning up are removed on the way.
std::vector<std::string> instance_sockets() {
  std::vector<std::pair<long, std::string>> found;
  for (const std::string& dir : control_dirs()) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
      char* end = nullptr;
      long pid = std::strtol(name.c_str(), &end, 10);
      std::string path = dir + "/" + name;
      if (pid > 0 && *end == '.' && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        ::unlink(path.c_str());
        continue;
      }
      found.emplace_back(pid, path);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [pid, path] : found) paths.push_back(std::move(path));
  return paths;
}

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

// Starts one server, initializes it, lists its tools, pings it, and records
// what it saw; the backends do the timing and the health bookkeeping.
class Probe : public BackendEvents {
 public:
  Probe(asio::io_context& io, const Config& config, std::chrono::milliseconds timeout) {
    for (ServerConfig server : config.servers) {
      if (server.disabled) continue;
      // A probe waits no longer than the initialize bound for any step.
      server.failsafe.timeout = server.failsafe.max_timeout = timeout;
      backends_.push_back(std::make_unique<Backend>(io, std::move(server), *this));
    }
    statuses_.resize(backends_.size());
  }

  void run() {
    for (std::size_t i = 0; i < backends_.size(); ++i) {
      if (backends_[i]->start())
        initialize(i);
      else
        finish(i);
    }
  }

  std::vector<health::BackendStatus>& statuses() { return statuses_; }

  void on_backend_message(Backend& backend, rpc::Message& message) override {
    if (message.kind == rpc::Kind::Request)  // ping, roots/list...: nobody asks here
      backend.send(message.method == "ping"
                       ? rpc::make_result(message.body["id"], json::object())
                       : rpc::make_error(message.body["id"], rpc::kMethodNotFound,
                                         "mcpbraid health --probe: not supported"));
  }
  void on_backend_exit(Backend&) override {}
  void on_backend_internal_error(Backend& backend, const std::string& what) override {
    trace::error("probe.internal_error").kv("server", backend.name()).kv("error", what);
  }

 private:
  void initialize(std::size_t i) {
    json params{{"protocolVersion", kLatestProtocolVersion},
                {"capabilities", json::object()},
                {"clientInfo", {{"name", "mcpbraid-health"}, {"version", MCPBRAID_VERSION}}}};
    backends_[i]->request("initialize", std::move(params), [this, i](Reply&& reply) {
      if (!step_ok(i, reply, "initialize")) return;
      backends_[i]->set_ready(std::move(reply.value));
      backends_[i]->notify("notifications/initialized");
      list_tools(i, 0, nullptr);
    });
  }

  void list_tools(std::size_t i, std::int64_t count, json cursor) {
    Backend& backend = *backends_[i];
    if (!backend.capabilities().contains("tools")) {
      backend.list(ListKind::tools).items.emplace();
      return ping(i);
    }
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    backend.request("tools/list", std::move(params), [this, i, count](Reply&& reply) mutable {
      if (!step_ok(i, reply, "tools/list")) return;
      auto tools = reply.value.find("tools");
      if (tools != reply.value.end() && tools->is_array())
        count += static_cast<std::int64_t>(tools->size());
      auto next = reply.value.find("nextCursor");
      if (next != reply.value.end() && next->is_string() && !next->get<std::string>().empty())
        return list_tools(i, count, *next);
      // Only the count is shown; keep placeholders of that size.
      backends_[i]->list(ListKind::tools).items.emplace(static_cast<std::size_t>(count));
      ping(i);
    });
  }

  void ping(std::size_t i) {
    backends_[i]->request("ping", json::object(), [this, i](Reply&& reply) {
      if (step_ok(i, reply, "ping")) finish(i);
    });
  }

  // False (and the backend done, as failed) when a step got no good answer.
  bool step_ok(std::size_t i, const Reply& reply, const char* step) {
    if (reply.ok()) return true;
    std::string why = reply.kind == Reply::Kind::error
                          ? reply.value.value("message", std::string("error"))
                          : reply.reason;
    backends_[i]->set_failed(std::string(step) + " failed: " + why);
    finish(i);
    return false;
  }

  void finish(std::size_t i) {
    statuses_[i] = backends_[i]->status(Clock::now());
    backends_[i]->stop(nullptr);
  }

  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<health::BackendStatus> statuses_;
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
  health::Snapshot snapshot;
  snapshot.pid = ::getpid();
  snapshot.version = MCPBRAID_VERSION;
  snapshot.config = path;
  snapshot.uptime_s = std::chrono::duration<double>(Clock::now() - started).count();
  snapshot.backends = std::move(probe.statuses());
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
