#include "backends/gateway.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/trace.hpp"

namespace mcpbraid {

namespace {

constexpr std::chrono::seconds kFlushLimit{5};
// From SIGTERM or SIGINT to the end of the loop, at most: a client that
// kills us (the SDK's: stdin closed and SIGTERM, SIGKILL a second later)
// must find nothing of ours left running, children included. Children get
// SIGTERM at once and SIGKILL after ChildProcess::kHurriedKill (300 ms).
constexpr Milliseconds kHurriedExit{500};

std::vector<std::unique_ptr<Backend>> make_backends(asio::io_context& io, const Config& config,
                                                    BackendEvents& events,
                                                    const TransportFactory& transports) {
  std::vector<std::unique_ptr<Backend>> backends;
  for (const auto& server : config.servers) {
    if (server.disabled) {
      trace::info("backend.disabled").kv("server", server.name);
      continue;
    }
    backends.push_back(std::make_unique<Backend>(io, server, events, transports));
  }
  return backends;
}

std::uint64_t seed_of(const GatewayOptions& options) {
  return options.seed ? options.seed : std::random_device{}();
}

}  // namespace

Gateway::Gateway(asio::io_context& io, Config config, GatewayOptions options)
    : io_(io),
      config_(std::move(config)),
      transports_(options.transports),
      backends_(make_backends(io, config_, *this, transports_)),
      random_(seed_of(options)),
      signals_(io, SIGINT, SIGTERM, SIGHUP),
      catalog_(config_.separator, config_.max_name_length),
      client_(*this),
      dispatch_(*this),
      handshake_(*this),
      lists_(*this),
      router_(*this),
      runner_(*this),
      relay_(*this),
      rounds_(*this),
      asked_(*this),
      subscriptions_(*this),
      tasks_(*this),
      supervisor_(*this, options.restarts),
      tools_(*this),
      search_(*this),
      trimmer_(io),
      reloader_(*this) {
  reserve_own_names();
  const char* hooks = std::getenv("MCPBRAID_TEST_HOOKS");
  test_hooks_ = hooks && std::string_view(hooks) == "1";
}

Gateway::~Gateway() = default;

void Gateway::start(int in_fd, int out_fd) {
  trace::info("gateway.start")
      .kv("config", config_.path)
      .kv("servers", static_cast<std::int64_t>(backends_.size()));
  wait_for_signal();
  if (!control_path_.empty()) {
    control_ = std::make_unique<ControlServer>(
        io_, [this](const std::string& method, const json& request) {
          return tools_.answer_control(method, request);
        });
    std::string error;
    if (control_->listen(control_path_, &error))
      trace::info("control.listen").kv("path", control_path_);
    else
      trace::error("control.listen_failed").kv("path", control_path_).kv("error", error);
  }
  // Spawn everything now so slow starts (npx) overlap the client's own start;
  // initialize waits for the client's initialize (its capabilities matter).
  for (auto& backend : backends_) backend->start();
  if (in_fd >= 0) {
    client_.open(in_fd, out_fd);
    reloader_.watch(config_.path);
  }
}

void Gateway::wait_for_signal() {
  signals_.async_wait([this](asio::error_code ec, int signo) {
    if (ec) return;
    if (signo != SIGHUP) return on_signal(signo);
    trace::info("gateway.signal").kv("signal", signo);
    guarded([this] { reloader_.reload("SIGHUP"); });
    wait_for_signal();
  });
}

int Gateway::run(int in_fd, int out_fd) {
  start(in_fd, out_fd);
  while (!guarded([this] { run_busy_poll(io_, config_.busy_poll); })) {
  }
  control_.reset();  // removes the socket
  trace::info("gateway.exit").kv("status", exit_code_);
  return exit_code_;
}

Backend* Gateway::find_backend(const std::string& name) {
  for (auto& backend : backends_)
    if (backend->name() == name && !backend->removed()) return backend.get();
  return nullptr;
}

void Gateway::reserve_own_names() {
  for (const auto& tool : GatewayTools::definitions(config_))
    catalog_.tools.reserve(tool["name"].get<std::string>());
}

Backend& Gateway::add_backend(const ServerConfig& server) {
  backends_.push_back(std::make_unique<Backend>(io_, server, *this, transports_));
  Backend& backend = *backends_.back();
  lists_.on_backend_added();
  supervisor_.on_backend_added(backend);
  return backend;
}

void Gateway::remove_backend(Backend& backend, const std::string& reason) {
  trace::info("backend.removed").kv("server", backend.name());
  backend.mark_removed();
  supervisor_.forget(backend);
  backend.fail_pending(reason);
  relay_.on_backend_exit(backend);
  lists_.remove(backend);
  backend.stop(nullptr);
}

int Gateway::index_of(const Backend& backend) const {
  for (std::size_t i = 0; i < backends_.size(); ++i)
    if (backends_[i].get() == &backend) return static_cast<int>(i);
  assert(false && "a backend of another gateway");
  return -1;
}

// ------------------------------------------------------------------ the guard

Gateway::HandlingScope::HandlingScope(Gateway& gateway, Handling handling)
    : gateway_(gateway),
      saved_(std::move(gateway.handling_)),
      exceptions_(std::uncaught_exceptions()) {
  gateway_.handling_ = std::move(handling);
}

Gateway::HandlingScope::~HandlingScope() {
  // While an exception unwinds, the context stays for the guard to report.
  if (std::uncaught_exceptions() == exceptions_) gateway_.handling_ = std::move(saved_);
}

void Gateway::on_internal_error(const char* what) {
  ++internal_errors_;
  Handling handling = std::move(handling_);
  handling_ = Handling{};
  trace::error("gateway.internal_error")
      .kv("method", handling.method)
      .kv("server", handling.server)
      .kv("id", handling.id.is_null() ? std::string() : handling.id.dump())
      .kv("error", what);
  if (handling.id.is_null()) return;
  std::string key = rpc::id_key(handling.id);
  if (!calls_.contains(key)) return;
  runner_.abandon(key);
  client_.reply_error(handling.id, rpc::kInternalError,
                      std::string("mcpbraid: internal error: ") + what);
}

// ------------------------------------------------------------ backend events

void Gateway::on_backend_message(Backend& backend, rpc::Message& message) {
  relay_.on_backend_message(backend, message);
}

void Gateway::on_backend_exit(Backend& backend) {
  // What it asked the client can no longer be answered: withdraw it.
  relay_.on_backend_exit(backend);
  if (session_.finishing() || backend.removed()) return;
  if (backend.permanently_failed()) {
    // A remote server that refused our credentials: a restart would only
    // be refused again. It stays failed, with the reason, until fixed.
    trace::error("backend.failed").kv("server", backend.name()).kv("reason", backend.last_error());
    lists_.drop(backend);
  } else {
    supervisor_.schedule_restart(backend);
  }
  handshake_.run_settle_waiters();
}

void Gateway::on_backend_session_renewed(Backend& backend) {
  // A new session of the same server: the log level again, and its lists
  // fetched again (list_changed only for those that differ).
  trace::info("backend.session_renewed").kv("server", backend.name());
  router_.replay_log_level(backend);
  lists_.refresh_after_restart(backend);
}

void Gateway::on_backend_internal_error(Backend& backend, const std::string& what) {
  if (handling_.server.empty()) handling_.server = backend.name();
  on_internal_error(what.c_str());
}

health::Snapshot Gateway::snapshot() const {
  TimePoint now = Clock::now();
  health::Snapshot snapshot;
  snapshot.pid = ::getpid();
  snapshot.version = MCPBRAID_VERSION;
  snapshot.config = config_.path;
  snapshot.uptime_s = std::chrono::duration<double>(now - started_).count();
  snapshot.internal_errors = internal_errors_;
  snapshot.last_reload = reloader_.status();
  for (const auto& backend : backends_) {
    if (backend->removed()) continue;
    health::BackendStatus status = backend->status(now);
    if (const auto& tools = lists_.items(*backend, ListKind::tools)) {
      status.tools = static_cast<std::int64_t>(tools->size());
      std::int64_t shown = 0;
      for (std::size_t i = 0; i < tools->size(); ++i)
        if (lists_.shown(*backend, ListKind::tools, i)) ++shown;
      status.tools_listed = shown;
    }
    status.tools_hidden = static_cast<std::int64_t>(lists_.hidden(*backend, ListKind::tools));
    status.prompts_hidden = static_cast<std::int64_t>(lists_.hidden(*backend, ListKind::prompts));
    status.resources_hidden =
        static_cast<std::int64_t>(lists_.hidden(*backend, ListKind::resources) +
                                  lists_.hidden(*backend, ListKind::resource_templates));
    for (ListKind kind : {ListKind::tools, ListKind::prompts})
      for (const Collision& c : catalog_.names(kind).collisions(backend->name()))
        status.collisions.push_back(c.exposed + " (kept by " + c.kept_by + ")");
    if (status.stderr_tail.size() > GatewayTools::kSnapshotStderrLines)
      status.stderr_tail.erase(status.stderr_tail.begin(),
                               status.stderr_tail.end() - GatewayTools::kSnapshotStderrLines);
    snapshot.backends.push_back(std::move(status));
  }
  return snapshot;
}

// ------------------------------------------------------------------- shutdown

void Gateway::on_client_eof() {
  session_.on_eof();
  trace::info("client.eof").kv("open_requests", static_cast<std::int64_t>(calls_.size()));
  // Nobody is left to answer what backends asked the client.
  rounds_.end_all("the client closed the connection");
  asked_.end_all("the client closed the connection");
  subscriptions_.end_all();
  relay_.refuse_all("mcpbraid: the client closed the connection");
  check_drained();
}

void Gateway::on_signal(int signo) {
  trace::info("gateway.signal").kv("signal", signo);
  stop();  // nothing new when EOF already began it
  hurry();
}

void Gateway::hurry() {
  if (exit_by_) return;
  exit_by_ = Clock::now() + kHurriedExit;
  for (auto& backend : backends_) backend->hurry_stop();
  exit_timer_ = std::make_unique<Timer>(io_, kHurriedExit);
  exit_timer_->async_wait([this](asio::error_code ec) {
    if (ec || io_.stopped()) return;
    std::int64_t stopping = 0;
    for (const auto& backend : backends_)
      if (backend->running()) ++stopping;
    trace::warn("gateway.exit_forced")
        .kv("after_ms", static_cast<std::int64_t>(kHurriedExit.count()))
        .kv("backends_stopping", stopping);
    signals_.cancel();
    io_.stop();
  });
}

void Gateway::stop() {
  client_.close_input();
  session_.on_signal();
  rounds_.end_all("mcpbraid is shutting down");
  asked_.end_all("mcpbraid is shutting down");
  subscriptions_.end_all();
  relay_.refuse_all("mcpbraid is shutting down");
  // Do not wait: answer what is open, then stop.
  for (auto& backend : backends_) backend->fail_pending("mcpbraid is shutting down");
  handshake_.release_waiters();
  finish();
}

void Gateway::check_drained() {
  if (session_.draining() && calls_.empty()) finish();
}

void Gateway::finish() {
  if (!session_.finish()) return;
  handshake_.cancel();
  lists_.cancel();
  trimmer_.cancel();
  supervisor_.cancel();
  reloader_.cancel();
  runner_.cancel_timers();
  auto remaining = std::make_shared<std::size_t>(1);
  auto done = [this, remaining] {
    if (--*remaining != 0) return;
    wait_for_output(Clock::now() + kFlushLimit);
  };
  for (auto& backend : backends_) {
    ++*remaining;
    backend->stop(done);
  }
  done();
}

void Gateway::wait_for_output(TimePoint until) {
  if (exit_by_) until = std::min(until, *exit_by_);
  if (client_.flushed() || Clock::now() >= until) {
    signals_.cancel();
    io_.stop();
    return;
  }
  flush_timer_ = std::make_unique<Timer>(io_, std::chrono::milliseconds(2));
  flush_timer_->async_wait([this, until](asio::error_code) { wait_for_output(until); });
}

}  // namespace mcpbraid
