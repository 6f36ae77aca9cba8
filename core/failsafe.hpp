#pragma once
// The failsafe of one backend, as pure logic driven by an injected clock:
// circuit breaker, health tracker (with a fixed-size latency histogram),
// retry policy with backoff and budget, and restart policy. No I/O, no
// allocation per request.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace mcpbraid {

struct RetryConfig {
  int max_attempts = 3;  // total attempts, the first included
  Milliseconds initial_backoff{100};
  Milliseconds max_backoff{2000};
  bool operator==(const RetryConfig&) const = default;
};

struct BreakerConfig {
  bool enabled = true;
  int failure_threshold = 5;
  int success_threshold = 3;
  Milliseconds reset_timeout{30000};
  int half_open_max_requests = 1;
  bool operator==(const BreakerConfig&) const = default;
};

struct HealthConfig {
  int unhealthy_after = 3;
  bool operator==(const HealthConfig&) const = default;
};

struct FailsafeConfig {
  Milliseconds timeout{60000};
  Milliseconds max_timeout{600000};
  RetryConfig retry;
  BreakerConfig circuit_breaker;
  HealthConfig health;
  int max_in_flight = 64;
  bool operator==(const FailsafeConfig&) const = default;
};

struct RestartConfig {
  Milliseconds initial_backoff{1000};
  Milliseconds max_backoff{30000};
  int max_restarts = 5;
  Milliseconds window{60000};
  bool operator==(const RestartConfig&) const = default;
};

// ------------------------------------------------------------ circuit breaker

enum class CircuitState { closed, open, half_open };
const char* to_string(CircuitState state);

class CircuitBreaker {
 public:
  struct Transition {
    CircuitState from, to;
    std::string reason;
  };
  using OnTransition = std::function<void(const Transition&)>;

  explicit CircuitBreaker(BreakerConfig config = {}, OnTransition on_transition = nullptr)
      : config_(config), on_transition_(std::move(on_transition)) {}

  // May this request go to the backend now? Open becomes half-open once
  // reset_timeout has passed; half-open admits half_open_max_requests probes.
  bool admit(TimePoint now);
  // A probe (or any request) ended without a verdict: give its slot back.
  void release(TimePoint now);
  void record_success(TimePoint now);
  void record_failure(TimePoint now, std::string_view reason);

  CircuitState state(TimePoint now) const;
  // How long until the next probe is admitted (0 when closed).
  Milliseconds retry_after(TimePoint now) const;
  int consecutive_failures() const { return consecutive_failures_; }
  // Why it last opened ("5 consecutive failures, last: ..."); "" if never.
  const std::string& open_reason() const { return open_reason_; }
  const BreakerConfig& config() const { return config_; }
  // A reload changed the thresholds: the state and counts stay.
  void set_config(BreakerConfig config) { config_ = config; }

 private:
  void move_to(CircuitState to, TimePoint now, std::string reason);
  BreakerConfig config_;
  OnTransition on_transition_;
  CircuitState state_ = CircuitState::closed;
  int consecutive_failures_ = 0;
  int half_open_successes_ = 0;
  int probes_in_flight_ = 0;
  TimePoint opened_at_{};
  std::string open_reason_;
};

// ------------------------------------------------------------ health tracker

// Log-linear histogram of microseconds: 8 sub-buckets per power of two, up to
// ~2^40 us. Recording is O(1) and never allocates; percentiles are read off
// bucket upper bounds (at most 12.5% high).
class LatencyHistogram {
 public:
  static constexpr int kSubBuckets = 8;
  static constexpr int kPowers = 40;
  void record(std::uint64_t micros);
  // p in [0, 100]; 0 when empty.
  std::uint64_t percentile(double p) const;
  std::uint64_t count() const { return count_; }

 private:
  static std::size_t bucket_of(std::uint64_t micros);
  static std::uint64_t upper_bound_of(std::size_t bucket);
  std::array<std::uint64_t, kSubBuckets * kPowers> buckets_{};
  std::uint64_t count_ = 0;
};

struct HealthSnapshot {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;
  int consecutive_failures = 0;
  bool healthy = true;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
  std::optional<TimePoint> last_success, last_failure;
  std::string last_error;
};

class HealthTracker {
 public:
  explicit HealthTracker(HealthConfig config = {}) : config_(config) {}
  // Without a latency (initialize, which measures a start-up rather than a
  // service) it counts but stays out of the percentiles.
  void record_success(TimePoint now, std::optional<std::chrono::microseconds> latency);
  void record_failure(TimePoint now, std::string_view reason);
  HealthSnapshot snapshot() const;
  bool healthy() const { return consecutive_failures_ < config_.unhealthy_after; }
  void set_config(HealthConfig config) { config_ = config; }

 private:
  HealthConfig config_;
  std::uint64_t successes_ = 0, failures_ = 0;
  int consecutive_failures_ = 0;
  LatencyHistogram latency_;
  std::optional<TimePoint> last_success_, last_failure_;
  std::string last_error_;
};

// -------------------------------------------------------------------- retries

// Only what is safe to send twice: initialize, the list methods,
// resources/read, prompts/get, ping, completion/complete, and tools whose
// annotations say readOnlyHint or idempotentHint.
bool retry_safe(std::string_view method, bool tool_read_only_or_idempotent);

// Exponential backoff with full jitter: uniform in [base/2, base] where
// base = initial * 2^(attempt-1), capped at max_backoff. `jitter` in [0,1).
Milliseconds retry_backoff(const RetryConfig& config, int attempt, double jitter);

// A token bucket so that a sick backend is not stormed: each first attempt
// earns `ratio` tokens (up to `burst`), each retry spends one.
class RetryBudget {
 public:
  explicit RetryBudget(double ratio = 0.2, double burst = 10)
      : ratio_(ratio), burst_(burst), tokens_(burst) {}
  void on_request() { tokens_ = std::min(burst_, tokens_ + ratio_); }
  bool try_spend() {
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  double tokens() const { return tokens_; }

 private:
  double ratio_, burst_, tokens_;
};

// ------------------------------------------------------------------- restarts

// Decides when a crashed backend is started again: exponential backoff with
// jitter; more than max_restarts exits within `window` -> give up (failed).
class RestartPolicy {
 public:
  explicit RestartPolicy(RestartConfig config = {}) : config_(config) {}
  // Records an exit; the delay before the next start, or nullopt to give up.
  // The backoff starts over only if the backend had been up (since on_healthy)
  // for sustained_uptime(): a server that initializes and crashes at once
  // waits longer each time, not the shortest backoff forever.
  std::optional<Milliseconds> on_exit(TimePoint now, double jitter);
  // The backend initialized at `now`.
  void on_healthy(TimePoint now) { healthy_since_ = now; }
  // How long a backend must stay up for its next exit to start the backoff
  // over: twice max_backoff (saturating: any duration parses).
  Milliseconds sustained_uptime() const;
  int restarts_in_window() const { return static_cast<int>(exits_.size()); }
  // A reload changed the backoff or the cap: the exits so far still count.
  void set_config(RestartConfig config) { config_ = config; }

 private:
  static constexpr int kSustainedUptimeFactor = 2;
  RestartConfig config_;
  int attempt_ = 0;
  std::optional<TimePoint> healthy_since_;  // unset: not initialized since the last exit
  std::deque<TimePoint> exits_;
};

// ------------------------------------------------------------------ deadlines

// A request's deadline: `timeout` from the start; progress moves it to
// now + timeout, never past start + max_timeout.
class Deadline {
 public:
  Deadline(TimePoint start, Milliseconds timeout, Milliseconds max_timeout)
      : timeout_(timeout), hard_(start + std::max(timeout, max_timeout)), due_(start + timeout) {}
  void on_progress(TimePoint now) { due_ = std::min(hard_, std::max(due_, now + timeout_)); }
  TimePoint due() const { return due_; }
  bool expired(TimePoint now) const { return now >= due_; }

 private:
  Milliseconds timeout_;
  TimePoint hard_;
  TimePoint due_;
};

}  // namespace mcpbraid
