#pragma once
// The parser of Server-Sent Events streams (the WHATWG "text/event-stream"
// interpretation), for MCP's HTTP transports: bytes in, events out. It does
// no I/O. Lines end with CRLF, LF or CR; a leading UTF-8 BOM is skipped;
// comments (":") are ignored; `data` lines join with '\n'; an event is
// dispatched at an empty line and only if it has data; `id` (without NUL)
// sets the last event id, kept across events; `retry` with only digits sets
// the reconnection time.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mcpbraid::sse {

struct Event {
  std::string type = "message";  // the `event` field, "message" when absent
  std::string data;
  std::string id;  // the last event id in force when it was dispatched
};

class Parser {
 public:
  using OnEvent = std::function<void(Event& event)>;
  // `max_event`: the most bytes of data one event may collect; beyond it
  // the event is dropped and `oversized()` counts it (a hostile stream must
  // not grow memory without bound).
  explicit Parser(OnEvent on_event, std::size_t max_event = 4 * 1024 * 1024);

  // Feeds the next bytes of the stream; events complete in it are
  // dispatched before it returns.
  void feed(std::string_view bytes);
  // The stream ended: an event without its blank line is discarded (as the
  // standard says). Resets for a new stream, keeping last_event_id().
  void end();

  const std::string& last_event_id() const { return last_id_; }
  // The server's `retry` in milliseconds, if it sent one.
  std::optional<std::int64_t> retry_ms() const { return retry_; }
  std::size_t oversized() const { return oversized_; }

 private:
  void line(std::string_view line);

  OnEvent on_event_;
  std::size_t max_event_;
  std::string pending_;  // an incomplete line
  bool bom_checked_ = false;
  bool after_cr_ = false;  // the last byte was CR: a following LF is part of it
  std::string type_;
  std::string data_;
  bool has_data_ = false;
  bool too_big_ = false;
  std::string last_id_;
  std::optional<std::int64_t> retry_;
  std::size_t oversized_ = 0;
};

}  // namespace mcpbraid::sse
