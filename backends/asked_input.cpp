#include "backends/asked_input.hpp"

#include <algorithm>
#include <vector>

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

constexpr std::string_view kIdPrefix = "mcpbraid-input-";

// The capability the client must have declared for an embedded request.
const char* capability_for(const std::string& method) {
  if (method == "elicitation/create") return "elicitation";
  if (method == "sampling/createMessage") return "sampling";
  if (method == "roots/list") return "roots";
  return nullptr;
}

}  // namespace

void AskedInput::start(CallHandle h, json result) {
  CallRecord* call = g_.calls().get(h);
  if (!call) return;
  Round& round = rounds_[h.index];
  if (round.call != h) {
    round = Round();
    round.call = h;
  }
  std::uint32_t index = h.index;
  const std::string& server = call->server;
  auto requests = result.find("inputRequests");
  if (++round.rounds > kMaxRounds)
    return fail(index, rpc::kInternalError,
                "mcpbraid: server " + server + " asked for input more than " +
                    std::to_string(kMaxRounds) + " times in one call");
  if (requests == result.end() || !requests->is_object() || requests->empty())
    return fail(index, rpc::kInternalError,
                "mcpbraid: server " + server + " asked for input without inputRequests");
  for (const auto& [key, request] : requests->items()) {
    std::string method = request.is_object() ? string_field(request, "method") : std::string();
    const char* capability = capability_for(method);
    if (!capability)
      return fail(
          index, rpc::kInternalError,
          "mcpbraid: server " + server + " asked for input of an unknown kind: '" + method + "'");
    if (!g_.session().capabilities().contains(capability))
      return fail(index, rpc::kInternalError,
                  "mcpbraid: server " + server + " needs the client's " + capability +
                      " capability, which the client did not declare");
  }
  auto state = result.find("requestState");
  round.state = state != result.end() && state->is_string() ? state->get<std::string>() : "";
  round.responses = json::object();
  round.waiting = static_cast<int>(requests->size());
  call->waiting_retry = true;  // nothing at the backend: a cancel just drops it
  trace::debug("round.ask_client")
      .kv("request_id", call->request_id)
      .kv("server", server)
      .kv("round", round.rounds)
      .kv("inputs", round.waiting);
  for (auto& [key, request] : requests->items()) {
    std::string id = std::string(kIdPrefix) + std::to_string(next_id_++);
    asks_[id] = Ask{index, h, key};
    json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", request["method"]}};
    if (auto params = request.find("params"); params != request.end() && params->is_object())
      message["params"] = std::move(*params);
    g_.client().send(message);
  }
  // Still routed (its backend kept while it waits).
  Milliseconds wait = call->backend >= 0 ? g_.backends()[call->backend]->failsafe().max_timeout
                                         : FailsafeConfig{}.max_timeout;
  round.timer = std::make_unique<Timer>(g_.io(), wait);
  round.timer->async_wait([this, h, wait](asio::error_code ec) {
    if (ec) return;
    auto it = rounds_.find(h.index);
    if (it == rounds_.end() || it->second.call != h || it->second.waiting == 0) return;
    fail(h.index, rpc::kInternalError,
         "mcpbraid: the client did not answer the server's request for input within " +
             std::to_string(wait.count()) + " ms");
  });
}

bool AskedInput::on_client_response(const json& message) {
  const json& id = message["id"];
  if (!id.is_string()) return false;
  auto it = asks_.find(id.get<std::string>());
  if (it == asks_.end()) return false;
  Ask ask = std::move(it->second);
  asks_.erase(it);
  auto round = rounds_.find(ask.round);
  CallRecord* call = g_.calls().get(ask.call);
  // Cancelled or ended meanwhile: the answer has nobody to go to.
  if (round == rounds_.end() || round->second.call != ask.call) return true;
  if (!call || call->cancelled) {
    forget(ask.call);
    return true;
  }
  if (auto error = message.find("error"); error != message.end()) {
    std::string text = error->is_object() ? string_field(*error, "message") : std::string();
    int code = error->is_object() ? error->value("code", rpc::kInternalError) : rpc::kInternalError;
    fail(ask.round, code, "the client refused the server's request for input: " + text);
    return true;
  }
  auto result = message.find("result");
  round->second.responses[ask.key] =
      result != message.end() && result->is_object() ? *result : json::object();
  if (--round->second.waiting == 0) resend(ask.round);
  return true;
}

void AskedInput::resend(std::uint32_t index) {
  Round& round = rounds_.at(index);
  CallRecord* call = g_.calls().get(round.call);
  if (!call) {
    rounds_.erase(index);
    return;
  }
  json params = json::parse(call->params.empty() ? "{}" : call->params, nullptr, false);
  if (!params.is_object()) params = json::object();
  params["inputResponses"] = std::move(round.responses);
  round.responses = json::object();
  if (round.state.empty())
    params.erase("requestState");
  else
    params["requestState"] = round.state;
  call->params = params.dump(-1, ' ', false, json::error_handler_t::replace);
  call->waiting_retry = false;
  g_.runner().resend(round.call);
}

void AskedInput::fail(std::uint32_t index, int code, const std::string& message) {
  auto it = rounds_.find(index);
  if (it == rounds_.end()) return;
  CallHandle h = it->second.call;
  rounds_.erase(it);
  withdraw(h, message);
  CallRecord* call = g_.calls().get(h);
  if (!call) return;
  trace::warn("round.failed")
      .kv("request_id", call->request_id)
      .kv("server", call->server)
      .kv("error", message);
  Reply reply;
  reply.kind = Reply::Kind::error;
  reply.value = {{"code", code}, {"message", message}};
  g_.runner().complete(h, std::move(reply));
}

void AskedInput::forget(CallHandle h) {
  auto it = rounds_.find(h.index);
  if (it == rounds_.end() || it->second.call != h) return;
  rounds_.erase(it);
  std::erase_if(asks_, [h](const auto& entry) { return entry.second.call == h; });
}

void AskedInput::cancel(CallHandle h, const std::string& reason) {
  auto it = rounds_.find(h.index);
  if (it == rounds_.end() || it->second.call != h) return;
  rounds_.erase(it);
  withdraw(h, reason);
}

void AskedInput::withdraw(CallHandle h, const std::string& reason) {
  std::vector<std::string> open;
  for (const auto& [id, ask] : asks_)
    if (ask.call == h) open.push_back(id);
  std::sort(open.begin(), open.end());
  bool client_there = !g_.session().draining();
  for (const auto& id : open) {
    asks_.erase(id);
    if (client_there)
      g_.client().send(rpc::make_notification("notifications/cancelled",
                                              {{"requestId", id}, {"reason", reason}}));
  }
}

void AskedInput::end_all(const std::string& why) {
  std::vector<std::uint32_t> waiting;
  for (const auto& [index, round] : rounds_)
    if (round.waiting > 0) waiting.push_back(index);
  for (std::uint32_t index : waiting) fail(index, rpc::kInternalError, "mcpbraid: " + why);
}

}  // namespace mcpbraid
