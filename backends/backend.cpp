#include "backends/backend.hpp"

#include <asio/post.hpp>
#include <charconv>
#include <unordered_set>

#include "backends/child_process.hpp"
#include "core/envelope.hpp"
#include "core/modern.hpp"
#include "core/shape.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

static_assert(Backend::kStopGrace == ChildProcess::kStopGrace);

Backend::Backend(asio::io_context& io, ServerConfig config, BackendEvents& events,
                 TransportFactory transport)
    : io_(io),
      config_(std::move(config)),
      events_(events),
      make_transport_(transport ? std::move(transport) : default_transport_factory(io)),
      deadline_timer_(io),
      breaker_(config_.failsafe.circuit_breaker,
               [this](const CircuitBreaker::Transition& t) {
                 trace::warn("circuit.transition")
                     .kv("server", name())
                     .kv("from", to_string(t.from))
                     .kv("to", to_string(t.to))
                     .kv("reason", t.reason)
                     .kv("failures", breaker_.consecutive_failures())
                     .kv("threshold", config_.failsafe.circuit_breaker.failure_threshold);
               }),
      health_(config_.failsafe.health) {}

Backend::~Backend() {
  *alive_ = false;
  // Their events point here: they go first. A child still running is
  // killed and reaped by its destructor, the last resort.
  retiring_.clear();
  transport_.reset();
}

void Backend::reconfigure(ServerConfig config) {
  config_ = std::move(config);
  breaker_.set_config(config_.failsafe.circuit_breaker);
  health_.set_config(config_.failsafe.health);
}

bool Backend::start() {
  ++starts_;
  permanent_failure_ = false;
  envelope_ = nullptr;  // a new process: its era is probed again
  request_log_rank_ = 0;
  state_ = BackendState::starting;
  if (transport_) retire(std::move(transport_));
  gone_seen_ = false;
  transport_ = make_transport_(config_, transport_events(starts_));
  std::string error;
  if (!transport_->start(&error)) {
    set_failed(error);
    record_failure(error);
    return false;
  }
  return true;
}

TransportEvents Backend::transport_events(int spawn) {
  // The transport lives no longer than this Backend: `this` is safe here.
  TransportEvents events;
  events.on_line = [this, spawn](std::string& line) {
    if (current(spawn)) on_stdout_line(line);
  };
  events.on_oversized = [this, spawn](std::string& head, std::size_t size) {
    if (current(spawn)) on_stdout_oversized(head, size);
  };
  events.on_closed = [this, spawn](const std::string& reason) {
    if (current(spawn)) on_transport_closed(reason);
  };
  // Every transport's diagnostics are the server's: all go to the ring.
  events.on_diagnostic = [this](std::string& line) { on_stderr_line(line); };
  events.on_request_failed = [this, spawn](std::string_view id, const std::string& reason,
                                           bool server_fault) {
    if (current(spawn)) on_request_failed(id, reason, server_fault);
  };
  events.on_session_renewed = [this, spawn] {
    if (current(spawn)) events_.on_backend_session_renewed(*this);
  };
  return events;
}

// Destroyed from the loop once stopped, never inside its own callback.
void Backend::retire(std::unique_ptr<Transport> transport) {
  Transport* raw = transport.get();
  retiring_.push_back(std::move(transport));
  raw->stop([this, raw, alive = alive_] {
    asio::post(io_, [this, raw, alive] {
      if (!*alive) return;
      std::erase_if(retiring_, [raw](const auto& t) { return t.get() == raw; });
    });
  });
}

std::int64_t Backend::request(std::string_view method, json params, Done done,
                              std::string_view request_id) {
  std::int64_t id = add_pending(method, std::move(done), request_id, false);
  if (id > 0) {
    if (modern()) add_envelope(params);
    send(rpc::make_request(id, method, std::move(params)));
  }
  return id > 0 ? id : -id;
}

void Backend::open_stream(const json& id, std::string_view method, json params) {
  if (modern()) add_envelope(params);
  json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
  send(message);
}

void Backend::add_envelope(json& params) const {
  if (!params.is_object()) params = json::object();
  json& meta = params["_meta"];
  if (!meta.is_object()) meta = json::object();
  for (const auto& [key, value] : envelope_.items()) {
    // A request's own logLevel (a 2026-07-28 client's) wins over the
    // session's (a logging/setLevel).
    if (key == modern::kLogLevelKey && meta.contains(key)) continue;
    meta[key] = value;
  }
}

std::int64_t Backend::request_raw(std::string_view method, std::string_view params_json, Done done,
                                  std::string_view request_id, bool raw_result) {
  if (modern()) {
    // Its results are read (resultType decides what they are), and its
    // params get the envelope: one parse, off the legacy hot path.
    json params = params_json.empty() ? json::object() : json::parse(params_json, nullptr, false);
    if (params.is_discarded()) {  // the scanner let through what the parser refuses
      Reply reply;
      reply.reason = "mcpbraid could not re-encode the request's params";
      done(std::move(reply));
      return next_id_++;
    }
    return request(method, std::move(params), std::move(done), request_id);
  }
  std::int64_t id = add_pending(method, std::move(done), request_id, raw_result);
  if (id < 0) return -id;
  std::string line;
  line.reserve(64 + method.size() + params_json.size());
  line += "{\"jsonrpc\":\"2.0\",\"id\":";
  char digits[24];
  line.append(digits, std::to_chars(digits, digits + sizeof digits, id).ptr);
  line += ",\"method\":";
  rpc::append_json_string(line, method);
  if (!params_json.empty()) {
    line += ",\"params\":";
    line += params_json;
  }
  line += "}\n";
  transport_->send(std::move(line));
  return id;
}

namespace {

// Methods sent to backends are few (the routed ones and our own); each is
// stored once, and a pending request points at its name.
const std::string& intern_method(std::string_view method) {
  thread_local std::unordered_set<std::string> names;  // one loop per thread
  return *names.emplace(method).first;
}

// A client request's trace id "r<N>" (core/call_table) as N; 0 for none.
std::uint64_t request_number(std::string_view request_id) {
  std::uint64_t n = 0;
  if (request_id.size() < 2 || request_id[0] != 'r') return 0;
  auto [end, ec] = std::from_chars(request_id.data() + 1, request_id.data() + request_id.size(), n);
  return ec == std::errc() && end == request_id.data() + request_id.size() ? n : 0;
}

std::string request_text(std::uint64_t n) {
  return n ? "r" + std::to_string(n) : std::string();
}

}  // namespace

// The id for a new request, its pending entry made and its deadline armed;
// the negated id when the backend is not running (`done` already called).
std::int64_t Backend::add_pending(std::string_view method, Done done, std::string_view request_id,
                                  bool raw_result) {
  std::int64_t id = next_id_++;
  if (!running()) {
    Reply reply;
    reply.reason = last_error_.empty() ? "not running" : last_error_;
    done(std::move(reply));
    return -id;
  }
  TimePoint now = Clock::now();
  // tasks/result waits until the task ends (MCP 2025-11-25): it gets the
  // longest a request may take from the start.
  Milliseconds timeout =
      method == "tasks/result" ? config_.failsafe.max_timeout : config_.failsafe.timeout;
  Deadline deadline(now, timeout, config_.failsafe.max_timeout);
  TimePoint due = deadline.due();
  pending_.emplace(id, Pending{&intern_method(method), request_number(request_id), std::move(done),
                               deadline, now, raw_result});
  if (!deadline_armed_ || due < *deadline_armed_) arm_deadline_timer(due);
  return id;
}

void Backend::arm_deadline_timer(TimePoint due) {
  deadline_armed_ = due;
  deadline_timer_.expires_at(due);
  deadline_timer_.async_wait([this, alive = alive_](asio::error_code ec) {
    if (!ec && *alive) on_deadline_timer();
  });
}

void Backend::extend_deadline(std::int64_t id) {
  auto it = pending_.find(id);
  if (it != pending_.end()) it->second.deadline.on_progress(Clock::now());
  // The armed timer notices the new due time when it fires.
}

// Expires what is due, then re-arms for the earliest deadline left. Runs
// about once per timeout, not per request: O(pending) here is cheap.
void Backend::on_deadline_timer() {
  deadline_armed_.reset();
  TimePoint now = Clock::now();
  std::vector<std::int64_t> expired;
  std::optional<TimePoint> next;
  for (const auto& [id, pending] : pending_) {
    if (pending.deadline.expired(now))
      expired.push_back(id);
    else if (!next || pending.deadline.due() < *next)
      next = pending.deadline.due();
  }
  for (std::int64_t id : expired) on_deadline(id);
  // on_deadline's callbacks may have added requests (and armed the timer).
  if (next && (!deadline_armed_ || *next < *deadline_armed_)) arm_deadline_timer(*next);
}

void Backend::on_deadline(std::int64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  TimePoint now = Clock::now();
  auto waited = std::chrono::duration_cast<Milliseconds>(now - it->second.started).count();
  trace::warn("request.timeout")
      .kv("request_id", request_text(it->second.request))
      .kv("server", name())
      .kv("method", *it->second.method)
      .kv("backend_id", id)
      .kv("waited_ms", static_cast<std::int64_t>(waited));
  notify("notifications/cancelled",
         {{"requestId", id},
          {"reason", "mcpbraid: no answer within " + std::to_string(waited) + " ms"}});
  Reply reply;
  reply.reason = "no answer within " + std::to_string(waited) + " ms (timeout)";
  complete(id, std::move(reply));
}

void Backend::record_failure(const std::string& reason) {
  TimePoint now = Clock::now();
  health_.record_failure(now, reason);
  breaker_.record_failure(now, reason);
}

void Backend::cancel(std::int64_t id, std::string_view reason) {
  if (!pending_.count(id)) return;
  json params{{"requestId", id}};
  if (!reason.empty()) params["reason"] = reason;
  notify("notifications/cancelled", std::move(params));
  Reply reply;
  reply.kind = Reply::Kind::cancelled;
  complete(id, std::move(reply));
}

void Backend::notify(std::string_view method, json params) {
  send(rpc::make_notification(method, std::move(params)));
}

void Backend::send(const json& message) {
  if (running()) transport_->send(rpc::to_line(message));
}

void Backend::pause_output() {
  if (running()) transport_->pause();
}

void Backend::resume_output() {
  if (running()) transport_->resume();
}

void Backend::complete(std::int64_t id, Reply&& reply, bool record) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Done done = std::move(it->second.done);
  TimePoint started = it->second.started;
  TimePoint now = Clock::now();
  bool is_initialize = *it->second.method == "initialize";
  if (trace::enabled(trace::Level::debug, "backend")) {
    static constexpr const char* kOutcome[] = {"result", "error", "failure", "cancelled"};
    trace::debug("backend.response")
        .kv("request_id", request_text(it->second.request))
        .kv("server", name())
        .kv("method", *it->second.method)
        .kv("backend_id", id)
        .kv("latency_ms", std::chrono::duration<double, std::milli>(now - started).count())
        .kv("outcome", kOutcome[static_cast<int>(reply.kind)]);
  }
  pending_.erase(it);  // erase first: `done` may send new requests
  if (record) {
    // A JSON-RPC error from a live backend is an answer, not a health failure.
    switch (reply.kind) {
      case Reply::Kind::result:
      case Reply::Kind::error:
        health_.record_success(
            now, is_initialize
                     ? std::nullopt
                     : std::optional(
                           std::chrono::duration_cast<std::chrono::microseconds>(now - started)));
        breaker_.record_success(now);
        break;
      case Reply::Kind::failure:
        record_failure(reply.reason);
        break;
      case Reply::Kind::cancelled:
        breaker_.release(now);
        break;
    }
  }
  done(std::move(reply));
}

void Backend::fail_pending(const std::string& reason) {
  std::vector<std::int64_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [id, pending] : pending_) ids.push_back(id);
  for (auto id : ids) {
    Reply reply;
    reply.reason = reason;
    complete(id, std::move(reply), /*record=*/false);  // one event, recorded once by the caller
  }
}

// A response to a request that asked for its result raw: validated and
// located, not parsed. False when the line needs the full parser.
bool Backend::take_raw_result(std::string& line) {
  auto env = rpc::scan_envelope(line, config_.max_json_depth);
  if (!env || env->duplicate || !env->result.present() || env->error.present() ||
      env->method.present() || env->jsonrpc.of(line) != "\"2.0\"" || line[env->result.begin] != '{')
    return false;
  auto id = rpc::span_integer(env->id.of(line));
  if (!id) return false;
  auto it = pending_.find(*id);
  if (it == pending_.end() || !it->second.raw_result) return false;
  Reply reply;
  reply.kind = Reply::Kind::result;
  reply.id = env->id;
  reply.raw = std::move(line);
  complete(*id, std::move(reply));
  return true;
}

void Backend::on_stdout_line(std::string& line) {
  try {
    handle_stdout_line(line);
  } catch (const std::exception& e) {
    // The last-resort guard: shapes are checked before use, so this is a bug.
    events_.on_backend_internal_error(*this, e.what());
  } catch (...) {
    events_.on_backend_internal_error(*this, "unknown exception");
  }
}

void Backend::handle_stdout_line(std::string& line) {
  if (!pending_.empty() && take_raw_result(line)) return;
  rpc::Message message = rpc::parse_message(line, config_.max_json_depth);
  if (message.kind == rpc::Kind::Invalid) return on_bad_line(line, message);
  if (message.kind == rpc::Kind::Response) {
    const json& id = message.body["id"];
    if (!id.is_number_integer()) {
      trace::warn("backend.unknown_response").kv("server", name()).kv("id", id.dump());
      return;
    }
    std::int64_t key = id.get<std::int64_t>();
    if (!pending_.count(key)) {
      trace::debug("backend.late_response").kv("server", name()).kv("backend_id", key);
      return;
    }
    Reply reply;
    if (auto r = message.body.find("result"); r != message.body.end()) {
      if (auto problem = shape::result_object(*r)) return void(fail_bad_answer(id, *problem));
      reply.kind = Reply::Kind::result;
      reply.value = std::move(*r);
    } else {
      json& error = message.body["error"];
      if (auto problem = shape::error_object(error)) return void(fail_bad_answer(id, *problem));
      reply.kind = Reply::Kind::error;
      reply.value = std::move(error);
    }
    complete(key, std::move(reply));
    return;
  }
  events_.on_backend_message(*this, message);
}

// A line that is not JSON-RPC. When it still names one of our requests
// (a response with both or neither of result and error, one nested too
// deeply), that request fails now instead of at its deadline; a broken
// request of the backend's own is refused to it; the rest is logged.
void Backend::on_bad_line(std::string_view line, const rpc::Message& message) {
  trace::warn("backend.bad_output")
      .kv("server", name())
      .kv("error", message.error_text)
      .kv("line", line.substr(0, 200));
  bool has_method = message.body.is_object() && message.body.contains("method");
  if (has_method && message.id.is_null()) {
    trace::warn("backend.bad_notification").kv("server", name()).kv("error", message.error_text);
    return;
  }
  if (has_method) {
    trace::warn("backend.bad_request").kv("server", name()).kv("error", message.error_text);
    bool params = message.error_text.find("params") != std::string::npos;
    return send(rpc::make_error(message.id, params ? rpc::kInvalidParams : rpc::kInvalidRequest,
                                "mcpbraid: " + message.error_text));
  }
  if (!message.id.is_null()) fail_bad_answer(message.id, message.error_text);
}

bool Backend::fail_bad_answer(const json& id, const std::string& what) {
  if (!id.is_number_integer()) return false;
  std::int64_t key = id.get<std::int64_t>();
  if (!pending_.count(key)) return false;
  trace::warn("backend.bad_answer").kv("server", name()).kv("backend_id", key).kv("error", what);
  Reply reply;
  reply.reason = "bad answer: " + what;
  reply.bad_answer = true;
  complete(key, std::move(reply));
  return true;
}

void Backend::on_stdout_oversized(std::string& head, std::size_t size) {
  std::string what = "answer of " + std::to_string(size) + " bytes exceeds max_line (" +
                     std::to_string(config_.max_line) + " bytes)";
  trace::warn("backend.oversized")
      .kv("server", name())
      .kv("bytes", static_cast<std::int64_t>(size))
      .kv("max_line", static_cast<std::int64_t>(config_.max_line));
  fail_bad_answer(rpc::peek_id(head), what);
}

// A remote server's transport knows a request will get no answer line.
void Backend::on_request_failed(std::string_view id_token, const std::string& reason,
                                bool server_fault) {
  auto id = rpc::span_integer(id_token);
  if (!id || !pending_.count(*id)) return;
  Reply reply;
  if (server_fault) {
    reply.reason = reason;
  } else {
    // The server's own refusal (an HTTP 4xx): an answer, not a failure.
    reply.kind = Reply::Kind::error;
    reply.value = {{"code", rpc::kInternalError}, {"message", reason}};
  }
  trace::warn("backend.request_failed")
      .kv("server", name())
      .kv("backend_id", *id)
      .kv("reason", reason);
  complete(*id, std::move(reply));
}

void Backend::on_stderr_line(std::string& line) {
  // Relayed as it comes when it reads like a warning or an error; the rest
  // only with `stderr=debug`. All of it is kept in the ring for `health`.
  trace::at(trace::classify_stderr(line), "stderr").kv("server", name()).kv("line", line);
  if (stderr_tail_.size() >= kStderrTailLines) stderr_tail_.pop_front();
  stderr_tail_.push_back(std::move(line));
}

health::BackendStatus Backend::status(TimePoint now) const {
  health::BackendStatus s;
  s.name = name();
  s.state = to_string(state_);
  s.circuit = to_string(breaker_.state(now));
  if (breaker_.state(now) != CircuitState::closed)
    s.next_probe_ms = breaker_.retry_after(now).count();
  if (state_ == BackendState::backoff) s.restart_in_ms = restart_in(now).count();
  HealthSnapshot h = health_.snapshot();
  s.healthy = h.healthy;
  s.successes = h.successes;
  s.failures = h.failures;
  s.consecutive_failures = h.consecutive_failures;
  s.p50_ms = h.p50_ms;
  s.p95_ms = h.p95_ms;
  s.p99_ms = h.p99_ms;
  s.restarts = restarts();
  s.transport = to_string(config_.type);
  if (is_remote(config_.type)) {
    s.origin = transport_ ? transport_->origin() : std::string();
    s.session = running() ? transport_->session_state() : std::string("closed");
  } else {
    s.inherit_env = config_.inherit_env;
  }
  if (state_ == BackendState::ready && !protocol_version_.empty()) {
    s.protocol = protocol_version_;
    s.era = modern() ? "stateless" : "handshake";
  }
  if (running()) {
    if (transport_->pid() > 0) s.pid = transport_->pid();
    s.uptime_s = std::chrono::duration<double>(now - transport_->started_at()).count();
  }
  // s.tools: the gateway adds it (list_sync holds the lists).
  s.in_flight = static_cast<std::int64_t>(pending_.size());
  s.last_error = last_error_;
  if (s.last_error.empty()) s.last_error = h.last_error;
  s.stderr_tail.assign(stderr_tail_.begin(), stderr_tail_.end());
  return s;
}

// The server's side ended (a child closed its stdout; the transport gave
// it a moment to be reaped so that `reason` says how): fail what is pending.
void Backend::on_transport_closed(const std::string& reason) {
  last_error_ = reason;
  if (!transport_->running()) {
    gone_seen_ = true;
    cancel_deadline_timer();
  }
  trace::warn("backend.exit")
      .kv("server", name())
      .kv("reason", reason)
      .kv("pending", static_cast<std::int64_t>(pending_.size()));
  record_failure(reason);
  permanent_failure_ = transport_->permanent_failure();
  fail_pending(reason);
  state_ = BackendState::failed;
  if (running()) stop(nullptr);  // still alive without stdout: take it down
  events_.on_backend_exit(*this);
}

void Backend::cancel_deadline_timer() {
  deadline_timer_.cancel();
  deadline_armed_.reset();
}

void Backend::stop(std::function<void()> on_stopped) {
  if (!running()) {
    state_ = state_ == BackendState::failed ? state_ : BackendState::stopped;
    if (on_stopped) on_stopped();
    return;
  }
  // The transport owns the stop: a restart meanwhile starts another.
  transport_->stop([this, spawn = starts_, on_stopped = std::move(on_stopped)] {
    on_transport_stopped(spawn);
    if (on_stopped) on_stopped();
  });
}

void Backend::hurry_stop() {
  if (transport_) transport_->hurry();
  for (auto& transport : retiring_) transport->hurry();
}

// Once per transport, before the first of its stop callbacks: they may set
// another last error (the gateway's set_failed) that must stay.
void Backend::on_transport_stopped(int spawn) {
  if (!current(spawn) || gone_seen_) return;
  gone_seen_ = true;
  cancel_deadline_timer();
  if (auto how = transport_->exit_description()) last_error_ = *how;
  if (state_ != BackendState::failed) state_ = BackendState::stopped;
}

void Backend::set_ready(json result) {
  capabilities_ = result.value("capabilities", json::object());
  if (!capabilities_.is_object()) capabilities_ = json::object();
  auto instructions = result.find("instructions");
  instructions_ = instructions != result.end() && instructions->is_string()
                      ? instructions->get<std::string>()
                      : std::string();
  server_info_ = result.value("serverInfo", json::object());
  auto version = result.find("protocolVersion");
  protocol_version_ =
      version != result.end() && version->is_string() ? version->get<std::string>() : std::string();
  state_ = BackendState::ready;
}

void Backend::set_backoff(TimePoint restart_at) {
  state_ = BackendState::backoff;
  restart_at_ = restart_at;
}

void Backend::set_failed(std::string reason) {
  last_error_ = std::move(reason);
  state_ = BackendState::failed;
}

}  // namespace mcpbraid
