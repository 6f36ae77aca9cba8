#pragma once
// JSON-RPC 2.0 envelope: classifying lines, building replies, framing.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mcpbraid {

using json = nlohmann::json;

// Limits on what crosses a boundary (README "Limits"; config keys max_line,
// max_json_depth, max_output_queue).
inline constexpr std::size_t kDefaultMaxLine = 64u * 1024 * 1024;
inline constexpr int kDefaultMaxJsonDepth = 128;
inline constexpr int kMaxJsonDepthLimit = 1024;  // the highest max_json_depth accepted
inline constexpr std::size_t kDefaultMaxOutputQueue = 16u * 1024 * 1024;

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
  json body;           // the whole message (null when the line was not JSON)
  std::string method;  // requests and notifications
  int error_code = 0;  // for Invalid: kParseError or kInvalidRequest
  std::string error_text;
  json id;  // for Invalid: the id to echo when it was readable, else null
};

// Classifies one line. Never throws: bad input comes back as Kind::Invalid
// with the error code the peer should receive. A line nested deeper than
// `max_depth` is Invalid (kInvalidRequest) before any DOM is built.
Message parse_message(std::string_view line, int max_depth = kDefaultMaxJsonDepth);

// True when `text` nests arrays/objects deeper than `max_depth` (a top-level
// object is depth 1). One linear pass, no recursion; strings are skipped
// honouring escapes. Says nothing about validity otherwise.
bool nesting_exceeds(std::string_view text, int max_depth);

// The id of a message, read from the start of `text` (possibly only the
// head of a line): a top-level "id" member that is an integer or a string,
// found before anything unreadable. null when there is none. Never throws;
// linear in the bytes looked at.
json peek_id(std::string_view text);

// A key that keeps the JSON type of an id: 1 and "1" are different keys.
inline std::string id_key(const json& id) {
  return id.dump();
}

json make_result(const json& id, json result);
json make_error(const json& id, int code, std::string_view message, json data = nullptr);
json make_request(const json& id, std::string_view method, json params = nullptr);
json make_notification(std::string_view method, json params = nullptr);

// Appends `text` as a JSON string token (quoted, escaped as dump() would,
// invalid UTF-8 replaced). Plain text -- printable ASCII without '"' or '\\',
// and well-formed UTF-8 -- is copied as is without building a json value; a
// hot-path helper (a dump() allocates twice and reads the locale).
void append_json_string(std::string& out, std::string_view text);

// Compact single-line serialization followed by '\n'. Invalid UTF-8 from a
// peer is replaced rather than thrown on.
std::string to_line(const json& message);

}  // namespace rpc

// Splits a byte stream into lines: strips a trailing '\r', skips blank lines
// (empty or only spaces and tabs). Memory stays within max_line plus one
// read: a longer line is not kept, only its head.
class LineSplitter {
 public:
  enum class Piece {
    none,       // no complete line buffered
    line,       // `line` holds the next line
    oversized,  // a line longer than max_line ended: `line` holds its first
                // kOversizedHead bytes, oversized_size() its length
  };
  explicit LineSplitter(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}
  void append(std::string_view bytes) { buffer_.append(bytes); }
  // Extracts the next piece, in stream order.
  Piece next(std::string& line);
  // The unterminated tail at end of stream, if any (as a final line, or
  // as an oversized one).
  Piece take_tail(std::string& line);
  // Oversized lines seen so far, and the length of the last one reported.
  std::size_t oversized() const { return oversized_; }
  std::size_t oversized_size() const { return oversized_size_; }
  // Lines longer than this that fill the buffer are handed over by swap.
  static constexpr std::size_t kSwapThreshold = 64u * 1024;
  // How much of an oversized line is kept to read its id from.
  static constexpr std::size_t kOversizedHead = 4096;

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::size_t scanned_ = 0;
  std::size_t max_line_;
  std::size_t oversized_ = 0;
  std::size_t oversized_size_ = 0;
  bool skipping_ = false;
  std::string skipped_head_;      // the head of the line being skipped
  std::size_t skipped_size_ = 0;  // its bytes dropped so far
  void compact();
  bool blank(std::size_t begin, std::size_t end) const;
  void start_skipping(std::size_t begin, std::size_t end);
  Piece finish_skipping(std::size_t tail, std::string& line);
};

}  // namespace mcpbraid
