#pragma once
// The client's side of the wire: its stdin and stdout, backpressure, and
// every answer to a client request. Each answer closes that request's
// record in the call table exactly once (trace `request.done`); nothing
// else answers the client.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backends/stream.hpp"
#include "core/call_policy.hpp"
#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class ClientChannel {
 public:
  explicit ClientChannel(Gateway& gateway) : g_(gateway) {}

  // Starts reading in_fd (lines go to the dispatcher) and writing out_fd.
  void open(int in_fd, int out_fd);
  void close_input();

  // A message that answers no request of the client's (a notification, a
  // relayed request, an error for a line that was not a request).
  void send(const json& message);

  // Answers to an open client request.
  void respond(const json& id, json message);
  // A response already serialized (a forwarded result, its id rewritten):
  // `head`, then body[body_offset..] when there is a body.
  void respond_line(const json& id, std::string head, std::string body = {},
                    std::size_t body_offset = 0);
  // The same for a call whose handle is at hand (no lookup by id).
  void respond_line(CallHandle call, std::string head, std::string body = {},
                    std::size_t body_offset = 0);
  void reply(const json& id, json result);
  void reply_error(const json& id, int code, std::string_view text, json data = nullptr);
  // The server cannot answer (or answered badly): a tools/call gets an
  // isError result the model can read, other methods -32603 with
  // data {server, reason, retry_after_ms}.
  void reply_unavailable(const json& id, const std::string& method, const std::string& server,
                         const std::string& reason,
                         std::optional<Milliseconds> retry_after = std::nullopt,
                         bool bad_answer = false);
  void refuse(const json& id, const std::string& method, const std::string& server,
              const Refusal& why);

  bool output_paused() const { return output_paused_; }
  // For shutdown: everything written, or the client is gone.
  bool flushed() const { return !out_ || out_->idle() || out_->broken(); }

 private:
  // A 2026-07-28 request's answer (core/modern): its result decorated, its
  // error code mapped.
  static void shape_modern(json& message, const std::string& method);
  void close_request(const json& id, bool error);
  void close_request(CallHandle call, bool error);
  void write_line(std::string head, std::string body, std::size_t body_offset);
  // The client-bound queue over max_output_queue pauses the backends'
  // stdout and the client's stdin until it drains to half.
  void check_backpressure();

  Gateway& g_;
  std::unique_ptr<LineReader> in_;
  std::unique_ptr<LineWriter> out_;
  bool output_paused_ = false;
};

}  // namespace mcpbraid
