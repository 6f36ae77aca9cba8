#include "backends/router.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/modern.hpp"
#include "core/task_table.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

// The params of a message about to be forwarded, moved out (no copy).
json take_params(json& message) {
  auto it = message.find("params");
  if (it == message.end() || !it->is_object()) return json::object();
  return std::move(*it);
}

}  // namespace

Router::Handler Router::handler_for(const std::string& method) {
  static const std::map<std::string, Handler, std::less<>> kRouted = {
      {"tools/list",
       [](Gateway& g, rpc::Message& m) { g.lists().on_client_list(m, ListKind::tools); }},
      {"prompts/list",
       [](Gateway& g, rpc::Message& m) { g.lists().on_client_list(m, ListKind::prompts); }},
      {"resources/list",
       [](Gateway& g, rpc::Message& m) { g.lists().on_client_list(m, ListKind::resources); }},
      {"resources/templates/list",
       [](Gateway& g, rpc::Message& m) {
         g.lists().on_client_list(m, ListKind::resource_templates);
       }},
      {"tools/call", [](Gateway& g, rpc::Message& m) { g.router().on_named(m, ListKind::tools); }},
      {"prompts/get",
       [](Gateway& g, rpc::Message& m) { g.router().on_named(m, ListKind::prompts); }},
      {"resources/read", [](Gateway& g, rpc::Message& m) { g.router().on_uri(m); }},
      {"resources/subscribe", [](Gateway& g, rpc::Message& m) { g.router().on_uri(m); }},
      {"resources/unsubscribe", [](Gateway& g, rpc::Message& m) { g.router().on_uri(m); }},
      {"completion/complete", [](Gateway& g, rpc::Message& m) { g.router().on_completion(m); }},
      {"logging/setLevel", [](Gateway& g, rpc::Message& m) { g.router().on_set_level(m); }},
      {"tasks/get", [](Gateway& g, rpc::Message& m) { g.tasks().on_request(m); }},
      {"tasks/result", [](Gateway& g, rpc::Message& m) { g.tasks().on_request(m); }},
      {"tasks/cancel", [](Gateway& g, rpc::Message& m) { g.tasks().on_request(m); }},
      {"tasks/list", [](Gateway& g, rpc::Message& m) { g.tasks().on_list(m); }},
  };
  auto it = kRouted.find(method);
  return it == kRouted.end() ? nullptr : it->second;
}

template <typename Again>
void Router::learn_then(rpc::Message& message, ListKind first, std::optional<ListKind> second,
                        Again again) {
  auto shared = std::make_shared<rpc::Message>(std::move(message));
  g_.lists().collect(first, [this, shared, second, again] {
    if (!second) return again(*shared);
    g_.lists().collect(*second, [shared, again] { again(*shared); });
  });
}

void Router::on_named(rpc::Message& message, ListKind kind, bool retried) {
  json id = message.body["id"];
  std::string name = string_field(params_of(message.body), "name");
  ClientChannel& client = g_.client();
  if (name.empty())
    return client.reply_error(id, rpc::kInvalidParams, "Invalid params: missing name");
  auto route = g_.catalog().names(kind).find(name);
  if (!route && !retried)
    return learn_then(message, kind, std::nullopt,
                      [this, kind](rpc::Message& m) { on_named(m, kind, true); });
  const char* what = kind == ListKind::tools ? "tool" : "prompt";
  if (!route)
    return client.reply_error(id, rpc::kInvalidParams,
                              std::string("Unknown ") + what + ": " + name);
  Backend* backend = g_.find_backend(route->server);
  if (!backend)
    return client.reply_unavailable(id, message.method, route->server, "unknown server");
  json params = take_params(message.body);
  params["name"] = route->name;
  // A task-augmented call is answered with a task (MCP 2025-11-25).
  TaskRole role =
      kind == ListKind::tools && tasks::task_augmented(params) ? TaskRole::create : TaskRole::none;
  g_.runner().forward(CallSpec{*backend, id, message.method, std::move(params), route->name, role});
}

void Router::on_uri(rpc::Message& message, bool retried) {
  json id = message.body["id"];
  json params = params_of(message.body);
  std::string uri = string_field(params, "uri");
  ClientChannel& client = g_.client();
  if (uri.empty())
    return client.reply_error(id, rpc::kInvalidParams, "Invalid params: missing uri");
  auto owner = g_.catalog().resources.owner(uri);
  if (!owner && !retried)
    return learn_then(message, ListKind::resources, ListKind::resource_templates,
                      [this](rpc::Message& m) { on_uri(m, true); });
  if (!owner) {
    // Nobody listed it. With a single resource server there is no doubt.
    std::vector<Backend*> candidates;
    for (auto& backend : g_.backends())
      if (backend->state() == BackendState::ready && backend->capabilities().contains("resources"))
        candidates.push_back(backend.get());
    if (candidates.size() == 1) owner = candidates.front()->name();
  }
  // A URI the owner's filter hides is as unknown as one nobody listed. A URI
  // of a template the filter let through (templates are filtered by their
  // uriTemplate) is shown unless the deny list names the URI itself.
  if (owner) {
    Backend* b = g_.find_backend(*owner);
    if (b) {
      const NameFilter& filter = b->config().resources;
      bool shown = filter.allows(uri) || (!glob_any(filter.deny, uri) &&
                                          g_.catalog().resources.template_matches(*owner, uri));
      if (!shown) owner.reset();
    }
  }
  if (!owner)
    return client.reply_error(id, rpc::kResourceNotFound, "Resource not found: " + uri,
                              {{"uri", uri}});
  Backend* backend = g_.find_backend(*owner);
  if (!backend) return client.reply_unavailable(id, message.method, *owner, "unknown server");
  bool subscribe = message.method == "resources/subscribe";
  if (backend->modern() && (subscribe || message.method == "resources/unsubscribe")) {
    // 2026-07-28 has no resources/subscribe: the subscription rides on our
    // subscriptions/listen to that backend (handshake.cpp).
    // The set is kept whatever the state: the next listen (after a restart)
    // carries it.
    g_.handshake().subscribe(*backend, uri, subscribe);
    return client.reply(id, json::object());
  }
  g_.runner().forward(CallSpec{*backend, id, message.method, std::move(params), {}});
}

void Router::on_completion(rpc::Message& message, bool retried) {
  json id = message.body["id"];
  json params = params_of(message.body);
  json ref = params.value("ref", json::object());
  std::string type = string_field(ref, "type");
  ClientChannel& client = g_.client();
  std::optional<std::string> server;
  if (type == "ref/prompt") {
    std::string name = string_field(ref, "name");
    auto route = g_.catalog().prompts.find(name);
    if (!route && !retried)
      return learn_then(message, ListKind::prompts, std::nullopt,
                        [this](rpc::Message& m) { on_completion(m, true); });
    if (!route) return client.reply_error(id, rpc::kInvalidParams, "Unknown prompt: " + name);
    server = route->server;
    params["ref"]["name"] = route->name;
  } else if (type == "ref/resource") {
    std::string uri = string_field(ref, "uri");
    server = g_.catalog().resources.template_owner(uri);
    if (!server && !retried)
      return learn_then(message, ListKind::resource_templates, ListKind::resources,
                        [this](rpc::Message& m) { on_completion(m, true); });
    if (!server)
      return client.reply_error(id, rpc::kInvalidParams, "Unknown resource reference: " + uri);
  } else {
    return client.reply_error(id, rpc::kInvalidParams,
                              "Invalid params: ref.type must be ref/prompt or ref/resource");
  }
  Backend* backend = g_.find_backend(*server);
  if (!backend) return client.reply_unavailable(id, message.method, *server, "unknown server");
  g_.runner().forward(CallSpec{*backend, id, message.method, std::move(params), {}});
}

void Router::on_set_level(rpc::Message& message) {
  json id = message.body["id"];
  json params = params_of(message.body);
  static const std::vector<std::string> kLevels = {"debug", "info",     "notice", "warning",
                                                   "error", "critical", "alert",  "emergency"};
  std::string level = string_field(params, "level");
  if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end())
    return g_.client().reply_error(id, rpc::kInvalidParams,
                                   "Invalid params: unknown log level '" + level + "'");
  log_level_ = level;
  auto remaining = std::make_shared<std::size_t>(1);
  auto finish_one = [this, remaining, id] {
    if (--*remaining == 0) g_.client().reply(id, json::object());
  };
  for (auto& backend : g_.backends()) {
    if (backend->state() != BackendState::ready || !backend->capabilities().contains("logging"))
      continue;
    if (backend->modern()) {  // no setLevel: the level rides on every request
      backend->set_envelope_field(modern::kLogLevelKey, level);
      continue;
    }
    ++*remaining;
    Backend* b = backend.get();
    b->request("logging/setLevel", params, [finish_one, b](Reply&& reply) {
      if (!reply.ok())
        trace::warn("backend.set_level_failed")
            .kv("server", b->name())
            .kv("reason", reply.kind == Reply::Kind::error ? reply.value.dump() : reply.reason);
      finish_one();
    });
  }
  finish_one();
}

void Router::replay_log_level(Backend& backend) {
  if (log_level_ && backend.modern())
    backend.set_envelope_field(modern::kLogLevelKey, *log_level_);
  else if (log_level_ && backend.capabilities().contains("logging"))
    backend.request("logging/setLevel", {{"level", *log_level_}}, [](Reply&&) {});
}

}  // namespace mcpbraid
