#pragma once
// Multi round-trip requests (MCP 2026-07-28) in front of backends that speak
// the handshake. A 2026-07-28 client on stdio takes no requests from a
// server; when a backend asks for sampling, elicitation or roots while a
// modern client's call is in flight at it, the request becomes that call's
// input:
//   1. the client's call is answered with an input_required result naming
//      the backend's request (inputRequests) and a requestState of ours; the
//      call stays open at the backend, parked under an internal key;
//   2. the client's retry (a new id, the same params plus inputResponses
//      and that requestState) takes the call over: each response goes to
//      the backend as the answer it waits for, and the call answers to the
//      retry's id from then on (another request from the backend is another
//      round; an answer the backend gave meanwhile is the retry's answer).
// Several modern calls in flight at one backend: its request is the input
// of the oldest of those not parked already, else of the oldest parked one
// (the wire ties it to none). A parked call the client
// never retries ends after the backend's max_timeout, or when the client
// leaves; its backend requests are refused and the call cancelled there.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.hpp"
#include "backends/timer.hpp"
#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class InputRounds {
 public:
  explicit InputRounds(Gateway& gateway) : g_(gateway) {}

  // A backend's request for the client: true when it became the input of a
  // modern call in flight at `backend` (false: no such call, the caller
  // relays or refuses it).
  bool on_backend_request(Backend& backend, const std::string& method, const json& id,
                          const json& params);
  // A modern request that may be a retry (`fresh`, just opened, is its
  // record). True when handled here: its requestState named a parked call.
  // Otherwise false, its params untouched (served as a new request; the
  // call runner drops a retry's fields before a legacy backend).
  bool on_request(CallHandle fresh, rpc::Message& message);
  // The backend answered call `h`. True when the call is parked: the reply
  // is kept for the retry. False otherwise (the caller answers).
  bool hold_final(CallHandle h, Reply& reply);
  // The client left or we are stopping: every parked call ends now.
  void end_all(const std::string& why);

 private:
  struct Input {
    std::string key;  // in inputRequests / inputResponses
    json backend_id;
    std::string method;
    json params;
  };
  struct Round {
    CallHandle call;
    int backend = -1;
    std::vector<Input> inputs;  // not answered yet
    std::optional<Reply> final;
    std::string state;  // "" unless parked
    std::unique_ptr<Timer> timer;
  };
  Round* round_of(CallHandle h);
  // Makes `input` the input of a modern call in flight at `backend` (not
  // `except`); false when there is none.
  bool attach(int backend, Input input, CallHandle except);
  // Answers the call's current id with input_required for its inputs and
  // parks it.
  void ask(Round& round);
  void end(std::uint32_t index, const std::string& why);
  void refuse_inputs(Round& round, const std::string& why);
  // The call's client lacks capabilities its inputs need (`missing` bits):
  // the call answers -32021 and ends.
  void refuse_missing(Round& round, std::uint8_t missing);

  Gateway& g_;
  std::unordered_map<std::uint32_t, Round> rounds_;  // by call handle index
  std::unordered_map<std::string, std::uint32_t> by_state_;
  std::uint64_t next_key_ = 1;
  std::uint64_t next_state_ = 1;
  std::uint64_t salt_ = 0;
};

}  // namespace mcpbraid
