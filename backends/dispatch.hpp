#pragma once
// A client line -> the part that handles it. Requests open their record in
// the call table here (a duplicate id is refused), then go by method: the
// gateway's own answers at once, routed methods once backends settled.
#include <cstddef>
#include <optional>
#include <string>

#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class Dispatcher {
 public:
  explicit Dispatcher(Gateway& gateway) : g_(gateway) {}

  // From the client's reader. The guard sits here as well as around the
  // loop: an exception must not unwind through the reader.
  void on_line(std::string& line);
  void on_oversized(std::string& head, std::size_t size);

 private:
  void handle_line(std::string& line);
  void handle_request(rpc::Message& message);
  void handle_notification(rpc::Message& message);
  // A request with a 2026-07-28 envelope (or server/discover): marks its
  // record modern, checks the envelope and strips it for the backends.
  // False when answered here (a bad envelope, a removed method, discover).
  bool enter_modern(CallHandle handle, rpc::Message& message);
  // Opens the call record; nullopt (and answered) for a duplicate id.
  std::optional<CallHandle> open_call(const json& id, std::string key, const std::string& method);

  Gateway& g_;
};

}  // namespace mcpbraid
