#pragma once
// Multi round-trip requests (MCP 2026-07-28) from a backend that speaks that
// revision, for a client of the handshake era. The backend answers a call
// with an input_required result naming what it needs (inputRequests:
// elicitation, sampling, roots); such a client knows only server->client
// requests. So:
//   1. each input request is sent to the client as a request of ours (ids
//      "mcpbraid-input-<n>"), while the call waits (its progress and its
//      backend kept; a cancel drops it);
//   2. once every one is answered, the call is sent to the backend again
//      with inputResponses and the backend's requestState: the next answer
//      is another round or the result.
// A client error for one of them answers the call with that error. At most
// kMaxRounds rounds per call; the client leaving ends every waiting call.
// A round the client does not answer within the backend's max_timeout
// answers the call an error. Whenever a round ends with requests of ours
// still open at the client (a cancel, an error, the timeout), the client is
// sent notifications/cancelled for each.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "backends/timer.hpp"
#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class AskedInput {
 public:
  static constexpr int kMaxRounds = 16;

  explicit AskedInput(Gateway& gateway) : g_(gateway) {}

  // Call `h` (at a modern backend, for a legacy client) got `result`, an
  // input_required result: asks the client, or answers the call an error.
  void start(CallHandle h, json result);
  // Call `h` is over (its result came, or it ended): its round goes.
  void forget(CallHandle h);
  // The client cancelled call `h` while it waited for input: the requests
  // still open at the client are withdrawn there.
  void cancel(CallHandle h, const std::string& reason);
  // A client response whose id is one of ours: true when handled.
  bool on_client_response(const json& message);
  // The client left or we are stopping: every waiting call is answered.
  void end_all(const std::string& why);

 private:
  struct Round {
    CallHandle call;
    int rounds = 0;
    int waiting = 0;  // client answers still to come
    std::string state;
    json responses = json::object();
    std::unique_ptr<Timer> timer;  // the client's time to answer this round
  };
  void fail(std::uint32_t index, int code, const std::string& message);
  // Drops the asks of call `h`, telling the client about those still open.
  void withdraw(CallHandle h, const std::string& reason);
  void resend(std::uint32_t index);

  Gateway& g_;
  std::unordered_map<std::uint32_t, Round> rounds_;  // by call handle index
  struct Ask {
    std::uint32_t round;
    CallHandle call;
    std::string key;
  };
  std::unordered_map<std::string, Ask> asks_;  // by our request id
  std::int64_t next_id_ = 1;
};

}  // namespace mcpbraid
