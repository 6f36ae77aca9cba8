#include "backends/event_loop.hpp"

#include <malloc.h>
#include <sched.h>

namespace mcpbraid {

void run_busy_poll(asio::io_context& io, std::chrono::microseconds spin) {
  // Poll-then-block. After handling anything, keep polling (yielding the
  // CPU between polls) for up to busy_poll_us before blocking in epoll_wait:
  // the backend's answer to what we just forwarded, or the client's next
  // request, usually lands within tens of µs, and catching it awake saves
  // a wake-up from idle, which on a VM costs more than the whole hop. Idle,
  // it costs nothing: the spin starts only after work. Real time on purpose:
  // this is about the CPU, not about protocol time.
  using Real = std::chrono::steady_clock;
  if (spin.count() <= 0) {
    io.run();
    return;
  }
  while (io.run_one() > 0) {
    auto until = Real::now() + spin;
    while (!io.stopped()) {
      if (io.poll() > 0) {
        until = Real::now() + spin;
        continue;
      }
      if (Real::now() >= until) break;
      ::sched_yield();
    }
  }
}

void HeapTrimmer::after_message(std::size_t bytes) {
  if (bytes < kLargeMessage) return;
  if (!timer_) timer_ = std::make_unique<Timer>(io_);
  timer_->expires_after(kTrimAfter);  // re-arming cancels the previous wait
  timer_->async_wait([](asio::error_code ec) {
    if (!ec) ::malloc_trim(0);
  });
}

void HeapTrimmer::cancel() {
  if (timer_) timer_->cancel();
}

}  // namespace mcpbraid
