#include "backends/supervisor.hpp"

#include "backends/gateway.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

Supervisor::Supervisor(Gateway& gateway, bool enabled) : g_(gateway), enabled_(enabled) {
  per_backend_.reserve(gateway.backends().size());
  for (auto& backend : gateway.backends())
    per_backend_.push_back(PerBackend{RestartPolicy(backend->config().restart), nullptr});
}

void Supervisor::schedule_restart(Backend& backend) {
  if (!enabled_) return;
  PerBackend& mine = per_backend_[g_.index_of(backend)];
  TimePoint now = Clock::now();
  auto delay = mine.policy.on_exit(now, g_.jitter());
  if (!delay) {
    const RestartConfig& r = backend.config().restart;
    std::string reason = "exited " + std::to_string(mine.policy.restarts_in_window()) +
                         " times within " + std::to_string(r.window.count()) +
                         " ms (max_restarts " + std::to_string(r.max_restarts) +
                         "); last: " + backend.last_error();
    trace::error("backend.failed").kv("server", backend.name()).kv("reason", reason);
    backend.set_failed(reason);
    g_.lists().drop(backend);
    return;
  }
  backend.set_backoff(now + *delay);
  trace::warn("backend.restart")
      .kv("server", backend.name())
      .kv("reason", backend.last_error())
      .kv("in_ms", static_cast<std::int64_t>(delay->count()))
      .kv("restarts", backend.restarts())
      .kv("exits_in_window", mine.policy.restarts_in_window())
      .kv("max_restarts", backend.config().restart.max_restarts);
  mine.timer = std::make_unique<Timer>(g_.io(), *delay);
  mine.timer->async_wait([this, &backend](asio::error_code ec) {
    if (ec || g_.session().finishing() || backend.removed()) return;
    start_backend(backend);
  });
}

void Supervisor::start_backend(Backend& backend) {
  if (!backend.start()) return g_.lists().drop(backend);
  if (g_.client().output_paused()) backend.pause_output();
  if (g_.session().begun()) g_.handshake().initialize_backend(backend);
}

void Supervisor::restart_now(Backend& backend, const std::string& reason, bool reset) {
  if (g_.session().finishing() || backend.removed()) return;
  PerBackend& mine = per_backend_[g_.index_of(backend)];
  if (mine.timer) mine.timer->cancel();
  if (reset) mine.policy = RestartPolicy(backend.config().restart);
  trace::info("backend.restart_now").kv("server", backend.name()).kv("reason", reason);
  backend.fail_pending(reason);
  // What it asked the client can no longer be answered.
  g_.relay().on_backend_exit(backend);
  // start() stops the current transport (the ladder, in the background).
  start_backend(backend);
}

void Supervisor::on_backend_added(Backend& backend) {
  per_backend_.push_back(PerBackend{RestartPolicy(backend.config().restart), nullptr});
}

void Supervisor::reconfigure(Backend& backend) {
  per_backend_[g_.index_of(backend)].policy.set_config(backend.config().restart);
}

void Supervisor::forget(Backend& backend) {
  PerBackend& mine = per_backend_[g_.index_of(backend)];
  if (mine.timer) mine.timer->cancel();
}

void Supervisor::on_healthy(Backend& backend) {
  per_backend_[g_.index_of(backend)].policy.on_healthy(Clock::now());
}

void Supervisor::cancel() {
  for (auto& mine : per_backend_)
    if (mine.timer) mine.timer->cancel();
}

}  // namespace mcpbraid
