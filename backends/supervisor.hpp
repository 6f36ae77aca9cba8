#pragma once
// Restarts. A backend that exits is restarted after a backoff (exponential
// with jitter; it starts over only when the backend had stayed up for twice
// max_backoff after initializing, so one that crashes right after each
// initialize waits longer each time); past max_restarts within the window it
// is failed and leaves the lists. Its tools stay listed while
// it waits, and calls to it fail fast with retry_after_ms.
//
// A restarted backend keeps its circuit breaker and health counters: the
// breaker describes the server's recent answers, and a restart does not
// prove it healthy; the half-open probe after reset_timeout does.
#include <memory>
#include <vector>

#include "backends/timer.hpp"
#include "core/failsafe.hpp"

namespace mcpbraid {

class Backend;
class Gateway;

class Supervisor {
 public:
  // `enabled` false: an exited backend stays failed (the probe).
  Supervisor(Gateway& gateway, bool enabled);

  // The backend exited (or failed to initialize and was stopped).
  void schedule_restart(Backend& backend);
  // It initialized: its uptime counts from now (RestartPolicy::on_healthy).
  void on_healthy(Backend& backend);
  // Now, whatever its state (`mcpbraid restart`, a reload that changed how
  // it is reached): what it had open is answered with `reason`, the
  // current transport is stopped and a new one started; `reset` forgets
  // the exits counted against max_restarts.
  void restart_now(Backend& backend, const std::string& reason, bool reset);
  // A reload: a backend was appended, changed its restart settings, or
  // was removed (its pending restart is dropped).
  void on_backend_added(Backend& backend);
  // Starts it (again); initialized when the client session has begun.
  void start_backend(Backend& backend);
  void reconfigure(Backend& backend);
  void forget(Backend& backend);
  void cancel();

 private:
  struct PerBackend {
    RestartPolicy policy;
    std::unique_ptr<Timer> timer;
  };
  Gateway& g_;
  bool enabled_;
  std::vector<PerBackend> per_backend_;  // by backend index
};

}  // namespace mcpbraid
