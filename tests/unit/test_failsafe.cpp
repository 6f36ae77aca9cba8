// The failsafe as pure logic driven by a fake clock: circuit breaker, health
// tracker and latency histogram, retry policy, restart policy, deadlines, and
// the `failsafe` / `restart` configuration keys. Nothing here sleeps.
#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/failsafe.hpp"

using mcpbraid::BreakerConfig;
using mcpbraid::CircuitBreaker;
using mcpbraid::CircuitState;
using mcpbraid::ConfigError;
using mcpbraid::Deadline;
using mcpbraid::HealthConfig;
using mcpbraid::HealthTracker;
using mcpbraid::LatencyHistogram;
using mcpbraid::Milliseconds;
using mcpbraid::RestartConfig;
using mcpbraid::RestartPolicy;
using mcpbraid::RetryBudget;
using mcpbraid::RetryConfig;
using mcpbraid::TimePoint;
using nlohmann::json;

namespace {

const TimePoint t0{};
TimePoint at(long long ms) {
  return t0 + Milliseconds(ms);
}

BreakerConfig breaker_config(int failures, int successes, long long reset_ms, int probes) {
  BreakerConfig c;
  c.enabled = true;
  c.failure_threshold = failures;
  c.success_threshold = successes;
  c.reset_timeout = Milliseconds(reset_ms);
  c.half_open_max_requests = probes;
  return c;
}

struct Recorder {
  std::vector<CircuitBreaker::Transition> seen;
  CircuitBreaker::OnTransition callback() {
    return [this](const CircuitBreaker::Transition& t) { seen.push_back(t); };
  }
};

// Opens a breaker that is closed at `now` with `threshold` failures.
void trip(CircuitBreaker& b, TimePoint now) {
  for (int i = 0; i < b.config().failure_threshold; ++i) {
    REQUIRE(b.admit(now));
    b.record_failure(now, "boom");
  }
}

mcpbraid::Config parse_ok(const std::string& text) {
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return mcpbraid::parse_config(json::parse(text), "cfg.json", none);
}

std::string config_error(const std::string& text) {
  try {
    parse_ok(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// ============================================================ circuit breaker

TEST_CASE("breaker: opens after exactly failure_threshold consecutive failures") {
  Recorder rec;
  CircuitBreaker b(breaker_config(3, 2, 1000, 1), rec.callback());
  CHECK(b.state(at(0)) == CircuitState::closed);
  CHECK(b.retry_after(at(0)) == Milliseconds(0));
  b.record_failure(at(1), "e1");
  b.record_failure(at(2), "e2");
  CHECK(b.consecutive_failures() == 2);
  CHECK(b.state(at(2)) == CircuitState::closed);
  CHECK(b.admit(at(2)));
  CHECK(rec.seen.empty());
  b.record_failure(at(3), "e3");
  CHECK(b.consecutive_failures() == 3);
  CHECK(b.state(at(3)) == CircuitState::open);
  REQUIRE(rec.seen.size() == 1);
  CHECK(rec.seen[0].from == CircuitState::closed);
  CHECK(rec.seen[0].to == CircuitState::open);
  CHECK(rec.seen[0].reason.find("3 consecutive failures") != std::string::npos);
  CHECK(rec.seen[0].reason.find("e3") != std::string::npos);
}

TEST_CASE("breaker: a success in between resets the consecutive failure count") {
  CircuitBreaker b(breaker_config(3, 1, 1000, 1));
  b.record_failure(at(0), "x");
  b.record_failure(at(0), "x");
  b.record_success(at(0));
  CHECK(b.consecutive_failures() == 0);
  b.record_failure(at(0), "x");
  b.record_failure(at(0), "x");
  CHECK(b.state(at(0)) == CircuitState::closed);
  CHECK(b.admit(at(0)));
  b.record_failure(at(0), "x");
  CHECK(b.state(at(0)) == CircuitState::open);
}

TEST_CASE("breaker: while open admit() refuses and retry_after counts down exactly") {
  CircuitBreaker b(breaker_config(2, 1, 1000, 1));
  trip(b, at(100));
  CHECK(b.state(at(100)) == CircuitState::open);
  CHECK(b.retry_after(at(100)) == Milliseconds(1000));
  CHECK_FALSE(b.admit(at(100)));
  CHECK(b.retry_after(at(350)) == Milliseconds(750));
  CHECK_FALSE(b.admit(at(350)));
  CHECK(b.retry_after(at(1099)) == Milliseconds(1));
  CHECK_FALSE(b.admit(at(1099)));
  CHECK(b.state(at(1099)) == CircuitState::open);
  // A sub-millisecond remainder rounds up, never to 0 while still open.
  CHECK(b.retry_after(at(1099) + std::chrono::microseconds(500)) == Milliseconds(1));
  CHECK(b.retry_after(at(1100)) == Milliseconds(0));
}

TEST_CASE("breaker: open becomes half-open after reset_timeout on admit") {
  Recorder rec;
  CircuitBreaker b(breaker_config(1, 1, 500, 1), rec.callback());
  trip(b, at(0));
  CHECK(b.state(at(500)) == CircuitState::half_open);  // observed, not yet moved
  REQUIRE(rec.seen.size() == 1);
  CHECK(b.admit(at(500)));
  REQUIRE(rec.seen.size() == 2);
  CHECK(rec.seen[1].from == CircuitState::open);
  CHECK(rec.seen[1].to == CircuitState::half_open);
  CHECK(rec.seen[1].reason == "reset_timeout elapsed");
  CHECK(b.state(at(500)) == CircuitState::half_open);
  CHECK(b.retry_after(at(500)) == Milliseconds(0));
}

TEST_CASE("breaker: half-open admits only half_open_max_requests probes") {
  CircuitBreaker b(breaker_config(1, 5, 100, 2));
  trip(b, at(0));
  CHECK(b.admit(at(100)));
  CHECK(b.admit(at(100)));
  CHECK_FALSE(b.admit(at(100)));
  CHECK_FALSE(b.admit(at(101)));
  CHECK(b.state(at(101)) == CircuitState::half_open);
  // One probe succeeds (not enough to close): its slot is free again.
  b.record_success(at(102));
  CHECK(b.state(at(102)) == CircuitState::half_open);
  CHECK(b.admit(at(102)));
  CHECK_FALSE(b.admit(at(102)));
}

TEST_CASE("breaker: half-open with one probe refuses the second until the first ends") {
  CircuitBreaker b(breaker_config(1, 1, 100, 1));
  trip(b, at(0));
  CHECK(b.admit(at(100)));
  CHECK_FALSE(b.admit(at(100)));
  CHECK_FALSE(b.admit(at(150)));
}

TEST_CASE("breaker: a failed probe opens again with a fresh reset_timeout") {
  Recorder rec;
  CircuitBreaker b(breaker_config(2, 1, 1000, 1), rec.callback());
  trip(b, at(0));
  REQUIRE(b.admit(at(1000)));
  b.record_failure(at(1200), "still broken");
  CHECK(b.state(at(1200)) == CircuitState::open);
  CHECK(b.retry_after(at(1200)) == Milliseconds(1000));
  CHECK_FALSE(b.admit(at(1200)));
  CHECK_FALSE(b.admit(at(2199)));  // measured from the re-open, not the first open
  CHECK(b.retry_after(at(2199)) == Milliseconds(1));
  CHECK(b.admit(at(2200)));
  CHECK(b.state(at(2200)) == CircuitState::half_open);
  REQUIRE(rec.seen.size() == 4);
  CHECK(rec.seen[2].from == CircuitState::half_open);
  CHECK(rec.seen[2].to == CircuitState::open);
  CHECK(rec.seen[2].reason == "probe failed: still broken");
  CHECK(rec.seen[3].from == CircuitState::open);
  CHECK(rec.seen[3].to == CircuitState::half_open);
}

TEST_CASE("breaker: success_threshold successful probes close it") {
  Recorder rec;
  CircuitBreaker b(breaker_config(1, 3, 100, 1), rec.callback());
  trip(b, at(0));
  for (int i = 0; i < 2; ++i) {
    REQUIRE(b.admit(at(100 + i)));
    b.record_success(at(100 + i));
    CHECK(b.state(at(100 + i)) == CircuitState::half_open);
  }
  REQUIRE(b.admit(at(110)));
  b.record_success(at(110));
  CHECK(b.state(at(110)) == CircuitState::closed);
  CHECK(b.consecutive_failures() == 0);
  CHECK(b.retry_after(at(110)) == Milliseconds(0));
  // Closed again: everything is admitted.
  for (int i = 0; i < 10; ++i) CHECK(b.admit(at(111)));
  REQUIRE(rec.seen.size() == 3);
  CHECK(rec.seen[2].from == CircuitState::half_open);
  CHECK(rec.seen[2].to == CircuitState::closed);
  CHECK(rec.seen[2].reason == "3 successful probes");
}

TEST_CASE("breaker: after closing, it takes failure_threshold fresh failures to open again") {
  CircuitBreaker b(breaker_config(2, 1, 100, 1));
  trip(b, at(0));
  REQUIRE(b.admit(at(100)));
  b.record_success(at(100));
  REQUIRE(b.state(at(100)) == CircuitState::closed);
  b.record_failure(at(101), "a");
  CHECK(b.state(at(101)) == CircuitState::closed);
  b.record_failure(at(102), "b");
  CHECK(b.state(at(102)) == CircuitState::open);
  CHECK(b.retry_after(at(102)) == Milliseconds(100));
}

TEST_CASE("breaker: release() gives a half-open probe slot back") {
  CircuitBreaker b(breaker_config(1, 2, 100, 1));
  trip(b, at(0));
  REQUIRE(b.admit(at(100)));
  CHECK_FALSE(b.admit(at(100)));
  b.release(at(101));
  CHECK(b.state(at(101)) == CircuitState::half_open);
  CHECK(b.admit(at(101)));
  CHECK_FALSE(b.admit(at(101)));
  // Releasing more than was taken never creates extra slots.
  b.release(at(102));
  b.release(at(102));
  CHECK(b.admit(at(102)));
  CHECK_FALSE(b.admit(at(102)));
}

TEST_CASE("breaker: release() while closed changes nothing") {
  CircuitBreaker b(breaker_config(2, 1, 100, 1));
  b.release(at(0));
  CHECK(b.state(at(0)) == CircuitState::closed);
  CHECK(b.admit(at(0)));
}

TEST_CASE("breaker: a disabled breaker always admits and never transitions") {
  Recorder rec;
  BreakerConfig c = breaker_config(1, 1, 100, 1);
  c.enabled = false;
  CircuitBreaker b(c, rec.callback());
  for (int i = 0; i < 50; ++i) {
    CHECK(b.admit(at(i)));
    b.record_failure(at(i), "x");
  }
  CHECK(b.consecutive_failures() == 50);
  CHECK(b.state(at(50)) == CircuitState::closed);
  CHECK(b.retry_after(at(50)) == Milliseconds(0));
  CHECK(rec.seen.empty());
  b.record_success(at(51));
  CHECK(b.consecutive_failures() == 0);
}

TEST_CASE("breaker: transitions are reported in order with from, to and reason") {
  Recorder rec;
  CircuitBreaker b(breaker_config(2, 1, 100, 1), rec.callback());
  b.record_failure(at(0), "first");
  b.record_failure(at(1), "timeout");
  REQUIRE(b.admit(at(101)));
  b.record_failure(at(101), "crash");
  REQUIRE(b.admit(at(201)));
  b.record_success(at(201));
  REQUIRE(rec.seen.size() == 5);
  const CircuitState expect[5][2] = {{CircuitState::closed, CircuitState::open},
                                     {CircuitState::open, CircuitState::half_open},
                                     {CircuitState::half_open, CircuitState::open},
                                     {CircuitState::open, CircuitState::half_open},
                                     {CircuitState::half_open, CircuitState::closed}};
  for (std::size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(rec.seen[i].from == expect[i][0]);
    CHECK(rec.seen[i].to == expect[i][1]);
  }
  CHECK(rec.seen[0].reason == "2 consecutive failures, last: timeout");
  CHECK(rec.seen[1].reason == "reset_timeout elapsed");
  CHECK(rec.seen[2].reason == "probe failed: crash");
  CHECK(rec.seen[3].reason == "reset_timeout elapsed");
  CHECK(rec.seen[4].reason == "1 successful probes");
}

TEST_CASE("breaker: state names") {
  CHECK(std::string(mcpbraid::to_string(CircuitState::closed)) == "closed");
  CHECK(std::string(mcpbraid::to_string(CircuitState::open)) == "open");
  CHECK(std::string(mcpbraid::to_string(CircuitState::half_open)) == "half_open");
}

// ============================================================ latency / health

TEST_CASE("histogram: empty reads 0 at every percentile") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile(0) == 0);
  CHECK(h.percentile(50) == 0);
  CHECK(h.percentile(100) == 0);
}

TEST_CASE("histogram: small values (< 16 us) are exact") {
  LatencyHistogram h;
  for (std::uint64_t v = 0; v < 16; ++v) h.record(v);
  CHECK(h.count() == 16);
  CHECK(h.percentile(100) == 15);
  CHECK(h.percentile(50) == 7);  // rank 8 -> value 7
  CHECK(h.percentile(0) == 0);
}

TEST_CASE("histogram: a single value is read back within 12.5% above, never below") {
  for (std::uint64_t v :
       {16ULL, 17ULL, 100ULL, 999ULL, 1000ULL, 123456ULL, 1000000ULL, 60000000ULL, 3600000000ULL}) {
    CAPTURE(v);
    LatencyHistogram h;
    h.record(v);
    auto p = h.percentile(50);
    CHECK(p >= v);
    CHECK(static_cast<double>(p) <= static_cast<double>(v) * 1.125);
  }
}

TEST_CASE("histogram: 1..1000 ms uniform gives p50 ~ 500ms, p95 ~ 950ms, p99 ~ 990ms") {
  LatencyHistogram h;
  for (std::uint64_t ms = 1; ms <= 1000; ++ms) h.record(ms * 1000);
  CHECK(h.count() == 1000);
  auto within = [](std::uint64_t got, double exact) {
    return static_cast<double>(got) >= exact && static_cast<double>(got) <= exact * 1.125;
  };
  CHECK(within(h.percentile(50), 500000));
  CHECK(within(h.percentile(95), 950000));
  CHECK(within(h.percentile(99), 990000));
  CHECK(within(h.percentile(100), 1000000));
  CHECK(within(h.percentile(1), 10000));
}

TEST_CASE("health: empty snapshot") {
  HealthTracker h;
  auto s = h.snapshot();
  CHECK(s.successes == 0);
  CHECK(s.failures == 0);
  CHECK(s.consecutive_failures == 0);
  CHECK(s.healthy);
  CHECK(s.p50_ms == 0.0);
  CHECK(s.p95_ms == 0.0);
  CHECK(s.p99_ms == 0.0);
  CHECK_FALSE(s.last_success.has_value());
  CHECK_FALSE(s.last_failure.has_value());
  CHECK(s.last_error.empty());
}

TEST_CASE(
    "health: unhealthy after exactly unhealthy_after consecutive failures; a success resets") {
  HealthConfig c;
  c.unhealthy_after = 3;
  HealthTracker h(c);
  h.record_failure(at(10), "a");
  h.record_failure(at(20), "b");
  CHECK(h.healthy());
  CHECK(h.snapshot().consecutive_failures == 2);
  h.record_failure(at(30), "c");
  CHECK_FALSE(h.healthy());
  auto s = h.snapshot();
  CHECK_FALSE(s.healthy);
  CHECK(s.consecutive_failures == 3);
  CHECK(s.failures == 3);
  CHECK(s.successes == 0);
  REQUIRE(s.last_failure.has_value());
  CHECK(*s.last_failure == at(30));
  CHECK(s.last_error == "c");
  CHECK_FALSE(s.last_success.has_value());

  h.record_success(at(40), std::chrono::milliseconds(7));
  s = h.snapshot();
  CHECK(s.healthy);
  CHECK(s.consecutive_failures == 0);
  CHECK(s.successes == 1);
  CHECK(s.failures == 3);
  REQUIRE(s.last_success.has_value());
  CHECK(*s.last_success == at(40));
  CHECK(*s.last_failure == at(30));
  CHECK(s.last_error == "c");  // the last error is kept after a success
  CHECK(s.p50_ms >= 7.0);
  CHECK(s.p50_ms <= 7.0 * 1.125);
}

TEST_CASE("health: unhealthy_after 1 flips on the first failure") {
  HealthConfig c;
  c.unhealthy_after = 1;
  HealthTracker h(c);
  CHECK(h.healthy());
  h.record_failure(at(0), "x");
  CHECK_FALSE(h.healthy());
}

TEST_CASE("health: latency percentiles in milliseconds") {
  HealthTracker h;
  for (int ms = 1; ms <= 100; ++ms) h.record_success(at(ms), std::chrono::milliseconds(ms));
  auto s = h.snapshot();
  CHECK(s.successes == 100);
  CHECK(s.p50_ms >= 50.0);
  CHECK(s.p50_ms <= 50.0 * 1.125);
  CHECK(s.p95_ms >= 95.0);
  CHECK(s.p95_ms <= 95.0 * 1.125);
  CHECK(s.p99_ms >= 99.0);
  CHECK(s.p99_ms <= 99.0 * 1.125);
  CHECK(*s.last_success == at(100));
}

TEST_CASE("health: a negative latency is recorded as 0") {
  HealthTracker h;
  h.record_success(at(0), std::chrono::microseconds(-5));
  auto s = h.snapshot();
  CHECK(s.successes == 1);
  CHECK(s.p99_ms == 0.0);
}

// ==================================================================== retries

TEST_CASE("retry_safe: exactly the safe set") {
  for (const char* m :
       {"initialize", "ping", "tools/list", "prompts/list", "resources/list",
        "resources/templates/list", "resources/read", "prompts/get", "completion/complete"}) {
    CAPTURE(m);
    CHECK(mcpbraid::retry_safe(m, false));
    CHECK(mcpbraid::retry_safe(m, true));
  }
  CHECK_FALSE(mcpbraid::retry_safe("tools/call", false));
  CHECK(mcpbraid::retry_safe("tools/call", true));
  for (const char* m : {"resources/subscribe", "resources/unsubscribe", "logging/setLevel",
                        "notifications/initialized", "sampling/createMessage", "", "tools",
                        "tools/list/", "PING"}) {
    CAPTURE(m);
    CHECK_FALSE(mcpbraid::retry_safe(m, false));
    CHECK_FALSE(mcpbraid::retry_safe(m, true));
  }
}

TEST_CASE("retry_backoff: doubling, full jitter in [base/2, base], capped at max_backoff") {
  RetryConfig c;
  c.max_attempts = 5;
  c.initial_backoff = Milliseconds(100);
  c.max_backoff = Milliseconds(1000);
  // jitter 0 -> base/2
  CHECK(mcpbraid::retry_backoff(c, 1, 0.0) == Milliseconds(50));
  CHECK(mcpbraid::retry_backoff(c, 2, 0.0) == Milliseconds(100));
  CHECK(mcpbraid::retry_backoff(c, 3, 0.0) == Milliseconds(200));
  CHECK(mcpbraid::retry_backoff(c, 4, 0.0) == Milliseconds(400));
  CHECK(mcpbraid::retry_backoff(c, 5, 0.0) == Milliseconds(500));  // base capped at 1000
  CHECK(mcpbraid::retry_backoff(c, 30, 0.0) == Milliseconds(500));
  CHECK(mcpbraid::retry_backoff(c, 1000, 0.0) == Milliseconds(500));  // no overflow
  // jitter 1 -> base
  CHECK(mcpbraid::retry_backoff(c, 1, 1.0) == Milliseconds(100));
  CHECK(mcpbraid::retry_backoff(c, 2, 1.0) == Milliseconds(200));
  CHECK(mcpbraid::retry_backoff(c, 3, 1.0) == Milliseconds(400));
  CHECK(mcpbraid::retry_backoff(c, 4, 1.0) == Milliseconds(800));
  CHECK(mcpbraid::retry_backoff(c, 5, 1.0) == Milliseconds(1000));
  CHECK(mcpbraid::retry_backoff(c, 30, 1.0) == Milliseconds(1000));
  // jitter just below 1 stays in [base/2, base]
  for (int attempt = 1; attempt <= 6; ++attempt) {
    CAPTURE(attempt);
    auto d = mcpbraid::retry_backoff(c, attempt, 0.999999);
    auto lo = mcpbraid::retry_backoff(c, attempt, 0.0);
    auto hi = mcpbraid::retry_backoff(c, attempt, 1.0);
    CHECK(d >= lo);
    CHECK(d <= hi);
    CHECK(d >= hi - Milliseconds(1));
  }
  // jitter 0.5 -> 3/4 of base
  CHECK(mcpbraid::retry_backoff(c, 1, 0.5) == Milliseconds(75));
  CHECK(mcpbraid::retry_backoff(c, 3, 0.5) == Milliseconds(300));
}

TEST_CASE("retry_backoff: jitter outside [0,1] is clamped") {
  RetryConfig c;
  c.initial_backoff = Milliseconds(100);
  c.max_backoff = Milliseconds(2000);
  CHECK(mcpbraid::retry_backoff(c, 1, -3.0) == Milliseconds(50));
  CHECK(mcpbraid::retry_backoff(c, 1, 7.0) == Milliseconds(100));
}

TEST_CASE("retry_backoff: a cap that is not a power-of-two multiple is honoured exactly") {
  RetryConfig c;
  c.initial_backoff = Milliseconds(300);
  c.max_backoff = Milliseconds(1000);
  CHECK(mcpbraid::retry_backoff(c, 1, 1.0) == Milliseconds(300));
  CHECK(mcpbraid::retry_backoff(c, 2, 1.0) == Milliseconds(600));
  CHECK(mcpbraid::retry_backoff(c, 3, 1.0) == Milliseconds(1000));
  CHECK(mcpbraid::retry_backoff(c, 3, 0.0) == Milliseconds(500));
}

TEST_CASE("RetryBudget: starts at burst, spends one per retry, refills by ratio, capped at burst") {
  RetryBudget budget(0.5, 3);
  CHECK(budget.tokens() == doctest::Approx(3.0));
  budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(3.0));  // never above burst
  CHECK(budget.try_spend());
  CHECK(budget.try_spend());
  CHECK(budget.try_spend());
  CHECK(budget.tokens() == doctest::Approx(0.0));
  CHECK_FALSE(budget.try_spend());
  budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(0.5));
  CHECK_FALSE(budget.try_spend());
  CHECK(budget.tokens() == doctest::Approx(0.5));  // a refused spend costs nothing
  budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(1.0));
  CHECK(budget.try_spend());
  CHECK(budget.tokens() == doctest::Approx(0.0));
  for (int i = 0; i < 100; ++i) budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(3.0));
}

TEST_CASE("RetryBudget: defaults are ratio 0.2, burst 10") {
  RetryBudget budget;
  CHECK(budget.tokens() == doctest::Approx(10.0));
  for (int i = 0; i < 10; ++i) CHECK(budget.try_spend());
  CHECK_FALSE(budget.try_spend());
  for (int i = 0; i < 4; ++i) budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(0.8));
  CHECK_FALSE(budget.try_spend());
  budget.on_request();
  CHECK(budget.tokens() == doctest::Approx(1.0));
  CHECK(budget.try_spend());
}

// =================================================================== restarts

namespace {
RestartConfig restart_config(long long initial, long long max, int restarts, long long window) {
  RestartConfig c;
  c.initial_backoff = Milliseconds(initial);
  c.max_backoff = Milliseconds(max);
  c.max_restarts = restarts;
  c.window = Milliseconds(window);
  return c;
}
}  // namespace

TEST_CASE("restart: delays grow exponentially (jitter 0 -> half of base) up to max_backoff") {
  RestartPolicy p(restart_config(1000, 8000, 100, 1000000));
  CHECK(p.on_exit(at(0), 0.0) == Milliseconds(500));
  CHECK(p.on_exit(at(1), 0.0) == Milliseconds(1000));
  CHECK(p.on_exit(at(2), 0.0) == Milliseconds(2000));
  CHECK(p.on_exit(at(3), 0.0) == Milliseconds(4000));
  CHECK(p.on_exit(at(4), 0.0) == Milliseconds(4000));  // base capped at 8000
  CHECK(p.on_exit(at(5), 1.0) == Milliseconds(8000));
  CHECK(p.restarts_in_window() == 6);
}

TEST_CASE("restart: jitter 1 gives the full base") {
  RestartPolicy p(restart_config(1000, 30000, 10, 60000));
  CHECK(p.on_exit(at(0), 1.0) == Milliseconds(1000));
  CHECK(p.on_exit(at(1), 1.0) == Milliseconds(2000));
  CHECK(p.on_exit(at(2), 0.5) == Milliseconds(3000));
}

TEST_CASE("restart: gives up on the (max_restarts+1)th exit within the window") {
  RestartPolicy p(restart_config(100, 1000, 3, 60000));
  CHECK(p.on_exit(at(0), 0.0).has_value());
  CHECK(p.on_exit(at(1000), 0.0).has_value());
  CHECK(p.on_exit(at(2000), 0.0).has_value());
  CHECK(p.restarts_in_window() == 3);
  CHECK_FALSE(p.on_exit(at(3000), 0.0).has_value());
  CHECK(p.restarts_in_window() == 4);
}

TEST_CASE("restart: max_restarts 0 gives up on the first exit") {
  RestartPolicy p(restart_config(100, 1000, 0, 60000));
  CHECK_FALSE(p.on_exit(at(0), 0.0).has_value());
}

TEST_CASE("restart: exits older than the window are forgotten") {
  RestartPolicy p(restart_config(100, 1000, 2, 10000));
  CHECK(p.on_exit(at(0), 0.0).has_value());
  CHECK(p.on_exit(at(5000), 0.0).has_value());
  CHECK(p.restarts_in_window() == 2);
  // at 10001 the exit at 0 is more than a window old: only 2 in the window.
  CHECK(p.on_exit(at(10001), 0.0).has_value());
  CHECK(p.restarts_in_window() == 2);
  // at 15002 the one at 5000 is gone too.
  CHECK(p.on_exit(at(15002), 0.0).has_value());
  CHECK(p.restarts_in_window() == 2);
  // three within 10s -> give up.
  CHECK_FALSE(p.on_exit(at(15003), 0.0).has_value());
  CHECK(p.restarts_in_window() == 3);
}

TEST_CASE(
    "restart: a server that crashes right after each initialize waits twice as long each time") {
  RestartPolicy p(restart_config(1000, 8000, 100, 1000000));
  // Each start initializes at once and exits 10 ms later.
  std::vector<long long> delays;
  long long t = 0;
  for (int i = 0; i < 6; ++i) {
    p.on_healthy(at(t));
    t += 10;
    auto delay = p.on_exit(at(t), 0.0);
    REQUIRE(delay);
    delays.push_back(delay->count());
    t += delay->count();
  }
  CHECK(delays == std::vector<long long>{500, 1000, 2000, 4000, 4000, 4000});
}

TEST_CASE("restart: with any jitter the crash-loop delay stays within [base/2, base] of 2^n") {
  RestartPolicy p(restart_config(100, 100000, 100, 100000000));
  long long t = 0;
  for (int i = 1; i <= 8; ++i) {
    p.on_healthy(at(t));
    double jitter = (i % 3) / 2.0;  // 0, 0.5, 1
    auto delay = p.on_exit(at(t + 1), jitter);
    REQUIRE(delay);
    long long base = 100LL << (i - 1);
    CHECK(delay->count() >= base / 2);
    CHECK(delay->count() <= base);
    t += 1 + delay->count();
  }
}

TEST_CASE("restart: up for twice max_backoff after initializing -> the backoff starts over") {
  RestartPolicy p(restart_config(1000, 30000, 100, 1000000));
  CHECK(p.sustained_uptime() == Milliseconds(60000));
  CHECK(p.on_exit(at(0), 0.0) == Milliseconds(500));
  CHECK(p.on_exit(at(1), 0.0) == Milliseconds(1000));
  CHECK(p.on_exit(at(2), 0.0) == Milliseconds(2000));
  p.on_healthy(at(1000));
  // One millisecond short of 60 s up: still growing.
  CHECK(p.on_exit(at(1000 + 59999), 0.0) == Milliseconds(4000));
  p.on_healthy(at(100000));
  CHECK(p.on_exit(at(100000 + 60000), 0.0) == Milliseconds(500));
  CHECK(p.on_exit(at(170000), 0.0) == Milliseconds(1000));
}

TEST_CASE("restart: a max_backoff near the limit saturates the sustained uptime, no overflow") {
  RestartPolicy p(restart_config(1000, std::numeric_limits<long long>::max(), 100, 1000000));
  CHECK(p.sustained_uptime() == Milliseconds::max());
  p.on_healthy(at(0));
  CHECK(p.on_exit(at(10), 0.0) == Milliseconds(500));
  p.on_healthy(at(20));
  CHECK(p.on_exit(at(30), 0.0) == Milliseconds(1000));
}

TEST_CASE("restart: an exit without an initialize since the last one never resets the backoff") {
  RestartPolicy p(restart_config(1000, 8000, 100, 100000000));
  p.on_healthy(at(0));
  CHECK(p.on_exit(at(10), 0.0) == Milliseconds(500));
  // A start that never initialized, exiting long after: the uptime of the
  // earlier run does not count again.
  CHECK(p.on_exit(at(1000000), 0.0) == Milliseconds(1000));
}

TEST_CASE("restart: a reset backoff keeps the window count") {
  RestartPolicy p(restart_config(1000, 8000, 5, 60000));
  CHECK(p.on_exit(at(0), 0.0) == Milliseconds(500));
  CHECK(p.on_exit(at(1), 0.0) == Milliseconds(1000));
  p.on_healthy(at(10));
  CHECK(p.on_exit(at(16010), 0.0) == Milliseconds(500));
  CHECK(p.restarts_in_window() == 3);
}

TEST_CASE("deadline: due at start + timeout, expired from then on") {
  Deadline d(at(1000), Milliseconds(500), Milliseconds(5000));
  CHECK(d.due() == at(1500));
  CHECK_FALSE(d.expired(at(1000)));
  CHECK_FALSE(d.expired(at(1499)));
  CHECK(d.expired(at(1500)));
  CHECK(d.expired(at(9999)));
}

TEST_CASE("deadline: progress moves due to now + timeout, never earlier") {
  Deadline d(at(0), Milliseconds(500), Milliseconds(5000));
  d.on_progress(at(400));
  CHECK(d.due() == at(900));
  CHECK_FALSE(d.expired(at(899)));
  CHECK(d.expired(at(900)));
  d.on_progress(at(100));  // a stale progress time does not pull it in
  CHECK(d.due() == at(900));
  d.on_progress(at(800));
  CHECK(d.due() == at(1300));
}

TEST_CASE("deadline: never beyond start + max_timeout") {
  Deadline d(at(0), Milliseconds(500), Milliseconds(2000));
  for (int t = 0; t <= 10000; t += 300) d.on_progress(at(t));
  CHECK(d.due() == at(2000));
  CHECK_FALSE(d.expired(at(1999)));
  CHECK(d.expired(at(2000)));
  d.on_progress(at(1800));
  CHECK(d.due() == at(2000));
}

TEST_CASE("deadline: max_timeout shorter than timeout leaves timeout as the limit") {
  Deadline d(at(0), Milliseconds(500), Milliseconds(100));
  CHECK(d.due() == at(500));
  d.on_progress(at(300));
  CHECK(d.due() == at(500));
}

// ============================================================ configuration

TEST_CASE("config: defaults when no failsafe or restart is given") {
  auto c = parse_ok(R"({"mcpServers":{"a":{"command":"x"}}})");
  REQUIRE(c.servers.size() == 1);
  const auto& f = c.servers[0].failsafe;
  CHECK(f.timeout == Milliseconds(60000));
  CHECK(f.max_timeout == Milliseconds(600000));
  CHECK(f.retry.max_attempts == 3);
  CHECK(f.retry.initial_backoff == Milliseconds(100));
  CHECK(f.retry.max_backoff == Milliseconds(2000));
  CHECK(f.circuit_breaker.enabled);
  CHECK(f.circuit_breaker.failure_threshold == 5);
  CHECK(f.circuit_breaker.success_threshold == 3);
  CHECK(f.circuit_breaker.reset_timeout == Milliseconds(30000));
  CHECK(f.circuit_breaker.half_open_max_requests == 1);
  CHECK(f.health.unhealthy_after == 3);
  CHECK(f.max_in_flight == 64);
  const auto& r = c.servers[0].restart;
  CHECK(r.initial_backoff == Milliseconds(1000));
  CHECK(r.max_backoff == Milliseconds(30000));
  CHECK(r.max_restarts == 5);
  CHECK(r.window == Milliseconds(60000));
}

TEST_CASE("config: top-level failsafe and restart are inherited by every server") {
  auto c = parse_ok(R"({
    "failsafe": {"timeout": "5s", "max_timeout": "2m", "max_in_flight": 8,
                 "retry": {"max_attempts": 4, "initial_backoff": "250ms", "max_backoff": "3s"},
                 "circuit_breaker": {"enabled": false, "failure_threshold": 7,
                                     "success_threshold": 2, "reset_timeout": "10s",
                                     "half_open_max_requests": 3},
                 "health": {"unhealthy_after": 9}},
    "restart": {"initial_backoff": "2s", "max_backoff": "1m", "max_restarts": 7, "window": "5m"},
    "mcpServers": {"a": {"command": "x"}, "b": {"command": "y"}}})");
  CHECK(c.failsafe.timeout == Milliseconds(5000));
  REQUIRE(c.servers.size() == 2);
  for (const auto& s : c.servers) {
    CAPTURE(s.name);
    CHECK(s.failsafe.timeout == Milliseconds(5000));
    CHECK(s.failsafe.max_timeout == Milliseconds(120000));
    CHECK(s.failsafe.max_in_flight == 8);
    CHECK(s.failsafe.retry.max_attempts == 4);
    CHECK(s.failsafe.retry.initial_backoff == Milliseconds(250));
    CHECK(s.failsafe.retry.max_backoff == Milliseconds(3000));
    CHECK_FALSE(s.failsafe.circuit_breaker.enabled);
    CHECK(s.failsafe.circuit_breaker.failure_threshold == 7);
    CHECK(s.failsafe.circuit_breaker.success_threshold == 2);
    CHECK(s.failsafe.circuit_breaker.reset_timeout == Milliseconds(10000));
    CHECK(s.failsafe.circuit_breaker.half_open_max_requests == 3);
    CHECK(s.failsafe.health.unhealthy_after == 9);
    CHECK(s.restart.initial_backoff == Milliseconds(2000));
    CHECK(s.restart.max_backoff == Milliseconds(60000));
    CHECK(s.restart.max_restarts == 7);
    CHECK(s.restart.window == Milliseconds(300000));
  }
}

TEST_CASE("config: a server's failsafe overrides key by key, the rest stays top-level") {
  auto c = parse_ok(R"({
    "failsafe": {"timeout": "5s", "retry": {"max_attempts": 4, "initial_backoff": "250ms"},
                 "circuit_breaker": {"failure_threshold": 7, "reset_timeout": "10s"}},
    "restart": {"max_restarts": 7, "window": "5m"},
    "mcpServers": {
      "plain": {"command": "x"},
      "slow": {"command": "y",
               "failsafe": {"timeout": 500, "retry": {"max_attempts": 1},
                            "circuit_breaker": {"failure_threshold": 2}},
               "restart": {"max_restarts": 1}}}})");
  REQUIRE(c.servers.size() == 2);
  const auto& plain = c.servers[0];
  const auto& slow = c.servers[1];
  REQUIRE(plain.name == "plain");
  REQUIRE(slow.name == "slow");
  CHECK(plain.failsafe.timeout == Milliseconds(5000));
  CHECK(plain.failsafe.retry.max_attempts == 4);
  CHECK(plain.failsafe.circuit_breaker.failure_threshold == 7);
  CHECK(plain.restart.max_restarts == 7);

  CHECK(slow.failsafe.timeout == Milliseconds(500));
  CHECK(slow.failsafe.max_timeout == Milliseconds(600000));                   // default
  CHECK(slow.failsafe.retry.max_attempts == 1);                               // own
  CHECK(slow.failsafe.retry.initial_backoff == Milliseconds(250));            // top-level
  CHECK(slow.failsafe.retry.max_backoff == Milliseconds(2000));               // default
  CHECK(slow.failsafe.circuit_breaker.failure_threshold == 2);                // own
  CHECK(slow.failsafe.circuit_breaker.reset_timeout == Milliseconds(10000));  // top-level
  CHECK(slow.failsafe.circuit_breaker.success_threshold == 3);                // default
  CHECK(slow.restart.max_restarts == 1);                                      // own
  CHECK(slow.restart.window == Milliseconds(300000));                         // top-level
  CHECK(slow.restart.initial_backoff == Milliseconds(1000));                  // default
  // The top level itself is not changed by a server's overrides.
  CHECK(c.failsafe.timeout == Milliseconds(5000));
  CHECK(c.failsafe.retry.max_attempts == 4);
  CHECK(c.restart.max_restarts == 7);
}

TEST_CASE("config: unknown keys in failsafe / restart are errors with the exact key path") {
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","failsafe":{"retry":{"bogus":1}}}}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.bogus: unknown key");
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","failsafe":{"bogus":1}}}})") ==
        "cfg.json: mcpServers.a.failsafe.bogus: unknown key");
  CHECK(
      config_error(
          R"({"mcpServers":{"a":{"command":"x","failsafe":{"circuit_breaker":{"threshold":1}}}}})") ==
      "cfg.json: mcpServers.a.failsafe.circuit_breaker.threshold: unknown key");
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","failsafe":{"health":{"x":1}}}}})") ==
        "cfg.json: mcpServers.a.failsafe.health.x: unknown key");
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","restart":{"tries":1}}}})") ==
        "cfg.json: mcpServers.a.restart.tries: unknown key");
  CHECK(config_error(R"({"failsafe":{"retry":{"bogus":1}},"mcpServers":{}})") ==
        "cfg.json: failsafe.retry.bogus: unknown key");
  CHECK(config_error(R"({"restart":{"bogus":1},"mcpServers":{}})") ==
        "cfg.json: restart.bogus: unknown key");
}

TEST_CASE("config: failsafe / restart that are not objects are errors") {
  CHECK(config_error(R"({"failsafe":3,"mcpServers":{}})") ==
        "cfg.json: failsafe: expected an object, got number");
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","restart":[]}}})") ==
        "cfg.json: mcpServers.a.restart: expected an object, got array");
  CHECK(config_error(R"({"mcpServers":{"a":{"command":"x","failsafe":{"retry":true}}}})") ==
        "cfg.json: mcpServers.a.failsafe.retry: expected an object, got boolean");
}

TEST_CASE("config: out-of-range failsafe values name the key") {
  auto server = [](const std::string& failsafe) {
    return config_error(R"({"mcpServers":{"a":{"command":"x","failsafe":)" + failsafe + "}}}");
  };
  CHECK(server(R"({"retry":{"max_attempts":0}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.max_attempts: expected an integer from 1 to 10");
  CHECK(server(R"({"retry":{"max_attempts":11}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.max_attempts: expected an integer from 1 to 10");
  CHECK(server(R"({"retry":{"max_attempts":2.5}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.max_attempts: expected an integer from 1 to 10");
  CHECK(server(R"({"retry":{"max_attempts":"3"}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.max_attempts: expected an integer from 1 to 10");
  CHECK(server(R"({"circuit_breaker":{"failure_threshold":0}})") ==
        "cfg.json: mcpServers.a.failsafe.circuit_breaker.failure_threshold: expected an integer "
        "from 1 to 1000");
  CHECK(server(R"({"circuit_breaker":{"success_threshold":0}})")
            .find("mcpServers.a.failsafe.circuit_breaker.success_threshold:") != std::string::npos);
  CHECK(server(R"({"circuit_breaker":{"half_open_max_requests":0}})")
            .find("mcpServers.a.failsafe.circuit_breaker.half_open_max_requests:") !=
        std::string::npos);
  CHECK(server(R"({"circuit_breaker":{"enabled":"yes"}})") ==
        "cfg.json: mcpServers.a.failsafe.circuit_breaker.enabled: expected true or false");
  CHECK(server(R"({"health":{"unhealthy_after":0}})")
            .find("mcpServers.a.failsafe.health.unhealthy_after:") != std::string::npos);
  CHECK(server(R"({"max_in_flight":0})").find("mcpServers.a.failsafe.max_in_flight:") !=
        std::string::npos);
  CHECK(server(R"({"timeout":"10s","max_timeout":"5s"})") ==
        "cfg.json: mcpServers.a.failsafe.max_timeout: must not be shorter than timeout");
  CHECK(server(R"({"timeout":0})")
            .find("mcpServers.a.failsafe.timeout: expected a positive "
                  "duration") != std::string::npos);
  CHECK(server(R"({"timeout":"soon"})").find("mcpServers.a.failsafe.timeout:") !=
        std::string::npos);
  CHECK(server(R"({"retry":{"initial_backoff":"3s","max_backoff":"1s"}})") ==
        "cfg.json: mcpServers.a.failsafe.retry.max_backoff: must not be shorter than "
        "initial_backoff");
  // Equal bounds are fine.
  CHECK(server(R"({"timeout":"10s","max_timeout":"10s"})") == "(no error)");
  CHECK(server(R"({"retry":{"max_attempts":1}})") == "(no error)");
  CHECK(server(R"({"retry":{"max_attempts":10}})") == "(no error)");
}

TEST_CASE("config: max_timeout below an inherited timeout is an error naming the server key") {
  CHECK(config_error(R"({"failsafe":{"timeout":"30s"},
                         "mcpServers":{"a":{"command":"x","failsafe":{"max_timeout":"10s"}}}})") ==
        "cfg.json: mcpServers.a.failsafe.max_timeout: must not be shorter than timeout");
  CHECK(config_error(R"({"failsafe":{"timeout":"30s","max_timeout":"10s"},"mcpServers":{}})") ==
        "cfg.json: failsafe.max_timeout: must not be shorter than timeout");
}

TEST_CASE("config: out-of-range restart values name the key") {
  auto server = [](const std::string& restart) {
    return config_error(R"({"mcpServers":{"a":{"command":"x","restart":)" + restart + "}}}");
  };
  CHECK(server(R"({"max_restarts":-1})") ==
        "cfg.json: mcpServers.a.restart.max_restarts: expected an integer from 0 to 1000");
  CHECK(server(R"({"max_restarts":0})") == "(no error)");
  CHECK(server(R"({"window":0})").find("mcpServers.a.restart.window:") != std::string::npos);
  CHECK(server(R"({"initial_backoff":"5s","max_backoff":"1s"})") ==
        "cfg.json: mcpServers.a.restart.max_backoff: must not be shorter than initial_backoff");
  CHECK(config_error(R"({"restart":{"max_restarts":1001},"mcpServers":{}})") ==
        "cfg.json: restart.max_restarts: expected an integer from 0 to 1000");
}
