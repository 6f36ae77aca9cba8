#pragma once
// A client request -> the one backend it goes to, and the params it goes
// with: tools and prompts by exposed name, resources by URI (exact, then
// templates), completions by their ref. A name or URI not known yet (a
// client that calls before it listed, as a pipe does) is learned by
// fetching the lists once, then routed again. The result is a CallSpec for
// the call runner, so every routed method takes the same path.
// logging/setLevel fans out to every backend that logs, and is replayed to
// backends that become ready later.
#include <optional>
#include <string>

#include "core/jsonrpc.hpp"
#include "core/list_kind.hpp"

namespace mcpbraid {

class Backend;
class Gateway;

class Router {
 public:
  using Handler = void (*)(Gateway&, rpc::Message&);
  explicit Router(Gateway& gateway) : g_(gateway) {}

  // The handler of a routed method; nullptr when the method is unknown.
  static Handler handler_for(const std::string& method);

  void on_named(rpc::Message& message, ListKind kind, bool retried = false);
  void on_uri(rpc::Message& message, bool retried = false);
  void on_completion(rpc::Message& message, bool retried = false);
  void on_set_level(rpc::Message& message);
  void replay_log_level(Backend& backend);

 private:
  // Fetches the lists of `first` (and `second`), then routes the message
  // again with retried = true.
  template <typename Again>
  void learn_then(rpc::Message& message, ListKind first, std::optional<ListKind> second,
                  Again again);

  Gateway& g_;
  std::optional<std::string> log_level_;
};

}  // namespace mcpbraid
