#include "backends/client_channel.hpp"

#include "backends/gateway.hpp"
#include "core/modern.hpp"
#include "core/trace.hpp"
#include "core/trace_context.hpp"

namespace mcpbraid {

void ClientChannel::open(int in_fd, int out_fd) {
  out_ = std::make_unique<LineWriter>(g_.io(), out_fd);
  Dispatcher& dispatch = g_.dispatcher();
  in_ = std::make_unique<LineReader>(
      g_.io(), in_fd, [&dispatch](std::string& line) { dispatch.on_line(line); },
      [this] { g_.on_client_eof(); }, g_.config().max_line,
      [&dispatch](std::string& head, std::size_t size) { dispatch.on_oversized(head, size); });
  in_->start();
}

void ClientChannel::close_input() {
  if (in_) in_->close();
}

void ClientChannel::send(const json& message) {
  if (!out_) return;
  out_->send(rpc::to_line(message));
  check_backpressure();
}

void ClientChannel::close_request(const json& id, bool error) {
  if (auto handle = g_.calls().find(rpc::id_key(id))) close_request(*handle, error);
}

void ClientChannel::close_request(CallHandle handle, bool error) {
  CallTable& calls = g_.calls();
  const CallRecord* call = calls.get(handle);
  if (!call) return;
  if (trace::enabled(trace::Level::debug, "request")) {
    auto elapsed = Clock::now() - call->started;
    trace::debug("request.done")
        .kv("request_id", call->request_id)
        .kv("method", call->method)
        .kv("server", call->server)
        .kv("latency_ms", std::chrono::duration<double, std::milli>(elapsed).count())
        .kv("outcome", error ? "error" : "ok")
        .kv("trace_id", trace_context::trace_id_in(call->params));
  }
  calls.discard(handle);
}

void ClientChannel::respond(const json& id, json message) {
  if (auto handle = g_.calls().find(rpc::id_key(id))) {
    if (const CallRecord* call = g_.calls().get(*handle); call && call->modern)
      shape_modern(message, call->method);
    close_request(*handle, message.contains("error"));
  }
  send(message);
  g_.check_drained();
}

void ClientChannel::shape_modern(json& message, const std::string& method) {
  if (auto result = message.find("result"); result != message.end())
    return modern::decorate_result(*result, method);
  auto error = message.find("error");
  if (error == message.end() || !error->is_object()) return;
  auto code = error->find("code");
  if (code != error->end() && code->is_number_integer())
    *code = modern::error_code(code->get<int>());
}

void ClientChannel::respond_line(const json& id, std::string head, std::string body,
                                 std::size_t body_offset) {
  if (auto handle = g_.calls().find(rpc::id_key(id)))
    return respond_line(*handle, std::move(head), std::move(body), body_offset);
  write_line(std::move(head), std::move(body), body_offset);
}

void ClientChannel::respond_line(CallHandle call, std::string head, std::string body,
                                 std::size_t body_offset) {
  if (const CallRecord* record = g_.calls().get(call); record && record->modern) {
    // Rare on this path (modern calls ask backends for parsed results): a
    // merged list. Shaped through a DOM, as respond() does.
    json id = record->id;
    return respond(id, json::parse(head + body.substr(std::min(body_offset, body.size()))));
  }
  close_request(call, false);
  write_line(std::move(head), std::move(body), body_offset);
}

void ClientChannel::write_line(std::string head, std::string body, std::size_t body_offset) {
  g_.trimmer().after_message(body.size());
  if (out_) {
    out_->send(std::move(head));
    if (!body.empty()) out_->send(std::move(body), body_offset);
    check_backpressure();
  }
  g_.check_drained();
}

void ClientChannel::reply(const json& id, json result) {
  respond(id, rpc::make_result(id, std::move(result)));
}

void ClientChannel::reply_error(const json& id, int code, std::string_view text, json data) {
  respond(id, rpc::make_error(id, code, text, std::move(data)));
}

void ClientChannel::reply_unavailable(const json& id, const std::string& method,
                                      const std::string& server, const std::string& reason,
                                      std::optional<Milliseconds> retry_after, bool bad_answer) {
  // A malformed answer is not unavailability: say what the server did
  // (its reason reads "bad answer: ...").
  std::string text =
      "mcpbraid: server '" + server + (bad_answer ? "' sent a " : "' is unavailable: ") + reason;
  if (retry_after) text += "; retry in " + std::to_string(retry_after->count()) + " ms";
  json data{{"server", server},
            {"reason", reason},
            {"retry_after_ms", retry_after ? json(retry_after->count()) : json(nullptr)}};
  if (method == "tools/call") {
    // A tool error the model can read and act on, not a protocol error.
    json result{{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", true}};
    return reply(id, std::move(result));
  }
  reply_error(id, rpc::kInternalError, text, std::move(data));
}

void ClientChannel::refuse(const json& id, const std::string& method, const std::string& server,
                           const Refusal& why) {
  trace::debug("request.refused")
      .kv("server", server)
      .kv("method", method)
      .kv("reason", why.reason);
  reply_unavailable(id, method, server, why.reason, why.retry_after);
}

void ClientChannel::check_backpressure() {
  if (!out_) return;
  std::size_t queued = out_->queued_bytes();
  std::size_t limit = g_.config().max_output_queue;
  if (!output_paused_ && queued > limit) {
    output_paused_ = true;
    trace::info("client.backpressure")
        .kv("state", "on")
        .kv("queued_bytes", static_cast<std::int64_t>(queued));
    for (auto& backend : g_.backends()) backend->pause_output();
    if (in_) in_->pause();
    out_->set_on_written([this] { check_backpressure(); });
  } else if (output_paused_ && queued <= limit / 2) {
    output_paused_ = false;
    trace::info("client.backpressure")
        .kv("state", "off")
        .kv("queued_bytes", static_cast<std::int64_t>(queued));
    out_->set_on_written(nullptr);
    for (auto& backend : g_.backends()) backend->resume_output();
    if (in_) in_->resume();
  }
}

}  // namespace mcpbraid
