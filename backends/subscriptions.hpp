#pragma once
// subscriptions/listen (MCP 2026-07-28): the one way a modern client hears
// list changes. A listen is acknowledged at once
// (notifications/subscriptions/acknowledged with the honored subset of its
// filter) and stays open, unanswered, until the client cancels it or
// leaves; each list_changed it asked for carries its id in
// _meta["io.modelcontextprotocol/subscriptionId"]. resourceSubscriptions
// are not honored yet (left out of the acknowledged subset, as the spec
// allows).
#include <string>
#include <vector>

#include "core/jsonrpc.hpp"
#include "core/list_kind.hpp"

namespace mcpbraid {

class Gateway;

class Subscriptions {
 public:
  explicit Subscriptions(Gateway& gateway) : g_(gateway) {}

  // The request's record is open (Dispatcher); it stays open while the
  // listen does. A malformed filter is answered -32602 (closing it).
  void on_listen(const json& id, const json& params);
  // notifications/cancelled for `key`: true when it ended a listen.
  bool cancel(const std::string& key);
  // The merged list of `kind` changed: every listen that asked hears it.
  void on_list_changed(ListKind kind);
  // The client left or we stop: every listen ends, unanswered.
  void end_all();

 private:
  struct Listen {
    json id;
    std::string key;
    bool tools = false, prompts = false, resources = false;
  };

  Gateway& g_;
  std::vector<Listen> listens_;
};

}  // namespace mcpbraid
