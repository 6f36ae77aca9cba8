#include "backends/dispatch.hpp"

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/modern.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

void Dispatcher::on_line(std::string& line) {
  g_.guarded([this, &line] { handle_line(line); });
}

void Dispatcher::handle_line(std::string& line) {
  Gateway::HandlingScope scope(g_, Gateway::Handling{nullptr, "(client line)", ""});
  // Once backends settled, a plain tools/call goes without a DOM.
  if (g_.session().fast_path() && g_.runner().fast_tool_call(line)) return;
  rpc::Message message = rpc::parse_message(line, g_.config().max_json_depth);
  switch (message.kind) {
    case rpc::Kind::Invalid: {
      trace::warn("client.bad_input")
          .kv("error", message.error_text)
          .kv("line", line.substr(0, 200));
      // Echo the id when it was readable, as JSON-RPC asks; otherwise null.
      g_.client().send(rpc::make_error(message.id, message.error_code, message.error_text));
      return;
    }
    case rpc::Kind::Request:
      g_.set_handling(Gateway::Handling{message.body["id"], message.method, ""});
      return handle_request(message);
    case rpc::Kind::Notification:
      return handle_notification(message);
    case rpc::Kind::Response:
      return g_.relay().on_client_response(message);
  }
}

void Dispatcher::on_oversized(std::string& head, std::size_t size) {
  json id = rpc::peek_id(head);
  std::size_t max_line = g_.config().max_line;
  trace::warn("client.oversized")
      .kv("bytes", static_cast<std::int64_t>(size))
      .kv("max_line", static_cast<std::int64_t>(max_line))
      .kv("id", id.is_null() ? std::string() : id.dump());
  g_.client().send(rpc::make_error(id, rpc::kInvalidRequest,
                                   "Invalid Request: line of " + std::to_string(size) +
                                       " bytes exceeds max_line (" + std::to_string(max_line) +
                                       " bytes)"));
}

std::optional<CallHandle> Dispatcher::open_call(const json& id, std::string key,
                                                const std::string& method) {
  std::string shown = key;
  auto handle = g_.calls().open(id, std::move(key), method, Clock::now());
  if (!handle) {
    g_.client().send(rpc::make_error(id, rpc::kInvalidRequest,
                                     "Invalid Request: id " + shown + " is already in use"));
    return std::nullopt;
  }
  trace::debug("request.start")
      .kv("request_id", g_.calls().get(*handle)->request_id)
      .kv("method", method)
      .kv("id", shown);
  return handle;
}

void Dispatcher::handle_request(rpc::Message& message) {
  const json& id = message.body["id"];
  const std::string& method = message.method;
  auto handle = open_call(id, rpc::id_key(id), method);
  if (!handle) return;
  ClientChannel& client = g_.client();

  if (method == "initialize") return g_.handshake().on_client_initialize(message);
  if ((method == "server/discover" || modern::is_modern(message.body)) &&
      !enter_modern(*handle, message))
    return;
  if (method == "mcpbraid/test/throw" && g_.test_hooks()) {
    // Only with MCPBRAID_TEST_HOOKS=1: proves the last-resort guard works.
    throw std::runtime_error("test hook: an exception escaping a handler");
  }
  if (method == "ping") return client.reply(id, json::object());
  // The gateway's own answers never wait for backends.
  if (GatewayTools::is_method(method)) return client.reply(id, g_.tools().method_result(method));
  if (method == "tools/call" && g_.tools().is_tool_call(message.body))
    return client.reply(id, g_.tools().tool_result(message.body));
  if (g_.session().finishing())
    return client.reply_error(id, rpc::kInternalError, "mcpbraid is shutting down");

  Router::Handler route = Router::handler_for(method);
  if (method == "tools/call" && g_.config().search_mode() &&
      SearchTools::is_tool(string_field(params_of(message.body), "name")))
    route = [](Gateway& g, rpc::Message& m) { g.search().on_call(m); };
  if (!route) return client.reply_error(id, rpc::kMethodNotFound, "Method not found: " + method);
  g_.session().on_backend_request();
  g_.handshake().begin();
  if (g_.session().settled()) return route(g_, message);  // the common case: no wait, no copy
  // The message is moved into the waiter: it runs once backends settled.
  auto shared = std::make_shared<rpc::Message>(std::move(message));
  g_.handshake().when_settled([this, shared, route] { route(g_, *shared); });
}

bool Dispatcher::enter_modern(CallHandle handle, rpc::Message& message) {
  const json& id = message.body["id"];
  const std::string& method = message.method;
  g_.calls().get(handle)->modern = true;
  json& params = message.body["params"];
  auto check = modern::read_envelope(params);
  if (check.error) {
    trace::warn("client.bad_envelope")
        .kv("method", method)
        .kv("code", check.error->code)
        .kv("error", check.error->message);
    g_.client().reply_error(id, check.error->code, check.error->message,
                            std::move(check.error->data));
    return false;
  }
  CallRecord* call = g_.calls().get(handle);
  call->client_inputs = modern::input_capabilities(check.envelope->capabilities);
  call->log_rank = modern::log_rank(check.envelope->log_level);
  g_.session().on_envelope(check.envelope->client_info, check.envelope->capabilities);
  if (modern::removed_method(method)) {
    g_.client().reply_error(
        id, rpc::kMethodNotFound,
        "Method not found: " + method + " (not in protocol revision " + modern::kVersion + ")");
    return false;
  }
  if (method == "subscriptions/listen") {
    g_.subscriptions().on_listen(id, params);
    return false;
  }
  if (method == "server/discover") {
    g_.session().on_backend_request();
    g_.handshake().on_client_discover(id);
    return false;
  }
  // A retry of a call that asked for input takes that call over.
  if (modern::multi_round(method) && g_.rounds().on_request(handle, message)) return false;
  // Backends speak the handshake: they are told the client in initialize,
  // not per request.
  modern::strip_envelope(params);
  return true;
}

void Dispatcher::handle_notification(rpc::Message& message) {
  const std::string& method = message.method;
  if (method == "notifications/initialized") return g_.handshake().on_client_initialized();
  if (method == "notifications/cancelled") {
    json params = params_of(message.body);
    auto request_id = params.find("requestId");
    if (request_id == params.end()) return;
    if (g_.subscriptions().cancel(rpc::id_key(*request_id))) return;
    auto reason = params.find("reason");
    return g_.runner().cancel(
        rpc::id_key(*request_id),
        reason != params.end() && reason->is_string() ? reason->get<std::string>() : std::string());
  }
  if (method == "notifications/roots/list_changed") {
    for (auto& backend : g_.backends())  // 2026-07-28 removed it (roots come per request)
      if (backend->state() == BackendState::ready && !backend->modern()) backend->notify(method);
    return;
  }
  trace::debug("client.notification_ignored").kv("method", method);
}

}  // namespace mcpbraid
