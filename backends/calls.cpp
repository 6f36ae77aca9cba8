#include "backends/calls.hpp"

#include <algorithm>
#include <random>

#include "backends/gateway.hpp"
#include "core/call_policy.hpp"
#include "core/modern.hpp"
#include "core/rewrite.hpp"
#include "core/trace.hpp"
#include "core/trace_context.hpp"

namespace mcpbraid {

namespace {
std::uint64_t entropy() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}
}  // namespace

CallRunner::CallRunner(Gateway& gateway) : g_(gateway), traces_(entropy()) {}

std::optional<CallHandle> CallRunner::prepare(Backend& backend, CallHandle h,
                                              const std::string& tool) {
  CallRecord* call = g_.calls().get(h);
  if (!call) return std::nullopt;
  call->server = backend.name();
  AdmissionView view{backend.state(),         backend.running(),
                     backend.last_error(),    backend.restart_in(Clock::now()),
                     backend.pending_count(), backend.failsafe().max_in_flight};
  if (auto why = admit(view, backend.breaker(), Clock::now())) {
    g_.client().refuse(call->id, call->method, backend.name(), *why);
    return std::nullopt;
  }
  call->backend = g_.index_of(backend);
  bool safe_tool = call->method == "tools/call" && g_.lists().retry_safe(backend, tool);
  call->retry_safe = retry_safe(call->method, safe_tool);
  return h;
}

void CallRunner::forward(CallSpec spec) {
  auto found = g_.calls().find(rpc::id_key(spec.id));
  if (!found) return;  // answered meanwhile (shutdown)
  auto h = prepare(spec.backend, *found, spec.tool);
  if (!h) return;
  CallRecord* call = g_.calls().get(*h);
  call->task_role = spec.task_role;
  json& params = spec.params;
  // A retry's fields that are not ours mean something to a modern backend
  // only (its own requestState); a legacy one gets the original request.
  if (call->modern && !spec.backend.modern()) modern::take_retry_fields(params);
  auto meta = params.find("_meta");
  if (meta != params.end() && meta->is_object() && meta->contains("progressToken")) {
    // Tokens are only unique per requester: give the backend one of ours.
    call->progress_token = progress_.add(call->backend, (*meta)["progressToken"], *h);
    (*meta)["progressToken"] = call->progress_token;
  }
  carry_trace(params);
  if (call->modern && call->log_rank) carry_log_level(spec.backend, *call, params);
  call->params = params.dump(-1, ' ', false, json::error_handler_t::replace);
  log_trace(*call);
  launch(*h);
}

bool CallRunner::fast_tool_call(const std::string& line) {
  auto raw = scan_tool_call(line, g_.config().max_json_depth);
  if (!raw) return false;
  if (g_.config().gateway_tools && GatewayTools::is_method(raw->name_text)) return false;
  auto route = g_.catalog().tools.find(raw->name_text);
  if (!route) return false;
  Backend* backend = g_.find_backend(route->server);
  if (!backend || g_.calls().contains(raw->key)) return false;

  g_.session().on_backend_request();
  auto h = g_.calls().open(std::move(raw->id), std::move(raw->key), "tools/call", Clock::now());
  if (!h) return false;
  if (trace::enabled(trace::Level::debug, "request")) {
    const CallRecord* call = g_.calls().get(*h);
    trace::debug("request.start")
        .kv("request_id", call->request_id)
        .kv("method", "tools/call")
        .kv("id", call->key);
  }
  if (!prepare(*backend, *h, route->name)) return true;
  CallRecord* call = g_.calls().get(*h);
  // No _meta on this path (scan_tool_call): the trace starts here.
  call->params = trace_context::with_traceparent(with_name(raw->params, raw->name, route->name),
                                                 traces_.traceparent());
  log_trace(*call);
  launch(*h);
  return true;
}

void CallRunner::log_trace(const CallRecord& call) {
  if (trace::enabled(trace::Level::debug, "request"))
    trace::debug("request.trace")
        .kv("request_id", call.request_id)
        .kv("server", call.server)
        .kv("trace_id", trace_context::trace_id_in(call.params));
}

// SEP-414: the client's traceparent (with its tracestate and baggage) goes
// on as it is; a request with none, or an invalid one, starts a trace here
// (an invalid one's tracestate goes with it, as W3C says).
void CallRunner::carry_trace(json& params) {
  if (!params.is_object()) return;
  json& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object();
  auto given = meta.find(trace_context::kTraceparent);
  if (given != meta.end() && given->is_string() &&
      trace_context::trace_id(given->get_ref<const std::string&>()))
    return;
  if (given != meta.end()) meta.erase(trace_context::kTracestate);
  meta[trace_context::kTraceparent] = traces_.traceparent();
}

void CallRunner::carry_log_level(Backend& backend, const CallRecord& call, json& params) {
  std::string level(modern::log_level_name(call.log_rank));
  if (backend.modern()) {
    if (params.is_object()) params["_meta"][modern::kLogLevelKey] = level;
    return;
  }
  // A client that sent initialize sets the level itself (logging/setLevel);
  // messages then flow as they always did.
  if (!g_.session().modern_only() || !backend.capabilities().contains("logging")) return;
  std::uint8_t set = backend.request_log_rank();
  if (set && set <= call.log_rank) return;
  backend.set_request_log_rank(call.log_rank);
  Backend* b = &backend;
  trace::debug("backend.set_level").kv("server", backend.name()).kv("level", level);
  backend.request("logging/setLevel", {{"level", level}}, [b](Reply&& reply) {
    if (!reply.ok())
      trace::warn("backend.set_level_failed")
          .kv("server", b->name())
          .kv("reason", reply.kind == Reply::Kind::error ? reply.value.dump() : reply.reason);
  });
}

void CallRunner::launch(CallHandle h) {
  CallRecord* call = g_.calls().get(h);
  g_.backends()[call->backend]->retry_budget().on_request();
  send_attempt(h);
}

void CallRunner::send_attempt(CallHandle h) {
  CallRecord* call = g_.calls().get(h);
  ++call->attempt;
  call->waiting_retry = false;
  Backend& backend = *g_.backends()[call->backend];
  std::int64_t id = backend.request_raw(
      call->method, call->params, [this, h](Reply&& reply) { on_reply(h, std::move(reply)); },
      call->request_id, /*raw_result=*/!call->modern && call->task_role == TaskRole::none);
  call = g_.calls().get(h);  // answered meanwhile when the backend was not running
  if (!call) return;
  call->backend_id = id;
  // The params are sent again only by a retry (retry-safe calls) or after a
  // round of input (a 2026-07-28 backend); request.done reads the trace id
  // from them. Otherwise they go now: a call in flight keeps no copy.
  if (!call->retry_safe && !backend.modern() && !trace::enabled(trace::Level::debug, "request"))
    std::string().swap(call->params);
}

void CallRunner::on_reply(CallHandle h, Reply&& reply) {
  CallRecord* call = g_.calls().get(h);
  if (!call || call->backend < 0) return;  // already answered or abandoned
  Backend& backend = *g_.backends()[call->backend];
  Gateway::HandlingScope scope(g_, Gateway::Handling{call->id, call->method, backend.name()});
  RetryView view{reply.kind == Reply::Kind::failure,
                 reply.bad_answer,
                 call->retry_safe,
                 call->cancelled,
                 g_.session().draining(),
                 call->attempt};
  if (auto delay =
          retry_delay(view, backend.failsafe().retry, backend.retry_budget(), g_.jitter())) {
    trace::info("request.retry")
        .kv("request_id", call->request_id)
        .kv("server", backend.name())
        .kv("method", call->method)
        .kv("attempt", call->attempt + 1)
        .kv("delay_ms", static_cast<std::int64_t>(delay->count()))
        .kv("reason", reply.reason);
    return retry_later(h, *delay);
  }
  if (backend.modern() && !call->modern) {
    // A 2026-07-28 backend, a client of the handshake era: its requests for
    // input become requests to the client; its results lose what that era
    // does not know.
    if (reply.ok() && modern::input_required(reply.value))
      return g_.asked().start(h, std::move(reply.value));
    g_.asked().forget(h);
    if (reply.ok())
      modern::undecorate_result(reply.value);
    else if (reply.kind == Reply::Kind::error)
      modern::legacy_error(reply.value, call->method);
  }
  // Task ids of the backend become ours (backends/tasks).
  if (call->task_role != TaskRole::none) g_.tasks().on_answer(*call, reply);
  finish(h);
  // A call waiting on its client for input (2026-07-28): kept for the retry.
  if (g_.rounds().hold_final(h, reply)) return;
  answer(h, std::move(reply));
}

void CallRunner::retarget_progress(CallHandle h, json client_token) {
  if (const CallRecord* call = g_.calls().get(h); call && call->progress_token)
    progress_.retarget(call->progress_token, std::move(client_token));
}

void CallRunner::answer(CallHandle h, Reply&& reply) {
  CallRecord* call = g_.calls().get(h);
  if (!call) return;
  ClientChannel& client = g_.client();
  std::string server = call->server;  // set when routed
  if (reply.kind == Reply::Kind::result && !reply.raw.empty()) {
    // Forwarded as it came, only the id rewritten: no DOM. The call's key is
    // its id's JSON text (rpc::id_key).
    std::string line = std::move(reply.raw);
    line += '\n';
    RewrittenLine out = rewrite_response_id(std::move(line), reply.id, call->key, kSplitAbove);
    return client.respond_line(h, std::move(out.head), std::move(out.body), out.body_offset);
  }
  json id = call->id;
  switch (reply.kind) {
    case Reply::Kind::result: {
      return client.reply(id, std::move(reply.value));
    }
    case Reply::Kind::error: {
      json message{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(reply.value)}};
      return client.respond(id, std::move(message));
    }
    case Reply::Kind::failure: {
      std::optional<Milliseconds> retry_after;
      Backend* backend = g_.find_backend(server);
      if (backend && backend->state() == BackendState::backoff)
        retry_after = backend->restart_in(Clock::now());
      return client.reply_unavailable(id, call->method, server, reply.reason, retry_after,
                                      reply.bad_answer);
    }
    case Reply::Kind::cancelled:
      // The client withdrew it: by the spec it expects no answer.
      g_.calls().discard(h);
      return g_.check_drained();
  }
}

void CallRunner::retry_later(CallHandle h, Milliseconds delay) {
  CallRecord* call = g_.calls().get(h);
  call->waiting_retry = true;
  auto& timer = retry_timers_[h.index];
  timer = std::make_unique<Timer>(g_.io(), delay);
  timer->async_wait([this, h](asio::error_code ec) {
    if (ec) return;
    retry_timers_.erase(h.index);
    CallRecord* call = g_.calls().get(h);
    if (!call || call->cancelled || !call->waiting_retry) return;
    Backend& backend = *g_.backends()[call->backend];
    AdmissionView view{backend.state(),         backend.running(),
                       backend.last_error(),    backend.restart_in(Clock::now()),
                       backend.pending_count(), backend.failsafe().max_in_flight};
    if (auto why = admit(view, backend.breaker(), Clock::now())) {
      json id = call->id;
      std::string method = call->method;
      finish(h);
      return g_.client().refuse(id, method, backend.name(), *why);
    }
    send_attempt(h);
  });
}

void CallRunner::finish(CallHandle h) {
  CallRecord* call = g_.calls().get(h);
  if (!call) return;
  if (call->progress_token) progress_.erase(call->progress_token);
  call->progress_token = 0;
  call->backend = -1;
  call->waiting_retry = false;
  if (auto it = retry_timers_.find(h.index); it != retry_timers_.end()) {
    it->second->cancel();
    retry_timers_.erase(it);
  }
}

void CallRunner::cancel(const std::string& key, const std::string& reason) {
  auto h = g_.calls().find(key);
  CallRecord* call = h ? g_.calls().get(*h) : nullptr;
  if (!call || call->backend < 0) {
    trace::debug("client.cancel_unknown").kv("id", key);
    return;
  }
  Backend& backend = *g_.backends()[call->backend];
  trace::debug("client.cancel").kv("id", key).kv("server", backend.name());
  call->cancelled = true;
  if (call->waiting_retry) {
    // Between attempts: nothing is at the backend; just drop it (and what
    // it asked the client for a 2026-07-28 backend).
    g_.asked().cancel(*h, reason.empty() ? "the request was cancelled" : reason);
    finish(*h);
    g_.calls().discard(*h);
    return g_.check_drained();
  }
  backend.cancel(call->backend_id, reason);
}

void CallRunner::abandon(const std::string& key) {
  auto h = g_.calls().find(key);
  CallRecord* call = h ? g_.calls().get(*h) : nullptr;
  if (!call || call->backend < 0) return;
  Backend& backend = *g_.backends()[call->backend];
  std::int64_t backend_id = call->waiting_retry ? -1 : call->backend_id;
  finish(*h);
  if (backend_id > 0) backend.cancel(backend_id, "mcpbraid: internal error");
}

const ProgressRoute* CallRunner::on_progress(Backend& backend, std::int64_t token) {
  const ProgressRoute* route = progress_.find(token);
  if (!route || route->backend != g_.index_of(backend)) return nullptr;
  if (const CallRecord* call = g_.calls().get(route->call))
    backend.extend_deadline(call->backend_id);
  return route;
}

void CallRunner::cancel_timers() {
  for (auto& [index, timer] : retry_timers_) timer->cancel();
}

}  // namespace mcpbraid
