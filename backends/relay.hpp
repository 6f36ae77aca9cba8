#pragma once
// Backend -> client traffic that is not an answer to a request of ours:
// a backend's own requests (sampling, elicitation, roots) relayed to the
// client under ids of ours and their answers relayed back; notifications
// (progress with its token mapped back, cancellations, logging messages,
// list_changed, which goes to list_sync). Every shape is checked first:
// a malformed request is refused to the backend, a malformed notification
// dropped.
#include <string>

#include "core/id_maps.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Backend;
class Gateway;

class Relay {
 public:
  explicit Relay(Gateway& gateway) : g_(gateway) {}

  void on_backend_message(Backend& backend, rpc::Message& message);
  // The client answered a request we relayed to it.
  void on_client_response(rpc::Message& message);
  // The backend is gone: what it asked the client is withdrawn.
  void on_backend_exit(Backend& backend);
  // Nobody will answer what backends asked the client: answer them `why`
  // (the whole error message).
  void refuse_all(const std::string& why);

 private:
  void on_request(Backend& backend, rpc::Message& message);
  void on_notification(Backend& backend, rpc::Message& message);
  // A log message a modern client's call in flight at `backend` asked for
  // (its envelope's logLevel).
  bool wanted_log(const Backend& backend, const json& params) const;

  Gateway& g_;
  UpstreamMap upstream_;
};

}  // namespace mcpbraid
