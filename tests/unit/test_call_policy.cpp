// Admission and retry decisions as values, with real breakers and budgets
// from core/failsafe.hpp on plain time points. The reason texts are the ones
// the client sees (and the integration tests match).
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "core/call_policy.hpp"
#include "core/failsafe.hpp"

using mcpbraid::AdmissionView;
using mcpbraid::BackendState;
using mcpbraid::BreakerConfig;
using mcpbraid::CircuitBreaker;
using mcpbraid::CircuitState;
using mcpbraid::Milliseconds;
using mcpbraid::RetryBudget;
using mcpbraid::RetryConfig;
using mcpbraid::RetryView;
using mcpbraid::TimePoint;

namespace {

TimePoint at(long long ms) {
  return TimePoint{} + Milliseconds(ms);
}

AdmissionView ready(std::size_t in_flight = 0, int max_in_flight = 64) {
  return AdmissionView{BackendState::ready, true, "", Milliseconds(0), in_flight, max_in_flight};
}

AdmissionView in_state(BackendState state, std::string_view last_error,
                       Milliseconds restart_in = Milliseconds(0)) {
  return AdmissionView{state,      state != BackendState::failed && state != BackendState::stopped,
                       last_error, restart_in,
                       0,          64};
}

// A breaker that opens after 3 failures, retries after 1 s, one probe.
CircuitBreaker small_breaker() {
  BreakerConfig c;
  c.failure_threshold = 3;
  c.success_threshold = 1;
  c.reset_timeout = Milliseconds(1000);
  c.half_open_max_requests = 1;
  return CircuitBreaker(c);
}

void trip(CircuitBreaker& breaker, TimePoint now) {
  for (int i = 0; i < breaker.config().failure_threshold; ++i) {
    REQUIRE(breaker.admit(now));
    breaker.record_failure(now, "timeout");
  }
  REQUIRE(breaker.state(now) == CircuitState::open);
}

// Everything allows a retry; each test turns one thing off.
RetryView retryable(int attempt = 1) {
  return RetryView{true, false, true, false, false, attempt};
}

RetryConfig retry_config(int max_attempts = 3) {
  RetryConfig c;
  c.max_attempts = max_attempts;
  c.initial_backoff = Milliseconds(100);
  c.max_backoff = Milliseconds(2000);
  return c;
}

}  // namespace

// ================================================================ admission

TEST_CASE("admit: a ready, running backend under its limit with a closed breaker admits") {
  CircuitBreaker breaker = small_breaker();
  CHECK_FALSE(mcpbraid::admit(ready(), breaker, at(0)).has_value());
  CHECK_FALSE(mcpbraid::admit(ready(63, 64), breaker, at(0)).has_value());
}

TEST_CASE("admit: a backend in backoff is restarting, retry when the restart is due") {
  CircuitBreaker breaker = small_breaker();
  auto why = mcpbraid::admit(
      in_state(BackendState::backoff, "exited with status 1", Milliseconds(750)), breaker, at(0));
  REQUIRE(why.has_value());
  CHECK(why->reason == "restarting after exited with status 1");
  CHECK(why->retry_after == Milliseconds(750));
}

TEST_CASE("admit: a failed or stopped backend gives its last error, no retry hint") {
  CircuitBreaker breaker = small_breaker();
  auto failed =
      mcpbraid::admit(in_state(BackendState::failed, "initialize failed: boom"), breaker, at(0));
  REQUIRE(failed.has_value());
  CHECK(failed->reason == "initialize failed: boom");
  CHECK_FALSE(failed->retry_after.has_value());

  for (BackendState state : {BackendState::failed, BackendState::stopped}) {
    CAPTURE(mcpbraid::to_string(state));
    auto why = mcpbraid::admit(in_state(state, ""), breaker, at(0));
    REQUIRE(why.has_value());
    CHECK(why->reason == "stopped");
    CHECK_FALSE(why->retry_after.has_value());
  }
  auto stopped = mcpbraid::admit(in_state(BackendState::stopped, "spawn failed"), breaker, at(0));
  REQUIRE(stopped.has_value());
  CHECK(stopped->reason == "spawn failed");
}

TEST_CASE("admit: a starting backend is still starting, retry in a second") {
  CircuitBreaker breaker = small_breaker();
  auto why = mcpbraid::admit(in_state(BackendState::starting, "old error"), breaker, at(0));
  REQUIRE(why.has_value());
  CHECK(why->reason == "still starting");
  CHECK(why->retry_after == Milliseconds(1000));
}

TEST_CASE("admit: ready but not running is refused without a hint") {
  CircuitBreaker breaker = small_breaker();
  AdmissionView view = ready();
  view.running = false;
  auto why = mcpbraid::admit(view, breaker, at(0));
  REQUIRE(why.has_value());
  CHECK(why->reason == "not running");
  CHECK_FALSE(why->retry_after.has_value());
}

TEST_CASE("admit: at max_in_flight the request is refused, retry in 100 ms") {
  CircuitBreaker breaker = small_breaker();
  for (std::size_t in_flight : {2u, 3u, 50u}) {
    CAPTURE(in_flight);
    auto why = mcpbraid::admit(ready(in_flight, 2), breaker, at(0));
    REQUIRE(why.has_value());
    CHECK(why->reason == "too many requests in flight (max_in_flight 2)");
    CHECK(why->retry_after == Milliseconds(100));
  }
  CHECK_FALSE(mcpbraid::admit(ready(1, 2), breaker, at(0)).has_value());
}

TEST_CASE("admit: an open breaker refuses with its reason until reset_timeout") {
  CircuitBreaker breaker = small_breaker();
  trip(breaker, at(0));
  auto why = mcpbraid::admit(ready(), breaker, at(400));
  REQUIRE(why.has_value());
  CHECK(why->reason == "circuit open (3 consecutive failures, last: timeout)");
  CHECK(why->retry_after == Milliseconds(600));
}

TEST_CASE("admit: a half-open breaker admits its one probe, then refuses") {
  CircuitBreaker breaker = small_breaker();
  trip(breaker, at(0));
  CHECK_FALSE(mcpbraid::admit(ready(), breaker, at(1000)).has_value());  // the probe
  CHECK(breaker.state(at(1000)) == CircuitState::half_open);
  auto second = mcpbraid::admit(ready(), breaker, at(1001));
  REQUIRE(second.has_value());
  CHECK(second->reason == "circuit open (3 consecutive failures, last: timeout)");
  // Half-open: the next probe may go as soon as this one is answered.
  CHECK(second->retry_after == Milliseconds(0));
  breaker.record_success(at(1100));
  CHECK(breaker.state(at(1100)) == CircuitState::closed);
  CHECK_FALSE(mcpbraid::admit(ready(), breaker, at(1100)).has_value());
}

TEST_CASE("admit: a refusal before the breaker does not take the half-open probe") {
  CircuitBreaker breaker = small_breaker();
  trip(breaker, at(0));
  AdmissionView not_running = ready();
  not_running.running = false;
  // Each of these is refused for its own reason, and the breaker is not asked.
  CHECK(mcpbraid::admit(in_state(BackendState::starting, ""), breaker, at(1000))->reason ==
        "still starting");
  CHECK(mcpbraid::admit(not_running, breaker, at(1000))->reason == "not running");
  CHECK(mcpbraid::admit(ready(5, 5), breaker, at(1000))->reason ==
        "too many requests in flight (max_in_flight 5)");
  // So the probe is still there.
  CHECK_FALSE(mcpbraid::admit(ready(), breaker, at(1000)).has_value());
  CHECK(mcpbraid::admit(ready(), breaker, at(1000)).has_value());
}

// ================================================================== retries

TEST_CASE("retry: a failed safe call is retried after the backoff, spending one token") {
  RetryBudget budget(0.2, 10);
  auto delay = mcpbraid::retry_delay(retryable(1), retry_config(), budget, 0.0);
  REQUIRE(delay.has_value());
  CHECK(*delay == Milliseconds(50));
  CHECK(budget.tokens() == doctest::Approx(9.0));
  delay = mcpbraid::retry_delay(retryable(2), retry_config(), budget, 0.0);
  REQUIRE(delay.has_value());
  CHECK(*delay == Milliseconds(100));
  CHECK(budget.tokens() == doctest::Approx(8.0));
}

TEST_CASE("retry: each reason not to retry denies it and leaves the budget alone") {
  auto denied = [](RetryView view) {
    RetryBudget budget(0.2, 10);
    auto delay = mcpbraid::retry_delay(view, retry_config(), budget, 0.5);
    // Spent by a retry that happens, and only then.
    CHECK(budget.tokens() == doctest::Approx(delay ? 9.0 : 10.0));
    return !delay.has_value();
  };
  RetryView v = retryable();
  v.failure = false;  // a result or a JSON-RPC error is an answer
  CHECK(denied(v));
  v = retryable();
  v.bad_answer = true;
  CHECK(denied(v));
  v = retryable();
  v.retry_safe = false;
  CHECK(denied(v));
  v = retryable();
  v.cancelled = true;
  CHECK(denied(v));
  v = retryable();
  v.shutting_down = true;
  CHECK(denied(v));
  CHECK_FALSE(denied(retryable()));
}

TEST_CASE("retry: attempts are exhausted at max_attempts") {
  RetryBudget budget(0.2, 10);
  CHECK(mcpbraid::retry_delay(retryable(2), retry_config(3), budget, 0.0).has_value());
  double left = budget.tokens();
  CHECK_FALSE(mcpbraid::retry_delay(retryable(3), retry_config(3), budget, 0.0).has_value());
  CHECK_FALSE(mcpbraid::retry_delay(retryable(4), retry_config(3), budget, 0.0).has_value());
  CHECK_FALSE(mcpbraid::retry_delay(retryable(1), retry_config(1), budget, 0.0).has_value());
  CHECK(budget.tokens() == doctest::Approx(left));
}

TEST_CASE("retry: an exhausted budget denies the retry until requests earn tokens") {
  RetryBudget budget(0.5, 1);
  CHECK(mcpbraid::retry_delay(retryable(), retry_config(), budget, 0.0).has_value());
  CHECK(budget.tokens() == doctest::Approx(0.0));
  CHECK_FALSE(mcpbraid::retry_delay(retryable(), retry_config(), budget, 0.0).has_value());
  budget.on_request();  // half a token is not enough
  CHECK_FALSE(mcpbraid::retry_delay(retryable(), retry_config(), budget, 0.0).has_value());
  CHECK(budget.tokens() == doctest::Approx(0.5));
  budget.on_request();
  CHECK(mcpbraid::retry_delay(retryable(), retry_config(), budget, 0.0).has_value());
}

TEST_CASE("retry: the delay is jittered within [base/2, base], base doubling up to the cap") {
  RetryConfig config = retry_config(20);
  struct Case {
    int attempt;
    long long base;
  };
  for (Case c :
       {Case{1, 100}, Case{2, 200}, Case{3, 400}, Case{5, 1600}, Case{6, 2000}, Case{12, 2000}}) {
    CAPTURE(c.attempt);
    for (double jitter : {0.0, 0.25, 0.5, 0.999}) {
      CAPTURE(jitter);
      RetryBudget budget(0.2, 10);
      auto delay = mcpbraid::retry_delay(retryable(c.attempt), config, budget, jitter);
      REQUIRE(delay.has_value());
      CHECK(delay->count() >= c.base / 2);
      CHECK(delay->count() <= c.base);
      auto init = mcpbraid::initialize_retry_delay(c.attempt, config, jitter);
      REQUIRE(init.has_value());
      CHECK(*init == *delay);  // the same backoff for both
    }
    RetryBudget budget(0.2, 10);
    CHECK(*mcpbraid::retry_delay(retryable(c.attempt), config, budget, 0.0) ==
          Milliseconds(c.base / 2));
  }
}

TEST_CASE("initialize: retried up to max_attempts with no budget involved") {
  RetryConfig config = retry_config(3);
  CHECK(mcpbraid::initialize_retry_delay(1, config, 0.0) == Milliseconds(50));
  CHECK(mcpbraid::initialize_retry_delay(2, config, 0.0) == Milliseconds(100));
  CHECK(mcpbraid::initialize_retry_delay(2, config, 0.5) == Milliseconds(150));
  CHECK_FALSE(mcpbraid::initialize_retry_delay(3, config, 0.0).has_value());
  CHECK_FALSE(mcpbraid::initialize_retry_delay(4, config, 0.0).has_value());
  CHECK_FALSE(mcpbraid::initialize_retry_delay(1, retry_config(1), 0.0).has_value());
}
