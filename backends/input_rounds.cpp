#include "backends/input_rounds.hpp"

#include <cstdio>
#include <random>

#include "backends/gateway.hpp"
#include "core/modern.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

// Keys of parked calls: a control byte no client id's JSON text starts with.
std::string parked_key(const std::string& state) {
  return "\x01round:" + state;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

InputRounds::Round* InputRounds::round_of(CallHandle h) {
  auto it = rounds_.find(h.index);
  if (it == rounds_.end()) return nullptr;
  if (it->second.call == h) return &it->second;
  // A round of a call that ended without us (a slot reused since).
  if (!it->second.state.empty()) by_state_.erase(it->second.state);
  rounds_.erase(it);
  return nullptr;
}

bool InputRounds::on_backend_request(Backend& backend, const std::string& method, const json& id,
                                     const json& params) {
  Input input{"i" + std::to_string(next_key_++), id, method, params};
  trace::debug("round.input")
      .kv("server", backend.name())
      .kv("method", method)
      .kv("key", input.key)
      .kv("backend_id", id.dump());
  return attach(g_.index_of(backend), std::move(input), CallHandle{});
}

bool InputRounds::attach(int backend, Input input, CallHandle except) {
  // Which call asks is not on the wire: the oldest call that is not waiting
  // on its client already (a handler usually waits for one answer at a
  // time), else the oldest of those that are.
  std::optional<CallHandle> best;
  bool best_parked = false;
  TimePoint oldest{};
  for (CallHandle h : g_.calls().handles()) {
    const CallRecord* call = g_.calls().get(h);
    if (h == except || !call || !call->modern || call->backend != backend ||
        !modern::multi_round(call->method))
      continue;
    const Round* round = round_of(h);
    if (round && round->final) continue;  // answered: waits only for its retry
    bool parked = round && !round->state.empty();
    if (!best || (best_parked && !parked) || (parked == best_parked && call->started < oldest)) {
      best = h;
      best_parked = parked;
      oldest = call->started;
    }
  }
  if (!best) return false;
  Round* round = round_of(*best);
  if (!round) {
    round = &rounds_[best->index];
    round->call = *best;
    round->backend = backend;
  }
  trace::debug("round.attach")
      .kv("request_id", g_.calls().get(*best)->request_id)
      .kv("key", input.key);
  round->inputs.push_back(std::move(input));
  // A parked call asks at its retry: the client holds one answer already.
  if (round->state.empty()) ask(*round);
  return true;
}

void InputRounds::ask(Round& round) {
  CallRecord* call = g_.calls().get(round.call);
  if (!call) return;
  std::uint8_t missing = 0;
  for (const Input& input : round.inputs)
    missing |= modern::input_capability(input.method) & ~call->client_inputs;
  if (missing) return refuse_missing(round, missing);
  json requests = json::object();
  for (const Input& input : round.inputs) {
    json request{{"method", input.method}};
    if (input.params.is_object()) request["params"] = input.params;
    requests[input.key] = std::move(request);
  }
  if (salt_ == 0) salt_ = (std::uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  std::uint64_t n = next_state_++;
  char tail[17];
  std::snprintf(tail, sizeof tail, "%016llx", static_cast<unsigned long long>(mix(salt_ ^ n)));
  round.state = "mcpbraid." + std::to_string(n) + "." + tail;
  by_state_[round.state] = round.call.index;
  json id = call->id;
  trace::debug("round.ask")
      .kv("request_id", call->request_id)
      .kv("inputs", static_cast<std::int64_t>(round.inputs.size()));
  g_.client().send(
      rpc::make_result(id, modern::input_required_result(std::move(requests), round.state)));
  // The client's id is answered: free it, keep the call at the backend.
  // Its progress stops with that answer; the retry's token takes it up.
  g_.calls().rekey(round.call, id, parked_key(round.state));
  g_.runner().retarget_progress(round.call, nullptr);
  Milliseconds wait = g_.backends()[round.backend]->failsafe().max_timeout;
  round.timer = std::make_unique<Timer>(g_.io(), wait);
  std::uint32_t index = round.call.index;
  std::string state = round.state;
  round.timer->async_wait([this, index, state, wait](asio::error_code ec) {
    if (ec) return;
    auto it = by_state_.find(state);
    if (it == by_state_.end() || it->second != index) return;
    end(index, "the client did not come back with the input within " +
                   std::to_string(wait.count()) + " ms");
  });
}

bool InputRounds::on_request(CallHandle fresh, rpc::Message& message) {
  auto params = message.body.find("params");
  if (params == message.body.end()) return false;
  // Only a state of ours is taken out: any other (a modern backend's own,
  // or none) goes on to the backend with its inputResponses.
  auto state = params->is_object() ? params->find("requestState") : params->end();
  if (state == params->end() || !state->is_string()) return false;
  auto it = by_state_.find(state->get<std::string>());
  if (it == by_state_.end()) {
    trace::debug("round.unknown_state").kv("method", message.method);
    return false;  // served as a new request
  }
  auto fields = modern::take_retry_fields(*params);
  std::uint32_t index = it->second;
  Round& round = rounds_.at(index);
  CallRecord* call = g_.calls().get(round.call);
  if (!call || call->method != message.method) return false;
  by_state_.erase(it);
  round.state.clear();
  round.timer.reset();

  // The retry takes the call over: its id, its progress token, and what
  // its envelope declares.
  const CallRecord* retry = g_.calls().get(fresh);
  json id = retry->id;
  std::string key = retry->key;
  call->client_inputs = retry->client_inputs;
  call->log_rank = retry->log_rank;
  g_.calls().discard(fresh);
  g_.calls().rekey(round.call, id, std::move(key));
  json token;
  if (auto meta = params->find("_meta"); meta != params->end() && meta->is_object())
    token = meta->value("progressToken", json());
  g_.runner().retarget_progress(round.call, std::move(token));
  Backend& backend = *g_.backends()[round.backend];
  std::vector<Input> left;
  std::int64_t answered = 0;
  for (Input& input : round.inputs) {
    auto response = fields.responses.find(input.key);
    if (response != fields.responses.end() && response->is_object()) {
      backend.send(rpc::make_result(input.backend_id, std::move(*response)));
      ++answered;
    } else {
      left.push_back(std::move(input));
    }
  }
  round.inputs = std::move(left);
  trace::debug("round.retry")
      .kv("request_id", call->request_id)
      .kv("answered", answered)
      .kv("missing", static_cast<std::int64_t>(round.inputs.size()));
  if (round.final) {
    // The backend answered while the client was away. What it asked through
    // this call and is still unanswered was another call's: placed again.
    Reply reply = std::move(*round.final);
    CallHandle h = round.call;
    int backend_index = round.backend;
    std::vector<Input> orphans = std::move(round.inputs);
    rounds_.erase(index);
    g_.runner().answer(h, std::move(reply));
    for (Input& orphan : orphans) {
      json orphan_id = orphan.backend_id;
      if (!attach(backend_index, std::move(orphan), h))
        backend.send(rpc::make_error(orphan_id, rpc::kInternalError,
                                     "mcpbraid: no call of the client's is left to ask"));
    }
    return true;
  }
  // What is still missing is asked again (the spec's SHOULD), with what the
  // backend asked meanwhile.
  if (!round.inputs.empty()) ask(round);
  return true;
}

bool InputRounds::hold_final(CallHandle h, Reply& reply) {
  Round* round = round_of(h);
  if (!round) return false;
  if (round->state.empty()) {
    rounds_.erase(h.index);
    return false;
  }
  // Its inputs stay: the client's retry answers them (they may be another
  // call's, the wire does not say whose).
  round->final = std::move(reply);
  return true;
}

void InputRounds::refuse_missing(Round& round, std::uint8_t missing) {
  // basic/index.mdx: a request that needs a capability its clientCapabilities
  // leave out is answered -32021 naming them. The backend's requests are
  // refused, and the call is cancelled there.
  CallRecord* call = g_.calls().get(round.call);
  const Backend& backend = *g_.backends()[round.backend];
  std::string names;
  for (std::uint8_t bit : {modern::kInputRoots, modern::kInputSampling, modern::kInputElicitation})
    if (missing & bit)
      names += std::string(names.empty() ? "" : ", ") + modern::input_capability_name(bit);
  trace::info("round.missing_capability")
      .kv("request_id", call->request_id)
      .kv("server", backend.name())
      .kv("capabilities", names);
  json id = call->id;
  std::string key = call->key;
  refuse_inputs(round, "the client does not support " + names + " for this request");
  if (!round.state.empty()) by_state_.erase(round.state);
  rounds_.erase(round.call.index);  // `round` is gone from here on
  g_.runner().abandon(key);         // cancelled at the backend; the record stays
  g_.client().reply_error(id, modern::kMissingRequiredClientCapability,
                          "mcpbraid: server '" + backend.name() + "' asks for the client's " +
                              names + " capability, which this request does not declare",
                          modern::missing_capabilities_data(missing));
}

void InputRounds::refuse_inputs(Round& round, const std::string& why) {
  Backend& backend = *g_.backends()[round.backend];
  for (const Input& input : round.inputs)
    backend.send(rpc::make_error(input.backend_id, rpc::kInternalError, "mcpbraid: " + why));
  round.inputs.clear();
}

void InputRounds::end(std::uint32_t index, const std::string& why) {
  auto it = rounds_.find(index);
  if (it == rounds_.end()) return;
  Round& round = it->second;
  trace::info("round.ended").kv("why", why);
  refuse_inputs(round, why);
  if (!round.state.empty()) by_state_.erase(round.state);
  CallHandle h = round.call;
  rounds_.erase(it);
  if (const CallRecord* call = g_.calls().get(h)) {
    std::string key = call->key;
    g_.runner().abandon(key);  // cancelled at its backend when still there
    g_.calls().discard(h);
  }
  g_.check_drained();
}

void InputRounds::end_all(const std::string& why) {
  std::vector<std::uint32_t> parked;
  for (const auto& [index, round] : rounds_)
    if (!round.state.empty()) parked.push_back(index);
  for (std::uint32_t index : parked) end(index, why);
}

}  // namespace mcpbraid
