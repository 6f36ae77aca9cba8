#include "backends/gateway.hpp"

#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "core/envelope.hpp"
#include "core/session.hpp"
#include "core/shape.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

constexpr std::chrono::milliseconds kListChangedCoalesce{10};
constexpr std::chrono::seconds kFlushLimit{5};
constexpr int kMaxPages = 1000;
constexpr int kMaxListRestarts = 3;
// Forwarded results longer than this are written as head + body rather than
// shifted in memory to fit a new id.
constexpr std::size_t kSplitAbove = 64 * 1024;
// After large results the heap is kept for reuse (see cli/serve.cpp), and
// trimmed once none came for a while.
constexpr std::size_t kLargeMessage = 1 << 20;
constexpr std::chrono::seconds kTrimAfter{2};

unsigned bit(ListKind kind) {
  return 1u << static_cast<unsigned>(kind);
}

json params_of(const json& message) {
  auto it = message.find("params");
  if (it == message.end() || !it->is_object()) return json::object();
  return *it;
}

// The params of a message about to be forwarded, moved out (no copy).
json take_params(json& message) {
  auto it = message.find("params");
  if (it == message.end() || !it->is_object()) return json::object();
  return std::move(*it);
}

const json& params_ref(const json& message) {
  static const json kEmpty = json::object();
  auto it = message.find("params");
  return it == message.end() || !it->is_object() ? kEmpty : *it;
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The capability a backend-originated request needs from the client.
const char* required_client_capability(const std::string& method) {
  if (method == "roots/list") return "roots";
  if (method == "sampling/createMessage") return "sampling";
  if (method == "elicitation/create") return "elicitation";
  return nullptr;
}

constexpr const char* kListServersTool = "gateway_list_servers";
constexpr const char* kHealthTool = "gateway_health";
constexpr std::size_t kSnapshotStderrLines = 20;

// The gateway's own tools, listed after the backends' tools.
json gateway_tools() {
  json no_arguments{{"type", "object"}, {"properties", json::object()}};
  json annotations{{"readOnlyHint", true}, {"idempotentHint", true}, {"openWorldHint", false}};
  return json::array(
      {{{"name", kListServersTool},
        {"title", "mcpbraid: list servers"},
        {"description",
         "Every MCP server behind this mcpbraid gateway with its state (starting, ready, backoff, "
         "failed, stopped), circuit breaker (closed, open, half_open), tool count and last "
         "error. Use it to find out which server is sick when a tool fails."},
        {"inputSchema", no_arguments},
        {"annotations", annotations}},
       {{"name", kHealthTool},
        {"title", "mcpbraid: health"},
        {"description",
         "Health of every MCP server behind this mcpbraid gateway: state, circuit, healthy flag, "
         "successes, failures, latency p50/p95/p99, restarts, pid, uptime, tools, last error "
         "and the last lines of its stderr."},
        {"inputSchema", no_arguments},
        {"annotations", annotations}}});
}

// Whose lists are merged: a backend that is restarting keeps its place.
bool in_merge(const Backend& backend) {
  return backend.state() == BackendState::ready || backend.state() == BackendState::backoff;
}

bool gateway_name(const std::string& name) {
  return name == kListServersTool || name == kHealthTool;
}

}  // namespace

Gateway::Gateway(asio::io_context& io, Config config)
    : io_(io),
      config_(std::move(config)),
      signals_(io, SIGINT, SIGTERM),
      tool_names_(config_.separator),
      prompt_names_(config_.separator) {
  const char* hooks = std::getenv("MCPBRAID_TEST_HOOKS");
  test_hooks_ = hooks && std::string_view(hooks) == "1";
  for (const auto& server : config_.servers) {
    if (server.disabled) {
      trace::info("backend.disabled").kv("server", server.name);
      continue;
    }
    backends_.push_back(std::make_unique<Backend>(io_, server, *this));
  }
}

Gateway::~Gateway() = default;

int Gateway::run(int in_fd, int out_fd) {
  trace::info("gateway.start")
      .kv("config", config_.path)
      .kv("servers", static_cast<std::int64_t>(backends_.size()));
  signals_.async_wait([this](asio::error_code ec, int signo) {
    if (!ec) on_signal(signo);
  });
  client_out_ = std::make_unique<LineWriter>(io_, out_fd);
  if (!control_path_.empty()) {
    control_ = std::make_unique<ControlServer>(
        io_, [this](const std::string& method, const json&) { return answer_control(method); });
    std::string error;
    if (control_->listen(control_path_, &error))
      trace::info("control.listen").kv("path", control_path_);
    else
      trace::error("control.listen_failed").kv("path", control_path_).kv("error", error);
  }
  // Spawn everything now so slow starts (npx) overlap the client's own start;
  // initialize waits for the client's initialize (its capabilities matter).
  for (auto& backend : backends_) backend->start();
  client_in_ = std::make_unique<LineReader>(
      io_, in_fd, [this](std::string& line) { on_client_line(line); }, [this] { on_client_eof(); },
      config_.max_line,
      [this](std::string& head, std::size_t size) { on_client_oversized(head, size); });
  client_in_->start();
  run_loop();
  control_.reset();  // removes the socket
  trace::info("gateway.exit").kv("status", exit_code_);
  return exit_code_;
}

template <typename Fn>
bool Gateway::guarded(Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    on_internal_error(e.what());
  } catch (...) {
    on_internal_error("unknown exception");
  }
  return false;
}

void Gateway::run_loop() {
  while (!guarded([this] { run_handlers(); })) {
  }
}

Gateway::HandlingScope::HandlingScope(Gateway& gateway, Handling handling)
    : gateway_(gateway),
      saved_(std::move(gateway.handling_)),
      exceptions_(std::uncaught_exceptions()) {
  gateway_.handling_ = std::move(handling);
}

Gateway::HandlingScope::~HandlingScope() {
  // While an exception unwinds, the context stays for the guard to report.
  if (std::uncaught_exceptions() == exceptions_) gateway_.handling_ = std::move(saved_);
}

void Gateway::on_internal_error(const char* what) {
  ++internal_errors_;
  Handling handling = std::move(handling_);
  handling_ = Handling{};
  trace::error("gateway.internal_error")
      .kv("method", handling.method)
      .kv("server", handling.server)
      .kv("id", handling.id.is_null() ? std::string() : handling.id.dump())
      .kv("error", what);
  if (!handling.id.is_null() && open_.count(rpc::id_key(handling.id))) {
    if (auto it = inflight_.find(rpc::id_key(handling.id)); it != inflight_.end()) {
      std::shared_ptr<Call> call = it->second;
      finish_call(call);
      if (call->backend_id > 0) call->backend->cancel(call->backend_id, "mcpbraid: internal error");
    }
    reply_error(handling.id, rpc::kInternalError, std::string("mcpbraid: internal error: ") + what);
  }
}

void Gateway::on_backend_internal_error(Backend& backend, const std::string& what) {
  if (handling_.server.empty()) handling_.server = backend.name();
  on_internal_error(what.c_str());
}

void Gateway::check_backpressure() {
  if (!client_out_) return;
  std::size_t queued = client_out_->queued_bytes();
  if (!output_paused_ && queued > config_.max_output_queue) {
    output_paused_ = true;
    trace::info("client.backpressure")
        .kv("state", "on")
        .kv("queued_bytes", static_cast<std::int64_t>(queued));
    for (auto& backend : backends_) backend->pause_output();
    if (client_in_) client_in_->pause();
    client_out_->set_on_written([this] { check_backpressure(); });
  } else if (output_paused_ && queued <= config_.max_output_queue / 2) {
    output_paused_ = false;
    trace::info("client.backpressure")
        .kv("state", "off")
        .kv("queued_bytes", static_cast<std::int64_t>(queued));
    client_out_->set_on_written(nullptr);
    for (auto& backend : backends_) backend->resume_output();
    if (client_in_) client_in_->resume();
  }
}

void Gateway::run_handlers() {
  // Poll-then-block. After handling anything, keep polling (yielding the
  // CPU between polls) for up to busy_poll_us before blocking in epoll_wait:
  // the backend's answer to what we just forwarded, or the client's next
  // request, usually lands within tens of µs, and catching it awake saves
  // a wake-up from idle, which on a VM costs more than the whole hop. Idle,
  // it costs nothing: the spin starts only after work.
  using Clock = std::chrono::steady_clock;
  const auto spin = config_.busy_poll;
  if (spin.count() <= 0) {
    io_.run();
    return;
  }
  while (io_.run_one() > 0) {
    auto until = Clock::now() + spin;
    while (!io_.stopped()) {
      if (io_.poll() > 0) {
        until = Clock::now() + spin;
        continue;
      }
      if (Clock::now() >= until) break;
      ::sched_yield();
    }
  }
}

// ---------------------------------------------------------------- client side

void Gateway::on_client_line(std::string& line) {
  // The guard sits here as well as around the loop: an exception must not
  // unwind through the reader, which would then stop reading.
  guarded([this, &line] { handle_client_line(line); });
}

void Gateway::handle_client_line(std::string& line) {
  HandlingScope scope(*this, Handling{nullptr, "(client line)", ""});
  // Once backends settled, a plain tools/call goes without a DOM.
  if (init_wait_over_ && !draining_ && fast_tool_call(line)) return;
  rpc::Message message = rpc::parse_message(line, config_.max_json_depth);
  if (message.kind == rpc::Kind::Request)
    handling_ = Handling{message.body["id"], message.method, ""};
  switch (message.kind) {
    case rpc::Kind::Invalid: {
      trace::warn("client.bad_input")
          .kv("error", message.error_text)
          .kv("line", line.substr(0, 200));
      // Echo the id when it was readable, as JSON-RPC asks; otherwise null.
      send_client(rpc::make_error(message.id, message.error_code, message.error_text));
      return;
    }
    case rpc::Kind::Request:
      return handle_request(message);
    case rpc::Kind::Notification:
      return handle_notification(message);
    case rpc::Kind::Response:
      return handle_client_response(message);
  }
}

void Gateway::on_client_oversized(std::string& head, std::size_t size) {
  json id = rpc::peek_id(head);
  trace::warn("client.oversized")
      .kv("bytes", static_cast<std::int64_t>(size))
      .kv("max_line", static_cast<std::int64_t>(config_.max_line))
      .kv("id", id.is_null() ? std::string() : id.dump());
  send_client(rpc::make_error(id, rpc::kInvalidRequest,
                              "Invalid Request: line of " + std::to_string(size) +
                                  " bytes exceeds max_line (" + std::to_string(config_.max_line) +
                                  " bytes)"));
}

void Gateway::on_client_eof() {
  draining_ = true;
  trace::info("client.eof").kv("open_requests", static_cast<std::int64_t>(open_.size()));
  // Nobody is left to answer what backends asked the client.
  for (auto& [id, up] : upstream_)
    up.backend->send(rpc::make_error(up.backend_id, rpc::kInternalError,
                                     "mcpbraid: the client closed the connection"));
  upstream_.clear();
  check_drained();
}

void Gateway::handle_request(rpc::Message& message) {
  const json& id = message.body["id"];
  const std::string& method = message.method;
  std::string key = rpc::id_key(id);
  if (open_.count(key)) {
    send_client(rpc::make_error(id, rpc::kInvalidRequest,
                                "Invalid Request: id " + key + " is already in use"));
    return;
  }
  open_request(id, key, method);

  if (method == "initialize") return on_initialize(message);
  if (method == "mcpbraid/test/throw" && test_hooks_) {
    // Only with MCPBRAID_TEST_HOOKS=1: proves the last-resort guard works.
    throw std::runtime_error("test hook: an exception escaping a handler");
  }
  if (method == "ping") return reply(id, json::object());
  // The gateway's own answers never wait for backends.
  if (method == kListServersTool || method == kHealthTool)
    return reply(id, gateway_method_result(method));
  if (method == "tools/call" && is_gateway_tool(message.body)) {
    return reply(id, gateway_tool_result(string_field(params_of(message.body), "name")));
  }
  if (draining_ && finishing_) {
    return reply_error(id, rpc::kInternalError, "mcpbraid is shutting down");
  }

  static const std::map<std::string, std::function<void(Gateway*, rpc::Message&)>> kRouted = {
      {"tools/list", [](Gateway* g, rpc::Message& m) { g->on_list(m, ListKind::tools); }},
      {"prompts/list", [](Gateway* g, rpc::Message& m) { g->on_list(m, ListKind::prompts); }},
      {"resources/list", [](Gateway* g, rpc::Message& m) { g->on_list(m, ListKind::resources); }},
      {"resources/templates/list",
       [](Gateway* g, rpc::Message& m) { g->on_list(m, ListKind::resource_templates); }},
      {"tools/call", [](Gateway* g, rpc::Message& m) { g->on_named(m, ListKind::tools); }},
      {"prompts/get", [](Gateway* g, rpc::Message& m) { g->on_named(m, ListKind::prompts); }},
      {"resources/read", [](Gateway* g, rpc::Message& m) { g->on_uri(m); }},
      {"resources/subscribe", [](Gateway* g, rpc::Message& m) { g->on_uri(m); }},
      {"resources/unsubscribe", [](Gateway* g, rpc::Message& m) { g->on_uri(m); }},
      {"completion/complete", [](Gateway* g, rpc::Message& m) { g->on_completion(m); }},
      {"logging/setLevel", [](Gateway* g, rpc::Message& m) { g->on_set_level(m); }},
  };
  auto handler = kRouted.find(method);
  if (handler == kRouted.end())
    return reply_error(id, rpc::kMethodNotFound, "Method not found: " + method);

  if (!client_init_) implicit_session_ = true;
  begin_initialization();
  auto fn = handler->second;
  if (init_wait_over_) return fn(this, message);  // the common case: no waiting, no copy
  // The message is moved into the waiter: it runs once backends settled.
  auto shared = std::make_shared<rpc::Message>(std::move(message));
  when_settled([this, shared, fn] { fn(this, *shared); });
}

void Gateway::open_request(const json& id, const std::string& key, const std::string& method) {
  OpenRequest open{id, method, "r" + std::to_string(next_request_number_++), "", Clock::now()};
  trace::debug("request.start")
      .kv("request_id", open.request_id)
      .kv("method", method)
      .kv("id", key);
  open_.emplace(key, std::move(open));
}

void Gateway::handle_notification(rpc::Message& message) {
  const std::string& method = message.method;
  json params = params_of(message.body);
  if (method == "notifications/initialized") {
    client_initialized_ = true;
    for (auto& backend : backends_)
      if (backend->state() == BackendState::ready) send_initialized(*backend);
    return;
  }
  if (method == "notifications/cancelled") {
    auto request_id = params.find("requestId");
    if (request_id == params.end()) return;
    std::string key = rpc::id_key(*request_id);
    auto it = inflight_.find(key);
    if (it == inflight_.end()) {
      trace::debug("client.cancel_unknown").kv("id", key);
      return;
    }
    std::shared_ptr<Call> call = it->second;
    trace::debug("client.cancel").kv("id", key).kv("server", call->backend->name());
    call->cancelled = true;
    if (call->retry_timer) {
      // Between attempts: nothing is at the backend; just drop it.
      call->retry_timer.reset();
      finish_call(call);
      open_.erase(key);
      return check_drained();
    }
    call->backend->cancel(call->backend_id, string_field(params, "reason"));
    return;
  }
  if (method == "notifications/roots/list_changed") {
    for (auto& backend : backends_)
      if (backend->state() == BackendState::ready) backend->notify(method);
    return;
  }
  trace::debug("client.notification_ignored").kv("method", method);
}

void Gateway::handle_client_response(rpc::Message& message) {
  const json& id = message.body["id"];
  if (!id.is_number_integer() || !upstream_.count(id.get<std::int64_t>())) {
    trace::warn("client.unknown_response").kv("id", id.dump());
    return;
  }
  auto node = upstream_.extract(id.get<std::int64_t>());
  UpstreamRequest& up = node.mapped();
  shape::Problem problem;
  if (auto r = message.body.find("result"); r != message.body.end())
    problem = shape::result_object(*r);
  else
    problem = shape::error_object(message.body["error"]);
  if (problem) {
    trace::warn("client.bad_answer")
        .kv("server", up.backend->name())
        .kv("method", up.method)
        .kv("error", *problem);
    up.backend->send(rpc::make_error(up.backend_id, rpc::kInternalError,
                                     "mcpbraid: the client sent a bad answer: " + *problem));
    return;
  }
  message.body["id"] = up.backend_id;
  trace::debug("upstream.answered").kv("server", up.backend->name()).kv("method", up.method);
  up.backend->send(message.body);
}

void Gateway::send_client(const json& message) {
  if (!client_out_) return;
  client_out_->send(rpc::to_line(message));
  check_backpressure();
}

void Gateway::close_request(const json& id, bool error) {
  auto it = open_.find(rpc::id_key(id));
  if (it == open_.end()) return;
  if (trace::enabled(trace::Level::debug, "request")) {
    auto elapsed = Clock::now() - it->second.started;
    trace::debug("request.done")
        .kv("request_id", it->second.request_id)
        .kv("method", it->second.method)
        .kv("server", it->second.server)
        .kv("latency_ms", std::chrono::duration<double, std::milli>(elapsed).count())
        .kv("outcome", error ? "error" : "ok");
  }
  open_.erase(it);
}

void Gateway::respond(const json& id, json message) {
  close_request(id, message.contains("error"));
  send_client(message);
  check_drained();
}

void Gateway::respond_line(const json& id, std::string head, std::string body,
                           std::size_t body_offset) {
  close_request(id, false);
  if (body.size() >= kLargeMessage) schedule_trim();
  if (client_out_) {
    client_out_->send(std::move(head));
    if (!body.empty()) client_out_->send(std::move(body), body_offset);
    check_backpressure();
  }
  check_drained();
}

void Gateway::schedule_trim() {
  if (!trim_timer_) trim_timer_ = std::make_unique<Timer>(io_);
  trim_timer_->expires_after(kTrimAfter);  // re-arming cancels the previous wait
  trim_timer_->async_wait([](asio::error_code ec) {
    if (!ec) ::malloc_trim(0);
  });
}

void Gateway::reply(const json& id, json result) {
  respond(id, rpc::make_result(id, std::move(result)));
}

void Gateway::reply_error(const json& id, int code, std::string_view text, json data) {
  respond(id, rpc::make_error(id, code, text, std::move(data)));
}

void Gateway::reply_unavailable(const json& id, const std::string& method,
                                const std::string& server, const std::string& reason,
                                std::optional<Milliseconds> retry_after, bool bad_answer) {
  // A malformed answer is not unavailability: say what the server did
  // (its reason reads "bad answer: ...").
  std::string text =
      "mcpbraid: server '" + server + (bad_answer ? "' sent a " : "' is unavailable: ") + reason;
  if (retry_after) text += "; retry in " + std::to_string(retry_after->count()) + " ms";
  json data{{"server", server},
            {"reason", reason},
            {"retry_after_ms", retry_after ? json(retry_after->count()) : json(nullptr)}};
  if (method == "tools/call") {
    // A tool error the model can read and act on, not a protocol error.
    json result{{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
    return reply(id, std::move(result));
  }
  reply_error(id, rpc::kInternalError, text, std::move(data));
}

std::optional<Gateway::Refusal> Gateway::admission(Backend& backend) {
  TimePoint now = Clock::now();
  switch (backend.state()) {
    case BackendState::backoff:
      return Refusal{"restarting after " + backend.last_error(), backend.restart_in(now)};
    case BackendState::failed:
    case BackendState::stopped:
      return Refusal{backend.last_error().empty() ? "stopped" : backend.last_error(), std::nullopt};
    case BackendState::starting:
      return Refusal{"still starting", Milliseconds(1000)};
    case BackendState::ready:
      break;
  }
  if (!backend.running()) return Refusal{"not running", std::nullopt};
  int limit = backend.failsafe().max_in_flight;
  if (static_cast<int>(backend.pending_count()) >= limit)
    return Refusal{"too many requests in flight (max_in_flight " + std::to_string(limit) + ")",
                   Milliseconds(100)};
  if (!backend.breaker().admit(now))
    return Refusal{"circuit open (" + backend.breaker().open_reason() + ")",
                   backend.breaker().retry_after(now)};
  return std::nullopt;
}

void Gateway::refuse(const json& id, const std::string& method, Backend& backend,
                     const Refusal& why) {
  trace::debug("request.refused")
      .kv("server", backend.name())
      .kv("method", method)
      .kv("reason", why.reason);
  reply_unavailable(id, method, backend.name(), why.reason, why.retry_after);
}

// -------------------------------------------------------------- initialization

void Gateway::on_initialize(rpc::Message& message) {
  const json& id = message.body["id"];
  if (client_init_)
    return reply_error(id, rpc::kInvalidRequest,
                       "Invalid Request: initialize was already received");
  json params = params_of(message.body);
  client_init_ = params;
  client_capabilities_ = params.value("capabilities", json::object());
  if (!client_capabilities_.is_object()) client_capabilities_ = json::object();
  protocol_version_ = negotiate_version(params.value("protocolVersion", json()));
  auto info = params.value("clientInfo", json::object());
  trace::info("client.initialize")
      .kv("client", string_field(info, "name"))
      .kv("requested", params.value("protocolVersion", json()).dump())
      .kv("version", protocol_version_);
  begin_initialization();
  when_settled([this, id] {
    std::vector<BackendView> ready;
    bool some_pending = false;
    for (auto& backend : backends_) {
      if (backend->state() == BackendState::ready)
        ready.push_back({backend->name(), backend->capabilities(), backend->instructions()});
      else if (backend->state() == BackendState::starting && backend->running())
        some_pending = true;
    }
    json result{{"protocolVersion", protocol_version_},
                {"capabilities", merge_capabilities(ready, some_pending)},
                {"serverInfo", {{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}}}};
    std::string instructions = combine_instructions(ready);
    if (!instructions.empty()) result["instructions"] = instructions;
    reply(id, std::move(result));
  });
}

void Gateway::begin_initialization() {
  if (init_started_) return;
  init_started_ = true;
  if (protocol_version_.empty()) protocol_version_ = kLatestProtocolVersion;
  for (auto& backend : backends_)
    if (backend->running()) initialize_backend(*backend);
  init_timer_ = std::make_unique<Timer>(io_, config_.initialize_timeout);
  init_timer_->async_wait([this](asio::error_code ec) {
    if (ec) return;
    if (!settled()) {
      for (auto& backend : backends_)
        if (backend->state() == BackendState::starting && backend->running())
          trace::warn("backend.slow_initialize")
              .kv("server", backend->name())
              .kv("waited_ms", static_cast<std::int64_t>(config_.initialize_timeout.count()));
    }
    init_wait_over_ = true;
    run_settle_waiters();
  });
  run_settle_waiters();  // nothing to wait for if no backend is running
}

void Gateway::initialize_backend(Backend& backend, int attempt) {
  json info = client_init_ ? client_init_->value("clientInfo", json::object()) : json::object();
  if (!info.is_object() || !info.contains("name"))
    info = {{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}};
  json params{{"protocolVersion", protocol_version_},
              {"capabilities", backend_client_capabilities(client_capabilities_)},
              {"clientInfo", info}};
  auto started = Clock::now();
  backend.request(
      "initialize", std::move(params), [this, &backend, started, attempt](Reply&& reply) {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        HandlingScope scope(*this, Handling{nullptr, "initialize", backend.name()});
        if (reply.ok()) {
          if (auto problem = shape::initialize_result(reply.value)) {
            reply.kind = Reply::Kind::failure;
            reply.reason = "bad answer: " + *problem;
            reply.bad_answer = true;
          }
        }
        if (reply.kind == Reply::Kind::failure && !reply.bad_answer && backend.running() &&
            !finishing_) {
          // No answer in time from a live child: a slow start. initialize is
          // safe to send again; past the attempts, restart it like a crash.
          const RetryConfig& retry = backend.failsafe().retry;
          if (attempt < retry.max_attempts) {
            Milliseconds delay = retry_backoff(retry, attempt, jitter());
            trace::warn("backend.initialize_retry")
                .kv("server", backend.name())
                .kv("attempt", attempt + 1)
                .kv("reason", reply.reason);
            auto timer = std::make_shared<Timer>(io_, delay);
            timer->async_wait([this, &backend, attempt, timer](asio::error_code ec) {
              if (!ec && !finishing_ && backend.running()) initialize_backend(backend, attempt + 1);
            });
            return;
          }
          backend.set_failed("initialize failed: " + reply.reason);
          trace::error("backend.initialize_failed")
              .kv("server", backend.name())
              .kv("reason", backend.last_error());
          std::string why = backend.last_error();
          backend.stop([this, &backend, why] {
            if (finishing_) return;
            backend.set_failed(why);
            schedule_restart(backend);
            run_settle_waiters();
          });
          return;
        }
        if (!reply.ok()) {
          // A live backend that refuses to initialize will not do better later.
          std::string reason = reply.kind == Reply::Kind::error
                                   ? "initialize failed: " + string_field(reply.value, "message")
                                   : "initialize failed: " + reply.reason;
          backend.set_failed(reason);
          trace::error("backend.initialize_failed")
              .kv("server", backend.name())
              .kv("reason", reason);
          backend.stop(nullptr);
          run_settle_waiters();
          return;
        }
        backend.set_ready(std::move(reply.value));
        trace::info("backend.ready")
            .kv("server", backend.name())
            .kv("name", string_field(backend.server_info(), "name"))
            .kv("protocol", backend.protocol_version())
            .kv("latency_ms", ms);
        if (!backend.protocol_version().empty() && backend.protocol_version() != protocol_version_)
          trace::info("backend.version_differs")
              .kv("server", backend.name())
              .kv("client", protocol_version_)
              .kv("backend", backend.protocol_version());
        if (client_initialized_ || implicit_session_) send_initialized(backend);
        if (backend.restarts() > 0) {
          backend.restart_policy().on_healthy();
          refresh_after_restart(backend);
        }
        if (log_level_ && backend.capabilities().contains("logging"))
          backend.request("logging/setLevel", {{"level", *log_level_}}, [](Reply&&) {});
        // A first start that missed the client's initialize answer (restarts
        // are handled by refresh_after_restart).
        bool late = init_wait_over_ && backend.restarts() == 0;
        run_settle_waiters();
        if (late) {
          // It missed the client's initialize answer: tell the client its lists grew.
          trace::info("backend.late_join").kv("server", backend.name());
          schedule_list_changed(ListKind::tools);
          schedule_list_changed(ListKind::prompts);
          schedule_list_changed(ListKind::resources);
        }
      });
}

void Gateway::send_initialized(Backend& backend) {
  if (backend.initialized_sent) return;
  backend.initialized_sent = true;
  backend.notify("notifications/initialized");
}

bool Gateway::settled() const {
  for (const auto& backend : backends_)
    if (backend->state() == BackendState::starting && backend->running()) return false;
  return true;
}

void Gateway::when_settled(std::function<void()> fn) {
  if (init_wait_over_ || settled()) return fn();
  settle_waiters_.push_back(std::move(fn));
}

void Gateway::run_settle_waiters() {
  if (!(init_wait_over_ || settled())) return;
  if (settled() && init_timer_) init_timer_->cancel();
  if (settled()) init_wait_over_ = true;
  auto waiters = std::move(settle_waiters_);
  settle_waiters_.clear();
  for (auto& fn : waiters) fn();
}

// ----------------------------------------------------------------------- lists

bool Gateway::has_capability(const Backend& backend, ListKind kind) const {
  const json& caps = backend.capabilities();
  switch (kind) {
    case ListKind::tools:
      return caps.contains("tools");
    case ListKind::prompts:
      return caps.contains("prompts");
    default:
      return caps.contains("resources");
  }
}

void Gateway::collect_lists(ListKind kind, std::function<void()> done) {
  auto remaining = std::make_shared<std::size_t>(1);
  auto finish_one = [remaining, done] {
    if (--*remaining == 0) done();
  };
  for (auto& backend : backends_) {
    if (backend->state() != BackendState::ready) continue;
    ++*remaining;
    fetch_list(*backend, kind, finish_one);
  }
  finish_one();
}

void Gateway::fetch_list(Backend& backend, ListKind kind, std::function<void()> done) {
  ListCache& cache = backend.list(kind);
  if (cache.items) return done();
  if (!has_capability(backend, kind)) {
    store_list(backend, kind, {});
    return done();
  }
  cache.waiters.push_back(std::move(done));
  if (cache.fetching) return;
  cache.fetching = true;
  fetch_page(backend, kind, {}, nullptr, 0, 0);
}

void Gateway::fetch_page(Backend& backend, ListKind kind, std::vector<json> items, json cursor,
                         int restarts, int pages) {
  json params = json::object();
  if (!cursor.is_null()) params["cursor"] = cursor;
  std::uint64_t generation = backend.list(kind).generation;
  backend.request(
      list_method(kind), std::move(params),
      [this, &backend, kind, items = std::move(items), restarts, pages,
       generation](Reply&& reply) mutable {
        ListCache& cache = backend.list(kind);
        if (cache.generation != generation && restarts < kMaxListRestarts) {
          // list_changed arrived while we were paging: start over.
          return fetch_page(backend, kind, {}, nullptr, restarts + 1, 0);
        }
        HandlingScope scope(*this, Handling{nullptr, list_method(kind), backend.name()});
        shape::Problem problem;
        if (reply.ok()) problem = shape::list_page(list_key(kind), reply.value);
        if (!reply.ok() || problem) {
          trace::warn("backend.list_failed")
              .kv("server", backend.name())
              .kv("method", list_method(kind))
              .kv("reason", problem                            ? "bad answer: " + *problem
                            : reply.kind == Reply::Kind::error ? reply.value.dump()
                                                               : reply.reason);
          return store_list(backend, kind, std::move(items));
        }
        auto page = reply.value.find(list_key(kind));
        if (page != reply.value.end()) {
          for (auto& item : *page) {
            if (auto bad = shape::list_item(list_key(kind), item)) {
              trace::warn("backend.bad_list_entry")
                  .kv("server", backend.name())
                  .kv("method", list_method(kind))
                  .kv("error", *bad)
                  .kv("entry",
                      item.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 200));
              continue;
            }
            items.push_back(std::move(item));
          }
        }
        auto next = reply.value.find("nextCursor");
        if (next != reply.value.end() && next->is_string() && !next->get<std::string>().empty() &&
            pages + 1 < kMaxPages)
          return fetch_page(backend, kind, std::move(items), *next, restarts, pages + 1);
        store_list(backend, kind, std::move(items));
      });
}

void Gateway::store_list(Backend& backend, ListKind kind, std::vector<json> items) {
  ListCache& cache = backend.list(kind);
  if (kind == ListKind::tools) {
    // Tools that can only run as tasks cannot be called through us.
    std::erase_if(items, [](const json& tool) {
      auto exec = tool.find("execution");
      return exec != tool.end() && string_field(*exec, "taskSupport") == "required";
    });
  }
  if (kind == ListKind::tools || kind == ListKind::prompts) {
    std::erase_if(items, [](const json& item) {
      return !item.contains("name") || !item["name"].is_string();
    });
    std::vector<std::string> names;
    names.reserve(items.size());
    if (kind == ListKind::tools) backend.retry_safe_tools().clear();
    for (const auto& item : items) {
      names.push_back(item["name"].get<std::string>());
      if (kind != ListKind::tools) continue;
      auto a = item.find("annotations");
      if (a != item.end() && a->is_object() &&
          (a->value("readOnlyHint", json(false)) == json(true) ||
           a->value("idempotentHint", json(false)) == json(true)))
        backend.retry_safe_tools().insert(names.back());
    }
    NameTable& table = kind == ListKind::tools ? tool_names_ : prompt_names_;
    auto exposed = table.set_server(backend.name(), names);
    for (std::size_t i = 0; i < items.size(); ++i) items[i]["name"] = exposed[i];
  } else {
    const char* field = kind == ListKind::resources ? "uri" : "uriTemplate";
    std::vector<std::string> uris;
    for (const auto& item : items) uris.push_back(string_field(item, field));
    if (kind == ListKind::resources)
      resources_.set_resources(backend.name(), uris);
    else
      resources_.set_templates(backend.name(), uris);
  }
  trace::debug("backend.list")
      .kv("server", backend.name())
      .kv("method", list_method(kind))
      .kv("items", static_cast<std::int64_t>(items.size()));
  cache.items = std::move(items);
  cache.stamp = next_list_stamp_++;
  cache.fetching = false;
  auto waiters = std::move(cache.waiters);
  cache.waiters.clear();
  for (auto& fn : waiters) fn();
}

json Gateway::merged_list(ListKind kind) {
  json all = json::array();
  for (auto& backend : backends_) {
    if (!in_merge(*backend)) continue;
    const auto& items = backend->list(kind).items;
    if (!items) continue;
    for (const auto& item : *items) all.push_back(item);
  }
  if (kind == ListKind::tools && config_.gateway_tools)
    for (auto& tool : gateway_tools()) all.push_back(std::move(tool));
  return all;
}

void Gateway::on_list(rpc::Message& message, ListKind kind) {
  json id = message.body["id"];
  json params = params_of(message.body);
  if (auto cursor = params.find("cursor"); cursor != params.end() && !cursor->is_null()) {
    // We always answer with the whole list, so we never hand out cursors.
    return reply_error(id, rpc::kInvalidParams, "Invalid params: unknown cursor");
  }
  collect_lists(kind, [this, id, kind] {
    const std::string& list = rendered_list(kind);
    std::string id_text = id.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string line;
    line.reserve(64 + id_text.size() + list.size());
    line += R"({"jsonrpc":"2.0","id":)";
    line += id_text;
    line += R"(,"result":{")";
    line += list_key(kind);
    line += "\":";
    line += list;
    line += "}}\n";
    respond_line(id, std::move(line));
  });
}

const std::string& Gateway::rendered_list(ListKind kind) {
  std::vector<std::uint64_t> signature;
  signature.reserve(backends_.size());
  for (auto& backend : backends_) {
    const ListCache& cache = backend->list(kind);
    signature.push_back(in_merge(*backend) && cache.items ? cache.stamp : 0);
  }
  RenderedList& rendered = rendered_[static_cast<std::size_t>(kind)];
  if (!rendered.valid || rendered.signature != signature) {
    rendered.text = merged_list(kind).dump(-1, ' ', false, json::error_handler_t::replace);
    rendered.signature = std::move(signature);
    rendered.valid = true;
  }
  return rendered.text;
}

void Gateway::schedule_list_changed(ListKind kind) {
  if (kind == ListKind::resource_templates) kind = ListKind::resources;
  list_changed_pending_ |= bit(kind);
  if (list_changed_timer_) return;
  list_changed_timer_ = std::make_unique<Timer>(io_, kListChangedCoalesce);
  list_changed_timer_->async_wait([this](asio::error_code) {
    unsigned pending = list_changed_pending_;
    list_changed_pending_ = 0;
    list_changed_timer_.reset();
    if (!client_initialized_ || draining_) return;
    for (ListKind k : {ListKind::tools, ListKind::prompts, ListKind::resources})
      if (pending & bit(k)) send_client(rpc::make_notification(list_changed_method(k)));
  });
}

// -------------------------------------------------------------------- routing

Backend* Gateway::find_backend(const std::string& name) {
  for (auto& backend : backends_)
    if (backend->name() == name) return backend.get();
  return nullptr;
}

void Gateway::on_named(rpc::Message& message, ListKind kind, bool retried) {
  json id = message.body["id"];
  std::string name = string_field(params_ref(message.body), "name");
  if (name.empty()) return reply_error(id, rpc::kInvalidParams, "Invalid params: missing name");
  NameTable& table = kind == ListKind::tools ? tool_names_ : prompt_names_;
  auto route = table.find(name);
  if (!route && !retried) {
    // The client may call before it listed (a pipe): learn the names first.
    auto shared = std::make_shared<rpc::Message>(std::move(message));
    return collect_lists(kind, [this, shared, kind] { on_named(*shared, kind, true); });
  }
  const char* what = kind == ListKind::tools ? "tool" : "prompt";
  if (!route)
    return reply_error(id, rpc::kInvalidParams, std::string("Unknown ") + what + ": " + name);
  Backend* backend = find_backend(route->server);
  if (!backend) return reply_unavailable(id, message.method, route->server, "unknown server");
  json params = take_params(message.body);
  params["name"] = route->name;
  forward(*backend, id, message.method, std::move(params));
}

void Gateway::on_uri(rpc::Message& message, bool retried) {
  json id = message.body["id"];
  json params = params_of(message.body);
  std::string uri = string_field(params, "uri");
  if (uri.empty()) return reply_error(id, rpc::kInvalidParams, "Invalid params: missing uri");
  auto owner = resources_.owner(uri);
  if (!owner && !retried) {
    auto shared = std::make_shared<rpc::Message>(std::move(message));
    return collect_lists(ListKind::resources, [this, shared] {
      collect_lists(ListKind::resource_templates, [this, shared] { on_uri(*shared, true); });
    });
  }
  if (!owner) {
    // Nobody listed it. With a single resource server there is no doubt.
    std::vector<Backend*> candidates;
    for (auto& backend : backends_)
      if (backend->state() == BackendState::ready && has_capability(*backend, ListKind::resources))
        candidates.push_back(backend.get());
    if (candidates.size() == 1) owner = candidates.front()->name();
  }
  if (!owner)
    return reply_error(id, rpc::kResourceNotFound, "Resource not found: " + uri, {{"uri", uri}});
  Backend* backend = find_backend(*owner);
  if (!backend) return reply_unavailable(id, message.method, *owner, "unknown server");
  forward(*backend, id, message.method, std::move(params));
}

void Gateway::on_completion(rpc::Message& message, bool retried) {
  json id = message.body["id"];
  json params = params_of(message.body);
  json ref = params.value("ref", json::object());
  std::string type = string_field(ref, "type");
  std::optional<std::string> server;
  if (type == "ref/prompt") {
    std::string name = string_field(ref, "name");
    auto route = prompt_names_.find(name);
    if (!route && !retried) {
      auto shared = std::make_shared<rpc::Message>(std::move(message));
      return collect_lists(ListKind::prompts, [this, shared] { on_completion(*shared, true); });
    }
    if (!route) return reply_error(id, rpc::kInvalidParams, "Unknown prompt: " + name);
    server = route->server;
    params["ref"]["name"] = route->name;
  } else if (type == "ref/resource") {
    std::string uri = string_field(ref, "uri");
    server = resources_.template_owner(uri);
    if (!server && !retried) {
      auto shared = std::make_shared<rpc::Message>(std::move(message));
      return collect_lists(ListKind::resource_templates, [this, shared] {
        collect_lists(ListKind::resources, [this, shared] { on_completion(*shared, true); });
      });
    }
    if (!server) return reply_error(id, rpc::kInvalidParams, "Unknown resource reference: " + uri);
  } else {
    return reply_error(id, rpc::kInvalidParams,
                       "Invalid params: ref.type must be ref/prompt or ref/resource");
  }
  Backend* backend = find_backend(*server);
  if (!backend) return reply_unavailable(id, message.method, *server, "unknown server");
  forward(*backend, id, message.method, std::move(params));
}

void Gateway::on_set_level(rpc::Message& message) {
  json id = message.body["id"];
  json params = params_of(message.body);
  static const std::vector<std::string> kLevels = {"debug", "info",     "notice", "warning",
                                                   "error", "critical", "alert",  "emergency"};
  std::string level = string_field(params, "level");
  if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end())
    return reply_error(id, rpc::kInvalidParams,
                       "Invalid params: unknown log level '" + level + "'");
  log_level_ = level;
  auto remaining = std::make_shared<std::size_t>(1);
  auto finish_one = [this, remaining, id] {
    if (--*remaining == 0) reply(id, json::object());
  };
  for (auto& backend : backends_) {
    if (backend->state() != BackendState::ready || !backend->capabilities().contains("logging"))
      continue;
    ++*remaining;
    backend->request("logging/setLevel", params, [finish_one, &backend](Reply&& reply) {
      if (!reply.ok())
        trace::warn("backend.set_level_failed")
            .kv("server", backend->name())
            .kv("reason", reply.kind == Reply::Kind::error ? reply.value.dump() : reply.reason);
      finish_one();
    });
  }
  finish_one();
}

void Gateway::forward(Backend& backend, const json& id, const std::string& method, json params) {
  std::string tool = method == "tools/call" ? string_field(params, "name") : std::string();
  auto call = prepare_call(backend, id, rpc::id_key(id), method, tool);
  if (!call) return;
  auto meta = params.find("_meta");
  if (meta != params.end() && meta->is_object() && meta->contains("progressToken")) {
    // Tokens are only unique per requester: give the backend one of ours.
    call->progress_token = next_progress_token_++;
    progress_[call->progress_token] = {&backend, (*meta)["progressToken"], call};
    (*meta)["progressToken"] = call->progress_token;
  }
  call->params = params.dump(-1, ' ', false, json::error_handler_t::replace);
  launch(call);
}

std::shared_ptr<Gateway::Call> Gateway::prepare_call(Backend& backend, const json& id,
                                                     const std::string& key,
                                                     const std::string& method,
                                                     const std::string& tool) {
  if (auto it = open_.find(key); it != open_.end()) it->second.server = backend.name();
  if (auto why = admission(backend)) {
    refuse(id, method, backend, *why);
    return nullptr;
  }
  auto call = std::make_shared<Call>();
  call->id = id;
  call->key = key;
  call->method = method;
  call->backend = &backend;
  bool safe_tool = method == "tools/call" && backend.retry_safe_tools().count(tool);
  call->retry_safe = retry_safe(method, safe_tool);
  return call;
}

void Gateway::launch(const std::shared_ptr<Call>& call) {
  call->backend->retry_budget().on_request();
  inflight_[call->key] = call;
  send_attempt(call);
}

// The common call, as cheap as it can be: no DOM for the request. Anything
// unusual (a progress token, escapes in the name or id, an unknown tool, a
// duplicate id...) returns false and takes the full path, which also
// explains errors.
bool Gateway::fast_tool_call(const std::string& line) {
  auto env = rpc::scan_envelope(line, config_.max_json_depth);
  if (!env || env->duplicate || env->result.present() || env->error.present() ||
      !env->params.present() || env->jsonrpc.of(line) != "\"2.0\"" ||
      env->method.of(line) != "\"tools/call\"")
    return false;
  json id;
  std::string_view id_text = env->id.of(line);
  if (auto n = rpc::span_integer(id_text))
    id = *n;
  else if (auto text = rpc::plain_string(id_text))
    id = std::string(*text);
  else
    return false;
  std::string_view params = env->params.of(line);
  static constexpr std::string_view kKeys[] = {"name", "_meta"};
  rpc::Span found[2];
  if (!rpc::locate_members(params, kKeys, found, 2) || found[1].present()) return false;
  auto name = rpc::plain_string(found[0].of(params));
  if (!name || name->empty()) return false;
  std::string exposed(*name);
  if (config_.gateway_tools && gateway_name(exposed)) return false;
  auto route = tool_names_.find(exposed);
  if (!route) return false;
  Backend* backend = find_backend(route->server);
  std::string key = id.dump();
  if (!backend || open_.count(key)) return false;

  if (!client_init_) implicit_session_ = true;
  open_request(id, key, "tools/call");
  auto call = prepare_call(*backend, id, key, "tools/call", route->name);
  if (!call) return true;
  std::string text;
  text.reserve(params.size() + route->name.size());
  text.append(params.substr(0, found[0].begin));
  text += json(route->name).dump();
  text.append(params.substr(found[0].end));
  call->params = std::move(text);
  launch(call);
  return true;
}

void Gateway::send_attempt(const std::shared_ptr<Call>& call) {
  ++call->attempt;
  auto open = open_.find(call->key);
  std::string_view request_id = open != open_.end() ? open->second.request_id : std::string_view();
  call->backend_id = call->backend->request_raw(
      call->method, call->params,
      [this, call](Reply&& reply) { on_call_reply(call, std::move(reply)); }, request_id,
      /*raw_result=*/true);
}

void Gateway::on_call_reply(const std::shared_ptr<Call>& call, Reply&& reply) {
  Backend& backend = *call->backend;
  HandlingScope scope(*this, Handling{call->id, call->method, backend.name()});
  const RetryConfig& retry = backend.failsafe().retry;
  if (reply.kind == Reply::Kind::failure && !reply.bad_answer && call->retry_safe &&
      !call->cancelled && !draining_ && !finishing_ && call->attempt < retry.max_attempts &&
      backend.retry_budget().try_spend()) {
    Milliseconds delay = retry_backoff(retry, call->attempt, jitter());
    trace::info("request.retry")
        .kv("request_id", open_.count(call->key) ? open_.at(call->key).request_id : "")
        .kv("server", backend.name())
        .kv("method", call->method)
        .kv("attempt", call->attempt + 1)
        .kv("delay_ms", static_cast<std::int64_t>(delay.count()))
        .kv("reason", reply.reason);
    call->retry_timer = std::make_unique<Timer>(io_, delay);
    call->retry_timer->async_wait([this, call](asio::error_code ec) {
      if (ec || call->cancelled || !call->retry_timer) return;
      call->retry_timer.reset();
      if (auto why = admission(*call->backend)) {
        finish_call(call);
        return refuse(call->id, call->method, *call->backend, *why);
      }
      send_attempt(call);
    });
    return;
  }
  finish_call(call);
  switch (reply.kind) {
    case Reply::Kind::result: {
      if (reply.raw.empty()) return this->reply(call->id, std::move(reply.value));
      // Forwarded as it came, only the id rewritten: no DOM.
      std::string line = std::move(reply.raw);
      std::string id_text = call->id.dump();
      line += '\n';
      std::size_t id_size = reply.id.end - reply.id.begin;
      if (id_text.size() == id_size || line.size() < kSplitAbove) {
        rpc::replace_span(line, reply.id, id_text);
        return respond_line(call->id, std::move(line));
      }
      // Large: the head goes on its own, so the body is not shifted.
      std::string head = line.substr(0, reply.id.begin) + id_text;
      return respond_line(call->id, std::move(head), std::move(line), reply.id.end);
    }
    case Reply::Kind::error: {
      json message{{"jsonrpc", "2.0"}, {"id", call->id}, {"error", std::move(reply.value)}};
      return respond(call->id, std::move(message));
    }
    case Reply::Kind::failure: {
      std::optional<Milliseconds> retry_after;
      if (backend.state() == BackendState::backoff) retry_after = backend.restart_in(Clock::now());
      return reply_unavailable(call->id, call->method, backend.name(), reply.reason, retry_after,
                               reply.bad_answer);
    }
    case Reply::Kind::cancelled:
      // The client withdrew it: by the spec it expects no answer.
      open_.erase(call->key);
      return check_drained();
  }
}

void Gateway::finish_call(const std::shared_ptr<Call>& call) {
  if (call->progress_token) progress_.erase(call->progress_token);
  auto it = inflight_.find(call->key);
  if (it != inflight_.end() && it->second == call) inflight_.erase(it);
}

// ------------------------------------------------------------ backend events

void Gateway::on_backend_message(Backend& backend, rpc::Message& message) {
  const std::string& method = message.method;
  HandlingScope scope(*this, Handling{nullptr, method, backend.name()});
  if (message.kind == rpc::Kind::Request) {
    const json& id = message.body["id"];
    if (auto problem = shape::server_request(method, message.body)) {
      trace::warn("backend.bad_request")
          .kv("server", backend.name())
          .kv("method", method)
          .kv("error", *problem);
      return backend.send(rpc::make_error(id, rpc::kInvalidParams, "mcpbraid: " + *problem));
    }
    if (method == "ping") return backend.send(rpc::make_result(id, json::object()));
    const char* capability = required_client_capability(method);
    if (draining_ || (capability && !client_capabilities_.contains(capability))) {
      std::string why = draining_ ? "the client closed the connection"
                                  : std::string("the client does not support ") + capability;
      trace::debug("upstream.refused")
          .kv("server", backend.name())
          .kv("method", method)
          .kv("why", why);
      return backend.send(rpc::make_error(id, rpc::kMethodNotFound, "mcpbraid: " + why));
    }
    std::int64_t upstream_id = next_upstream_id_++;
    upstream_[upstream_id] = {&backend, id, method};
    message.body["id"] = upstream_id;
    trace::debug("upstream.request")
        .kv("server", backend.name())
        .kv("method", method)
        .kv("upstream_id", upstream_id);
    return send_client(message.body);
  }
  // A notification.
  if (auto problem = shape::notification(method, message.body)) {
    trace::warn("backend.bad_notification")
        .kv("server", backend.name())
        .kv("method", method)
        .kv("error", *problem);
    return;
  }
  // Never add params that were not sent: "params": null is not JSON-RPC.
  json no_params = json::object();
  auto found = message.body.find("params");
  json& params = found != message.body.end() ? *found : no_params;
  if (method == "notifications/progress") {
    auto token = params.find("progressToken");
    if (token == params.end() || !token->is_number_integer()) {
      trace::debug("backend.stray_progress").kv("server", backend.name());
      return;
    }
    auto route = progress_.find(token->get<std::int64_t>());
    if (route == progress_.end() || route->second.backend != &backend) {
      trace::debug("backend.stray_progress").kv("server", backend.name());
      return;  // after completion or cancellation: dropped
    }
    *token = route->second.client_token;
    backend.extend_deadline(route->second.call->backend_id);
    return send_client(message.body);
  }
  if (method == "notifications/cancelled") {
    std::string key = rpc::id_key(params["requestId"]);
    for (auto it = upstream_.begin(); it != upstream_.end(); ++it) {
      if (it->second.backend == &backend && rpc::id_key(it->second.backend_id) == key) {
        params["requestId"] = it->first;
        upstream_.erase(it);
        return send_client(message.body);
      }
    }
    return;
  }
  if (method == "notifications/tools/list_changed" ||
      method == "notifications/prompts/list_changed" ||
      method == "notifications/resources/list_changed") {
    std::vector<ListKind> kinds;
    if (method == "notifications/tools/list_changed")
      kinds = {ListKind::tools};
    else if (method == "notifications/prompts/list_changed")
      kinds = {ListKind::prompts};
    else
      kinds = {ListKind::resources, ListKind::resource_templates};
    for (ListKind kind : kinds) {
      ListCache& cache = backend.list(kind);
      cache.items.reset();
      ++cache.generation;
      schedule_list_changed(kind);
    }
    trace::debug("backend.list_changed").kv("server", backend.name()).kv("method", method);
    return;
  }
  if (method == "notifications/message" && !params.contains("logger"))
    params["logger"] = backend.name();
  send_client(message.body);
}

void Gateway::on_backend_exit(Backend& backend) {
  // What it asked the client can no longer be answered: withdraw it.
  for (auto it = upstream_.begin(); it != upstream_.end();) {
    if (it->second.backend != &backend) {
      ++it;
      continue;
    }
    send_client(rpc::make_notification(
        "notifications/cancelled",
        {{"requestId", it->first}, {"reason", "server " + backend.name() + " exited"}}));
    it = upstream_.erase(it);
  }
  if (finishing_) return;
  schedule_restart(backend);
  run_settle_waiters();
}

void Gateway::schedule_restart(Backend& backend) {
  TimePoint now = Clock::now();
  auto delay = backend.restart_policy().on_exit(now, jitter());
  if (!delay) {
    const RestartConfig& r = backend.config().restart;
    std::string reason = "exited " + std::to_string(backend.restart_policy().restarts_in_window()) +
                         " times within " + std::to_string(r.window.count()) +
                         " ms (max_restarts " + std::to_string(r.max_restarts) +
                         "); last: " + backend.last_error();
    trace::error("backend.failed").kv("server", backend.name()).kv("reason", reason);
    backend.set_failed(reason);
    drop_from_lists(backend);
    return;
  }
  // Its tools stay listed while it restarts; calls fail fast meanwhile.
  backend.set_backoff(now + *delay);
  trace::warn("backend.restart")
      .kv("server", backend.name())
      .kv("reason", backend.last_error())
      .kv("in_ms", static_cast<std::int64_t>(delay->count()))
      .kv("restarts", backend.restarts())
      .kv("exits_in_window", backend.restart_policy().restarts_in_window())
      .kv("max_restarts", backend.config().restart.max_restarts);
  auto& timer = restart_timers_[&backend];
  timer = std::make_unique<Timer>(io_, *delay);
  timer->async_wait([this, &backend](asio::error_code ec) {
    if (ec || finishing_) return;
    if (!backend.start()) return drop_from_lists(backend);
    if (output_paused_) backend.pause_output();
    if (init_started_) initialize_backend(backend);
  });
}

// A failed backend leaves the lists; its routes stay, so a client that still
// knows its tools hears why they fail rather than "unknown tool". (Its calls
// were already failed, which dropped their progress routes.)
void Gateway::drop_from_lists(Backend& backend) {
  backend.invalidate_lists();
  if (init_wait_over_) {
    schedule_list_changed(ListKind::tools);
    schedule_list_changed(ListKind::prompts);
    schedule_list_changed(ListKind::resources);
  }
}

// After a restart the lists are fetched again; the client hears of it only
// when they changed.
void Gateway::refresh_after_restart(Backend& backend) {
  for (ListKind kind :
       {ListKind::tools, ListKind::prompts, ListKind::resources, ListKind::resource_templates}) {
    ListCache& cache = backend.list(kind);
    auto before = std::make_shared<std::optional<std::vector<json>>>(std::move(cache.items));
    cache.items.reset();
    ++cache.generation;
    fetch_list(backend, kind, [this, &backend, kind, before] {
      const auto& after = backend.list(kind).items;
      if (!*before || !after || **before != *after) schedule_list_changed(kind);
    });
  }
}

double Gateway::jitter() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

// ------------------------------------------------------------ its own tools

health::Snapshot Gateway::snapshot() const {
  TimePoint now = Clock::now();
  health::Snapshot snapshot;
  snapshot.pid = ::getpid();
  snapshot.version = MCPBRAID_VERSION;
  snapshot.config = config_.path;
  snapshot.uptime_s = std::chrono::duration<double>(now - started_).count();
  snapshot.internal_errors = internal_errors_;
  for (const auto& backend : backends_) {
    health::BackendStatus status = backend->status(now);
    if (status.stderr_tail.size() > kSnapshotStderrLines)
      status.stderr_tail.erase(status.stderr_tail.begin(),
                               status.stderr_tail.end() - kSnapshotStderrLines);
    snapshot.backends.push_back(std::move(status));
  }
  return snapshot;
}

bool Gateway::is_gateway_tool(const json& message) const {
  return config_.gateway_tools && gateway_name(string_field(params_of(message), "name"));
}

json Gateway::gateway_method_result(const std::string& name) const {
  if (name == kHealthTool) return health::to_json(snapshot());
  json servers = json::array();
  for (const auto& b : snapshot().backends)
    servers.push_back({{"name", b.name},
                       {"state", b.state},
                       {"circuit", b.circuit},
                       {"healthy", b.healthy},
                       {"tools", b.tools ? json(*b.tools) : json(nullptr)},
                       {"last_error", b.last_error.empty() ? json(nullptr) : json(b.last_error)}});
  return {{"servers", std::move(servers)}};
}

json Gateway::gateway_tool_result(const std::string& name) const {
  json structured = gateway_method_result(name);
  std::string text;
  if (name == kHealthTool) {
    text = health::render_table(snapshot(), /*color=*/false);
  } else {
    for (const auto& s : structured["servers"]) {
      text += s["name"].get<std::string>() + ": " + s["state"].get<std::string>() + ", circuit " +
              s["circuit"].get<std::string>() + ", " +
              (s["tools"].is_null() ? std::string("tools not listed yet")
                                    : std::to_string(s["tools"].get<std::int64_t>()) + " tools");
      if (!s["last_error"].is_null()) text += ", last error: " + s["last_error"].get<std::string>();
      text += "\n";
    }
    if (text.empty()) text = "no servers configured\n";
  }
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})},
          {"structuredContent", std::move(structured)},
          {"isError", false}};
}

json Gateway::answer_control(const std::string& method) const {
  if (method == "health") return health::to_json(snapshot());
  if (method == "list_servers") return gateway_method_result(kListServersTool);
  throw std::runtime_error("unknown method '" + method + "' (health, list_servers)");
}

// ------------------------------------------------------------------- shutdown

void Gateway::on_signal(int signo) {
  trace::info("gateway.signal").kv("signal", signo);
  if (client_in_) client_in_->close();
  draining_ = true;
  for (auto& [id, up] : upstream_)
    up.backend->send(
        rpc::make_error(up.backend_id, rpc::kInternalError, "mcpbraid is shutting down"));
  upstream_.clear();
  // Do not wait: answer what is open, then stop.
  init_wait_over_ = true;
  for (auto& backend : backends_) backend->fail_pending("mcpbraid is shutting down");
  auto waiters = std::move(settle_waiters_);
  settle_waiters_.clear();
  for (auto& fn : waiters) fn();
  finish();
}

void Gateway::check_drained() {
  if (draining_ && open_.empty()) finish();
}

void Gateway::finish() {
  if (finishing_) return;
  finishing_ = true;
  if (init_timer_) init_timer_->cancel();
  if (list_changed_timer_) list_changed_timer_->cancel();
  if (trim_timer_) trim_timer_->cancel();
  for (auto& [backend, timer] : restart_timers_) timer->cancel();
  auto remaining = std::make_shared<std::size_t>(1);
  auto done = [this, remaining] {
    if (--*remaining != 0) return;
    wait_for_output(Clock::now() + kFlushLimit);
  };
  for (auto& backend : backends_) {
    ++*remaining;
    backend->stop(done);
  }
  done();
}

void Gateway::wait_for_output(TimePoint until) {
  if (!client_out_ || client_out_->idle() || client_out_->broken() || Clock::now() >= until) {
    signals_.cancel();
    io_.stop();
    return;
  }
  flush_timer_ = std::make_unique<Timer>(io_, std::chrono::milliseconds(2));
  flush_timer_->async_wait([this, until](asio::error_code) { wait_for_output(until); });
}

}  // namespace mcpbraid
