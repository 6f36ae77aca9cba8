#pragma once
// JSON-RPC 2.0 envelope: classifying lines, building replies, framing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mcpbraid {

using json = nlohmann::json;

namespace rpc {

// Standard JSON-RPC error codes and the MCP ones we use.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;

enum class Kind { Request, Notification, Response, Invalid };

struct Message {
  Kind kind = Kind::Invalid;
  json body;             // the whole message (null when the line was not JSON)
  std::string method;    // requests and notifications
  int error_code = 0;    // for Invalid: kParseError or kInvalidRequest
  std::string error_text;
};

// Classifies one line. Never throws: bad input comes back as Kind::Invalid
// with the error code the peer should receive.
Message parse_message(std::string_view line);

// A key that keeps the JSON type of an id: 1 and "1" are different keys.
inline std::string id_key(const json& id) { return id.dump(); }

json make_result(const json& id, json result);
json make_error(const json& id, int code, std::string_view message, json data = nullptr);
json make_request(const json& id, std::string_view method, json params = nullptr);
json make_notification(std::string_view method, json params = nullptr);

// Compact single-line serialization followed by '\n'. Invalid UTF-8 from a
// peer is replaced rather than thrown on.
std::string to_line(const json& message);

}  // namespace rpc

// Splits a byte stream into lines: strips a trailing '\r', skips blank lines
// (empty or only spaces and tabs).
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}
  void append(std::string_view bytes) { buffer_.append(bytes); }
  // Extracts the next complete line; false when none is buffered.
  // A line longer than max_line is dropped and reported via oversized().
  bool next(std::string& line);
  // The unterminated tail at end of stream, if any (as a final line).
  bool take_tail(std::string& line);
  std::size_t oversized() const { return oversized_; }
  static constexpr std::size_t kDefaultMaxLine = 64u * 1024 * 1024;
  // Lines longer than this that fill the buffer are handed over by swap.
  static constexpr std::size_t kSwapThreshold = 64u * 1024;

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::size_t scanned_ = 0;
  std::size_t max_line_;
  std::size_t oversized_ = 0;
  bool skipping_ = false;
  void compact();
  bool blank(std::size_t begin, std::size_t end) const;
};

}  // namespace mcpbraid
