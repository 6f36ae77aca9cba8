#include "backends/subscriptions.hpp"

#include <algorithm>

#include "backends/gateway.hpp"
#include "core/modern.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

// A SubscriptionFilter's flag: absent is false; anything but a boolean is
// a malformed filter.
bool flag(const json& filter, const char* key, bool& out) {
  auto it = filter.find(key);
  if (it == filter.end()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

}  // namespace

void Subscriptions::on_listen(const json& id, const json& params) {
  ClientChannel& client = g_.client();
  auto filter = params.is_object() ? params.find("notifications") : params.end();
  Listen listen;
  bool ok = params.is_object() && filter != params.end() && filter->is_object() &&
            flag(*filter, "toolsListChanged", listen.tools) &&
            flag(*filter, "promptsListChanged", listen.prompts) &&
            flag(*filter, "resourcesListChanged", listen.resources);
  if (ok) {
    auto uris = filter->find("resourceSubscriptions");
    ok = uris == filter->end() ||
         (uris->is_array() &&
          std::all_of(uris->begin(), uris->end(), [](const json& u) { return u.is_string(); }));
  }
  if (!ok)
    return client.reply_error(
        id, rpc::kInvalidParams,
        "Invalid params: 'notifications' is required and must be a valid SubscriptionFilter");
  listen.id = id;
  listen.key = rpc::id_key(id);
  json honored = json::object();
  if (listen.tools) honored["toolsListChanged"] = true;
  if (listen.prompts) honored["promptsListChanged"] = true;
  if (listen.resources) honored["resourcesListChanged"] = true;
  trace::info("client.listen").kv("id", listen.key).kv("honored", honored.dump());
  listens_.push_back(std::move(listen));
  client.send(rpc::make_notification(
      "notifications/subscriptions/acknowledged",
      {{"_meta", {{modern::kSubscriptionIdKey, id}}}, {"notifications", std::move(honored)}}));
  // Backends start their handshake, as for any request that needs them.
  g_.session().on_backend_request();
  g_.handshake().begin();
}

bool Subscriptions::cancel(const std::string& key) {
  auto it = std::find_if(listens_.begin(), listens_.end(),
                         [&key](const Listen& l) { return l.key == key; });
  if (it == listens_.end()) return false;
  trace::info("client.listen_end").kv("id", key);
  listens_.erase(it);
  if (auto h = g_.calls().find(key)) g_.calls().discard(*h);
  g_.check_drained();
  return true;
}

void Subscriptions::on_list_changed(ListKind kind) {
  if (g_.session().draining()) return;
  for (const Listen& listen : listens_) {
    bool wanted = kind == ListKind::tools     ? listen.tools
                  : kind == ListKind::prompts ? listen.prompts
                                              : listen.resources;
    if (wanted)
      g_.client().send(rpc::make_notification(
          list_changed_method(kind), {{"_meta", {{modern::kSubscriptionIdKey, listen.id}}}}));
  }
}

void Subscriptions::end_all() {
  auto listens = std::move(listens_);
  listens_.clear();
  for (const Listen& listen : listens)
    if (auto h = g_.calls().find(listen.key)) g_.calls().discard(*h);
}

}  // namespace mcpbraid
