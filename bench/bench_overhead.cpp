// The per-request bookkeeping of mcpbraid at the default (info) level, alone:
// what the gateway and a backend do for every forwarded call besides moving
// bytes. Clock reads, the deadline, the circuit breaker's admission and
// verdict, the retry budget, the health tracker's counters and latency
// histogram, and the trace lines of a request (request.start, the backend's
// answer, request.done), which are debug lines and so must cost only their
// level check. Prints {"ns_per_request": median of 5 runs}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/failsafe.hpp"
#include "core/trace.hpp"

namespace {

using namespace mcpbraid;

double run_once(long requests) {
  CircuitBreaker breaker;
  HealthTracker health;
  RetryBudget budget;
  std::string request_id = "r1";
  auto begin = std::chrono::steady_clock::now();
  for (long i = 0; i < requests; ++i) {
    TimePoint start = Clock::now();
    Deadline deadline(start, Milliseconds(60000), Milliseconds(600000));
    trace::debug("request.start").kv("request_id", request_id).kv("method", "tools/call");
    if (!breaker.admit(start)) std::abort();
    budget.on_request();
    TimePoint now = Clock::now();
    if (deadline.expired(now)) std::abort();
    if (trace::enabled(trace::Level::debug, "backend"))
      trace::debug("backend.response").kv("request_id", request_id);
    health.record_success(now, std::chrono::duration_cast<std::chrono::microseconds>(now - start));
    breaker.record_success(now);
    if (trace::enabled(trace::Level::debug, "request"))
      trace::debug("request.done").kv("request_id", request_id);
  }
  auto elapsed = std::chrono::steady_clock::now() - begin;
  if (health.snapshot().successes != static_cast<std::uint64_t>(requests)) std::abort();
  return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(requests);
}

}  // namespace

int main(int argc, char** argv) {
  long requests = argc > 1 ? std::atol(argv[1]) : 2000000;
  trace::init(trace::Level::info, trace::Format::text);  // the default level
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(run_once(requests));
  std::sort(runs.begin(), runs.end());
  std::printf("{\"ns_per_request\":%.1f,\"requests\":%ld}\n", runs[2], requests);
  return 0;
}
