#pragma once
// The parser of Server-Sent Events streams (the WHATWG "text/event-stream"
// interpretation), for MCP's HTTP transports: bytes in, events out. It does
// no I/O. Lines end with CRLF, LF or CR; a leading UTF-8 BOM is skipped;
// comments (":") are ignored; `data` lines join with '\n'; an event is
// dispatched at an empty line and only if it has data; `id` (without NUL)
// sets the last event id, kept across events (it takes effect at the
// event's empty line, as the standard's "last event ID buffer" does);
// `retry` with only digits sets the reconnection time. Bytes are passed
// through as they are (no UTF-8 replacement).
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
  // not grow memory without bound). A line longer than max_event + 1 KiB
  // (kLineSlack) is not kept either: a comment or an unknown field is skipped
  // as usual, a `data`, `event`, `id` or `retry` line drops its event the
  // same way.
  explicit Parser(OnEvent on_event, std::size_t max_event = 4 * 1024 * 1024);

  // Feeds the next bytes of the stream; events complete in it are
  // dispatched before it returns.
  void feed(std::string_view bytes);
  // The stream ended: an event without its blank line is discarded (as the
  // standard says). Resets for a new stream, keeping last_event_id().
  void end();

  const std::string& last_event_id() const { return last_id_; }
  // The server's `retry` in milliseconds, if it sent one (a value past
  // INT64_MAX is kept as INT64_MAX).
  std::optional<std::int64_t> retry_ms() const { return retry_; }
  std::size_t oversized() const { return oversized_; }

 private:
  static constexpr std::size_t kLineSlack = 1024;  // field name, ':' and ' '

  void consume(std::string_view bytes);
  void line(std::string_view line);
  void overlong(std::string_view head);
  void dispatch();

  OnEvent on_event_;
  std::size_t max_event_;
  std::size_t max_line_;   // max_event_ + kLineSlack, saturated
  std::string pending_;    // an incomplete line, at most max_line_ bytes
  bool skipping_ = false;  // in a line longer than max_line_: discard to its end
  bool bom_checked_ = false;
  std::size_t bom_held_ = 0;  // bytes of a BOM seen so far at the stream's start
  bool after_cr_ = false;     // the last byte was CR: a following LF is part of it
  std::string type_;
  std::string data_;  // each `data` value followed by '\n'
  bool too_big_ = false;
  std::string id_buffer_;  // the `id` of the event being collected
  std::string last_id_;
  std::optional<std::int64_t> retry_;
  std::size_t oversized_ = 0;
};

}  // namespace mcpbraid::sse
