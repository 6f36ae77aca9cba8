#include "core/call_policy.hpp"

#include <algorithm>
#include <string>

namespace mcpbraid {

std::optional<Refusal> admit(const AdmissionView& backend, CircuitBreaker& breaker, TimePoint now) {
  switch (backend.state) {
    case BackendState::backoff:
      return Refusal{"restarting after " + std::string(backend.last_error), backend.restart_in};
    case BackendState::failed:
    case BackendState::stopped:
      return Refusal{backend.last_error.empty() ? "stopped" : std::string(backend.last_error),
                     std::nullopt};
    case BackendState::starting:
      // initialize is on its way; a second is a fair guess for a start-up.
      return Refusal{"still starting", Milliseconds(1000)};
    case BackendState::ready:
      break;
  }
  // Ready but the child is gone: its exit is being handled, no restart known yet.
  if (!backend.running) return Refusal{"not running", std::nullopt};
  if (backend.in_flight >= static_cast<std::size_t>(std::max(0, backend.max_in_flight)))
    return Refusal{
        "too many requests in flight (max_in_flight " + std::to_string(backend.max_in_flight) + ")",
        Milliseconds(100)};
  if (!breaker.admit(now))
    return Refusal{"circuit open (" + breaker.open_reason() + ")", breaker.retry_after(now)};
  return std::nullopt;
}

std::optional<Milliseconds> retry_delay(const RetryView& call, const RetryConfig& config,
                                        RetryBudget& budget, double jitter) {
  // The budget comes last: it is spent only by a retry that happens.
  if (!call.failure || call.bad_answer || !call.retry_safe || call.cancelled ||
      call.shutting_down || call.attempt >= config.max_attempts || !budget.try_spend())
    return std::nullopt;
  return retry_backoff(config, call.attempt, jitter);
}

std::optional<Milliseconds> initialize_retry_delay(int attempt, const RetryConfig& config,
                                                   double jitter) {
  if (attempt >= config.max_attempts) return std::nullopt;
  return retry_backoff(config, attempt, jitter);
}

}  // namespace mcpbraid
