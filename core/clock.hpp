#pragma once
// The one clock of mcpbraid. Every time read in core/ and backends/ goes
// through Clock::now(), and every timer is a Timer on this clock
// (backends/timer.hpp), so tests can stop time and move it by hand:
// Clock::set_manual(t), Clock::advance(d), Clock::set_real(). In manual
// mode Asio's reactor still sleeps on a timerfd armed in real time, so a
// test makes it look at its timer queue after moving time (the gateway
// harness schedules a timer due long ago: tests/gateway/harness.hpp).
#include <atomic>
#include <chrono>

namespace mcpbraid {

struct Clock {
  using base = std::chrono::steady_clock;
  using duration = base::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<Clock, duration>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    if (manual_.load(std::memory_order_relaxed)) [[unlikely]]
      return time_point(duration(manual_now_.load(std::memory_order_relaxed)));
    return time_point(base::now().time_since_epoch());
  }

  // Tests only: freeze time at `t` (default: the real now), move it by hand.
  static void set_manual(time_point t) noexcept {
    manual_now_.store(t.time_since_epoch().count(), std::memory_order_relaxed);
    manual_.store(true, std::memory_order_relaxed);
  }
  static void set_manual() noexcept { set_manual(time_point(base::now().time_since_epoch())); }
  static void advance(duration d) noexcept {
    manual_now_.fetch_add(d.count(), std::memory_order_relaxed);
  }
  static void set_real() noexcept { manual_.store(false, std::memory_order_relaxed); }
  static bool manual() noexcept { return manual_.load(std::memory_order_relaxed); }

 private:
  static inline std::atomic<bool> manual_{false};
  static inline std::atomic<rep> manual_now_{0};
};

using TimePoint = Clock::time_point;
using Milliseconds = std::chrono::milliseconds;

}  // namespace mcpbraid
