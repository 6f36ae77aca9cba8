#pragma once
// The loop itself: busy-poll after work, and giving the heap back once the
// large messages stop.
#include <asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "backends/timer.hpp"

namespace mcpbraid {

// io.run(), but after handling anything keep polling for `spin` before
// blocking in epoll_wait (spin <= 0: plain io.run()). Returns when the
// io_context stops or runs out of work.
void run_busy_poll(asio::io_context& io, std::chrono::microseconds spin);

// After large results the heap is kept for reuse (see cli/serve.cpp), and
// trimmed once none came for a while.
class HeapTrimmer {
 public:
  static constexpr std::size_t kLargeMessage = 1 << 20;
  static constexpr std::chrono::seconds kTrimAfter{2};

  explicit HeapTrimmer(asio::io_context& io) : io_(io) {}
  // A message of `bytes` went out; large ones (re)arm the trim.
  void after_message(std::size_t bytes);
  void cancel();

 private:
  asio::io_context& io_;
  std::unique_ptr<Timer> timer_;
};

}  // namespace mcpbraid
