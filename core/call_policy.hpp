#pragma once
// What the gateway decides about one call, as values: may it go to its
// backend now (and if not, what the client is told), and once an attempt
// failed, is it tried again and after how long. The caller gathers what it
// knows about the backend and the call into a view; nothing here looks at a
// process or a timer.
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/failsafe.hpp"
#include "core/lifecycle.hpp"

namespace mcpbraid {

// Why a request cannot go now. `reason` reaches the client (and the
// integration tests match it); `retry_after` is the hint it is given.
struct Refusal {
  std::string reason;
  std::optional<Milliseconds> retry_after;
};

struct AdmissionView {
  BackendState state;
  bool running;
  std::string_view last_error;
  Milliseconds restart_in;  // time left until a scheduled restart (backoff)
  std::size_t in_flight;
  int max_in_flight;
};

// nullopt when the request may go now. Checked in order: state, running,
// in-flight limit, breaker. breaker.admit(now) is called last and only when
// all else allows, since in half-open it takes a probe slot.
std::optional<Refusal> admit(const AdmissionView& backend, CircuitBreaker& breaker, TimePoint now);

struct RetryView {
  bool failure;        // no answer came (timeout, exit), not a result or a JSON-RPC error
  bool bad_answer;     // a malformed answer: never retried
  bool retry_safe;     // safe to send twice (core/failsafe.hpp retry_safe())
  bool cancelled;      // the client withdrew it
  bool shutting_down;  // the client left or a signal came
  int attempt;         // attempts made so far (1 after the first)
};

// The delay before the next attempt, or nullopt for none. Spends one token
// from `budget` only when everything else allows a retry: a call that would
// not be retried anyway must not drain the budget of the ones that would.
std::optional<Milliseconds> retry_delay(const RetryView& call, const RetryConfig& config,
                                        RetryBudget& budget, double jitter);

// initialize is always safe to repeat, and a slow start is not a sick
// backend, so no budget: the delay before attempt+1, nullopt past
// max_attempts (the caller then treats it like a crash).
std::optional<Milliseconds> initialize_retry_delay(int attempt, const RetryConfig& config,
                                                   double jitter);

}  // namespace mcpbraid
