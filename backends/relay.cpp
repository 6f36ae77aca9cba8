#include "backends/relay.hpp"

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/modern.hpp"
#include "core/shape.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

// The capability a backend-originated request needs from the client.
const char* required_client_capability(const std::string& method) {
  if (std::uint8_t bit = modern::input_capability(method))
    return modern::input_capability_name(bit);
  // A backend polling the tasks it made at the client (2025-11-25).
  if (method.starts_with("tasks/")) return "tasks";
  return nullptr;
}

}  // namespace

void Relay::on_backend_message(Backend& backend, rpc::Message& message) {
  Gateway::HandlingScope scope(g_, Gateway::Handling{nullptr, message.method, backend.name()});
  if (message.kind == rpc::Kind::Request) return on_request(backend, message);
  on_notification(backend, message);
}

void Relay::on_request(Backend& backend, rpc::Message& message) {
  const std::string& method = message.method;
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
  bool draining = g_.session().draining();
  bool declared = !capability || g_.session().capabilities().contains(capability);
  // During a 2026-07-28 client's call: that call's input (input_rounds),
  // checked against what that call's envelope declares.
  if (!draining && modern::input_capability(method) &&
      g_.rounds().on_backend_request(backend, method, id, params_of(message.body)))
    return;
  if (draining || !declared || g_.session().modern_only()) {
    std::string why = draining ? "the client closed the connection"
                      : !declared
                          ? std::string("the client does not support ") + capability
                          : std::string("the client speaks MCP 2026-07-28, which takes no ") +
                                method + " request from a server outside a call";
    trace::debug("upstream.refused")
        .kv("server", backend.name())
        .kv("method", method)
        .kv("why", why);
    return backend.send(rpc::make_error(id, rpc::kMethodNotFound, "mcpbraid: " + why));
  }
  std::int64_t upstream_id = upstream_.add(g_.index_of(backend), id, method);
  message.body["id"] = upstream_id;
  // An elicitation for a task (while its tasks/result waits) names our id.
  if (auto p = message.body.find("params"); p != message.body.end())
    g_.tasks().to_client(backend, *p);
  trace::debug("upstream.request")
      .kv("server", backend.name())
      .kv("method", method)
      .kv("upstream_id", upstream_id);
  g_.client().send(message.body);
}

bool Relay::wanted_log(const Backend& backend, const json& params) const {
  // Which request a log message is for is not on the stdio wire: it goes to
  // the client while a modern call in flight at this backend asked for its
  // level or a lower one.
  std::uint8_t rank = modern::log_rank(string_field(params, "level"));
  if (rank == 0) return false;
  int index = g_.index_of(backend);
  for (CallHandle h : g_.calls().handles()) {
    const CallRecord* call = g_.calls().get(h);
    if (call && call->modern && call->backend == index && call->log_rank && call->log_rank <= rank)
      return true;
  }
  return false;
}

void Relay::on_notification(Backend& backend, rpc::Message& message) {
  const std::string& method = message.method;
  if (method == "notifications/subscriptions/acknowledged" && backend.modern()) {
    trace::debug("backend.listening").kv("server", backend.name());
    return;  // our own listen (handshake.cpp), not the client's
  }
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
    const ProgressRoute* route = token != params.end() && token->is_number_integer()
                                     ? g_.runner().on_progress(backend, token->get<std::int64_t>())
                                     : nullptr;
    if (!route || route->client_token.is_null()) {
      // After completion or cancellation: dropped.
      trace::debug("backend.stray_progress").kv("server", backend.name());
      return;
    }
    *token = route->client_token;
    g_.tasks().to_client(backend, params);  // a task's progress names its task
    return g_.client().send(message.body);
  }
  if (method == "notifications/cancelled") {
    auto ours = upstream_.find_by_backend(g_.index_of(backend), params["requestId"]);
    if (!ours) return;
    upstream_.take(*ours);
    params["requestId"] = *ours;
    return g_.client().send(message.body);
  }
  if (method == "notifications/tools/list_changed" ||
      method == "notifications/prompts/list_changed" ||
      method == "notifications/resources/list_changed")
    return g_.lists().on_backend_list_changed(backend, method);
  if (g_.session().modern_only()) {
    // 2026-07-28 allows a server no unsolicited notifications: log
    // messages only for a request that set a logLevel (server/utilities/
    // logging.mdx), resources/updated only on a subscriptions/listen stream.
    if (method == "notifications/message" && wanted_log(backend, params))
      return g_.client().send(message.body);
    trace::debug("backend.notification_dropped")
        .kv("server", backend.name())
        .kv("method", method)
        .kv("why", "the client speaks 2026-07-28");
    return;
  }
  if (method == "notifications/tasks/status") {
    if (!g_.tasks().on_status(backend, params)) {
      trace::warn("backend.bad_notification")
          .kv("server", backend.name())
          .kv("method", method)
          .kv("error", "params.taskId is missing or not a string");
      return;
    }
  } else {
    g_.tasks().to_client(backend, params);
  }
  if (method == "notifications/resources/updated" && backend.modern()) {
    // Sent on our listen, tagged with its id: the client subscribed with
    // resources/subscribe and knows no listen.
    if (auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
      meta->erase(modern::kSubscriptionIdKey);
      if (meta->empty()) params.erase("_meta");
    }
  }
  if (method == "notifications/message" && !params.contains("logger"))
    params["logger"] = backend.name();
  g_.client().send(message.body);
}

void Relay::on_client_response(rpc::Message& message) {
  if (g_.asked().on_client_response(message.body)) return;
  const json& id = message.body["id"];
  std::optional<UpstreamRoute> up;
  if (id.is_number_integer()) up = upstream_.take(id.get<std::int64_t>());
  if (!up) {
    trace::warn("client.unknown_response").kv("id", id.dump());
    return;
  }
  Backend& backend = *g_.backends()[up->backend];
  shape::Problem problem;
  if (auto r = message.body.find("result"); r != message.body.end())
    problem = shape::result_object(*r);
  else
    problem = shape::error_object(message.body["error"]);
  if (problem) {
    trace::warn("client.bad_answer")
        .kv("server", backend.name())
        .kv("method", up->method)
        .kv("error", *problem);
    backend.send(rpc::make_error(up->backend_id, rpc::kInternalError,
                                 "mcpbraid: the client sent a bad answer: " + *problem));
    return;
  }
  message.body["id"] = up->backend_id;
  if (auto r = message.body.find("result"); r != message.body.end())
    g_.tasks().to_backend(up->backend, *r);
  trace::debug("upstream.answered").kv("server", backend.name()).kv("method", up->method);
  backend.send(message.body);
}

void Relay::on_backend_exit(Backend& backend) {
  for (auto& [ours, route] : upstream_.take_all(g_.index_of(backend)))
    g_.client().send(rpc::make_notification(
        "notifications/cancelled",
        {{"requestId", ours}, {"reason", "server " + backend.name() + " exited"}}));
}

void Relay::refuse_all(const std::string& why) {
  for (auto& [ours, route] : upstream_.take_all())
    g_.backends()[route.backend]->send(rpc::make_error(route.backend_id, rpc::kInternalError, why));
}

}  // namespace mcpbraid
