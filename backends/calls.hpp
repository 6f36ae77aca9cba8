#pragma once
// The call runner: one client request forwarded to one backend, from
// admission to its one answer. Attempts, retries with backoff (only for
// retry-safe calls, within the budget), progress-token mapping and
// cancellation live here; what is in flight lives in the call table
// (core/call_table), never in a second copy.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "backends/timer.hpp"
#include "core/call_table.hpp"
#include "core/id_maps.hpp"
#include "core/jsonrpc.hpp"
#include "core/trace_context.hpp"

namespace mcpbraid {

class Backend;
class Gateway;
struct Reply;

// What the router decided: this request goes to this backend with these
// params (names already translated). `tool` is the server's own tool name
// (for retry safety), "" for other methods.
struct CallSpec {
  Backend& backend;
  json id;
  std::string method;
  json params;
  std::string tool;
  TaskRole task_role = TaskRole::none;
};

class CallRunner {
 public:
  // Forwarded results longer than this are written as head + body rather
  // than shifted in memory to fit a new id.
  static constexpr std::size_t kSplitAbove = 64 * 1024;

  explicit CallRunner(Gateway& gateway);

  void forward(CallSpec spec);
  // A tools/call handled from the raw line (core/rewrite): the name
  // rewritten in the text, no DOM. False when the line needs the full path
  // (anything unusual: a progress token, escapes, an unknown tool, a
  // duplicate id...), which also explains errors.
  bool fast_tool_call(const std::string& line);
  // The client's notifications/cancelled for its request `key`.
  void cancel(const std::string& key, const std::string& reason);
  // An internal error while handling `key`: withdraw it from its backend
  // (the caller answers the client).
  void abandon(const std::string& key);
  // Progress from `backend` with our `token`: the route back to the client
  // (nullptr when stray), the call's deadline pushed out.
  const ProgressRoute* on_progress(Backend& backend, std::int64_t token);
  void cancel_timers();
  // A progress route kept past its call (a task's) ends.
  void drop_progress(std::int64_t token) { progress_.erase(token); }
  // The answer to the client for a call whose backend is done with it
  // (after finish): a result, an error, a failure, or nothing (cancelled).
  void answer(CallHandle h, Reply&& reply);
  // Sends call `h` to its backend again, as it is now (a round of input
  // from a modern backend answered).
  void resend(CallHandle h) { send_attempt(h); }
  // Ends call `h` at its backend and answers the client `reply`.
  void complete(CallHandle h, Reply&& reply) {
    finish(h);
    answer(h, std::move(reply));
  }
  // A multi round-trip retry took over the call: progress goes to the
  // retry's token from now on (null: none).
  void retarget_progress(CallHandle h, json client_token);

 private:
  // The call record routed to `backend`, admitted; nullopt when refused
  // (answered).
  std::optional<CallHandle> prepare(Backend& backend, CallHandle h, const std::string& tool);
  void launch(CallHandle h);
  void send_attempt(CallHandle h);
  void on_reply(CallHandle h, Reply&& reply);
  // No longer at a backend: its progress route and retry timer go.
  void finish(CallHandle h);
  void retry_later(CallHandle h, Milliseconds delay);
  // W3C trace context (core/trace_context) on the params sent to a backend.
  void carry_trace(json& params);
  // A 2026-07-28 request's logLevel toward its backend: in the request's
  // envelope for a modern one; a logging/setLevel at least that verbose,
  // before the request, for one of the handshake era.
  void carry_log_level(Backend& backend, const CallRecord& call, json& params);
  // request.trace: the call's request_id with the trace id it was sent with.
  void log_trace(const CallRecord& call);

  Gateway& g_;
  ProgressMap progress_;
  trace_context::Generator traces_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Timer>> retry_timers_;  // by handle index
};

}  // namespace mcpbraid
