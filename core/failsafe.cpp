#include "core/failsafe.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mcpbraid {

const char* to_string(CircuitState state) {
  switch (state) {
    case CircuitState::closed:
      return "closed";
    case CircuitState::open:
      return "open";
    case CircuitState::half_open:
      return "half_open";
  }
  return "unknown";
}

// ------------------------------------------------------------ circuit breaker

void CircuitBreaker::move_to(CircuitState to, TimePoint now, std::string reason) {
  if (to == state_) return;
  Transition t{state_, to, std::move(reason)};
  state_ = to;
  if (to == CircuitState::open) {
    opened_at_ = now;
    open_reason_ = t.reason;
  }
  if (to == CircuitState::half_open) {
    half_open_successes_ = 0;
    probes_in_flight_ = 0;
  }
  if (to == CircuitState::closed) consecutive_failures_ = 0;
  if (on_transition_) on_transition_(t);
}

bool CircuitBreaker::admit(TimePoint now) {
  if (!config_.enabled) return true;
  if (state_ == CircuitState::open) {
    if (now - opened_at_ < config_.reset_timeout) return false;
    move_to(CircuitState::half_open, now, "reset_timeout elapsed");
  }
  if (state_ == CircuitState::half_open) {
    if (probes_in_flight_ >= config_.half_open_max_requests) return false;
    ++probes_in_flight_;
  }
  return true;
}

void CircuitBreaker::release(TimePoint) {
  if (state_ == CircuitState::half_open && probes_in_flight_ > 0) --probes_in_flight_;
}

void CircuitBreaker::record_success(TimePoint now) {
  consecutive_failures_ = 0;
  if (!config_.enabled) return;
  if (state_ == CircuitState::half_open) {
    if (probes_in_flight_ > 0) --probes_in_flight_;
    if (++half_open_successes_ >= config_.success_threshold)
      move_to(CircuitState::closed, now,
              std::to_string(half_open_successes_) + " successful probes");
  }
}

void CircuitBreaker::record_failure(TimePoint now, std::string_view reason) {
  ++consecutive_failures_;
  if (!config_.enabled) return;
  if (state_ == CircuitState::half_open) {
    if (probes_in_flight_ > 0) --probes_in_flight_;
    move_to(CircuitState::open, now, "probe failed: " + std::string(reason));
  } else if (state_ == CircuitState::closed && consecutive_failures_ >= config_.failure_threshold) {
    move_to(CircuitState::open, now,
            std::to_string(consecutive_failures_) +
                " consecutive failures, last: " + std::string(reason));
  }
}

CircuitState CircuitBreaker::state(TimePoint now) const {
  if (state_ == CircuitState::open && now - opened_at_ >= config_.reset_timeout)
    return CircuitState::half_open;  // will become so on the next admit
  return state_;
}

Milliseconds CircuitBreaker::retry_after(TimePoint now) const {
  if (state_ != CircuitState::open) return Milliseconds(0);
  auto left = opened_at_ + config_.reset_timeout - now;
  return std::max(Milliseconds(0), std::chrono::ceil<Milliseconds>(left));
}

// ------------------------------------------------------------ health tracker

std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  if (micros < kSubBuckets) return static_cast<std::size_t>(micros);
  int power = std::bit_width(micros) - 1;  // >= 3
  int shift = power - 3;                   // keep 3 bits below the leading one
  std::size_t sub = static_cast<std::size_t>((micros >> shift) & (kSubBuckets - 1));
  std::size_t bucket = static_cast<std::size_t>(power - 2) * kSubBuckets + sub;
  return std::min(bucket, static_cast<std::size_t>(kSubBuckets * kPowers - 1));
}

std::uint64_t LatencyHistogram::upper_bound_of(std::size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  std::uint64_t power = bucket / kSubBuckets + 2;
  std::uint64_t sub = bucket % kSubBuckets;
  std::uint64_t shift = power - 3;
  return ((kSubBuckets + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  ++buckets_[bucket_of(micros)];
  ++count_;
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return upper_bound_of(i);
  }
  return upper_bound_of(buckets_.size() - 1);
}

void HealthTracker::record_success(TimePoint now,
                                   std::optional<std::chrono::microseconds> latency) {
  ++successes_;
  consecutive_failures_ = 0;
  last_success_ = now;
  if (latency)
    latency_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency->count())));
}

void HealthTracker::record_failure(TimePoint now, std::string_view reason) {
  ++failures_;
  ++consecutive_failures_;
  last_failure_ = now;
  last_error_ = reason;
}

HealthSnapshot HealthTracker::snapshot() const {
  HealthSnapshot s;
  s.successes = successes_;
  s.failures = failures_;
  s.consecutive_failures = consecutive_failures_;
  s.healthy = healthy();
  s.p50_ms = static_cast<double>(latency_.percentile(50)) / 1000.0;
  s.p95_ms = static_cast<double>(latency_.percentile(95)) / 1000.0;
  s.p99_ms = static_cast<double>(latency_.percentile(99)) / 1000.0;
  s.last_success = last_success_;
  s.last_failure = last_failure_;
  s.last_error = last_error_;
  return s;
}

// -------------------------------------------------------------------- retries

bool retry_safe(std::string_view method, bool tool_read_only_or_idempotent) {
  if (method == "tools/call") return tool_read_only_or_idempotent;
  return method == "initialize" || method == "ping" || method == "tools/list" ||
         method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "resources/read" ||
         method == "prompts/get" || method == "completion/complete";
}

Milliseconds retry_backoff(const RetryConfig& config, int attempt, double jitter) {
  double base = static_cast<double>(config.initial_backoff.count());
  for (int i = 1; i < attempt && base < static_cast<double>(config.max_backoff.count()); ++i)
    base *= 2;
  base = std::min(base, static_cast<double>(config.max_backoff.count()));
  jitter = std::clamp(jitter, 0.0, 1.0);
  return Milliseconds(static_cast<std::int64_t>(base / 2 + base / 2 * jitter));
}

// ------------------------------------------------------------------- restarts

Milliseconds RestartPolicy::sustained_uptime() const {
  if (config_.max_backoff > Milliseconds::max() / kSustainedUptimeFactor)
    return Milliseconds::max();
  return kSustainedUptimeFactor * config_.max_backoff;
}

std::optional<Milliseconds> RestartPolicy::on_exit(TimePoint now, double jitter) {
  // Compared in milliseconds: a huge max_backoff must not overflow in the
  // clock's finer unit.
  if (healthy_since_ &&
      std::chrono::duration_cast<Milliseconds>(now - *healthy_since_) >= sustained_uptime())
    attempt_ = 0;
  healthy_since_.reset();
  exits_.push_back(now);
  while (!exits_.empty() && now - exits_.front() > config_.window) exits_.pop_front();
  if (static_cast<int>(exits_.size()) > config_.max_restarts) return std::nullopt;
  RetryConfig shape{0, config_.initial_backoff, config_.max_backoff};
  return retry_backoff(shape, ++attempt_, jitter);
}

}  // namespace mcpbraid
