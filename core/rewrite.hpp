#pragma once
// Rewrites on raw bytes, for the fast path: a plain tools/call goes to its
// backend with only params.name replaced, and the backend's result comes back
// with only its id replaced, neither ever parsed into a DOM (DESIGN.md,
// "Performance stance"). Anything unusual is left to the full path, which
// also explains errors; these functions only decide and splice.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/envelope.hpp"

namespace mcpbraid {

using json = nlohmann::json;

// A plain tools/call request located in its raw line: what the fast path needs.
struct RawToolCall {
  json id;                  // integer or plain string
  std::string key;          // its id key (equals rpc::id_key(id))
  std::string_view params;  // the params object's text, within the line
  rpc::Span name;           // the name member's value token, within params
  std::string name_text;    // the name (a plain string, non-empty)
};

// nullopt when the line needs the full path: scan_envelope fails (invalid
// JSON, not an object, nested deeper than max_depth), duplicate members,
// result or error present, params absent or not an object, jsonrpc not
// "2.0", method not "tools/call", id neither an integer nor a plain string,
// params has _meta (a progress token must be mapped), a key of params is
// escaped or repeated, name missing, empty, or not a plain string.
std::optional<RawToolCall> scan_tool_call(std::string_view line, int max_depth);

// The params text with the name's value replaced by `new_name`
// JSON-encoded (invalid UTF-8 replaced, so this never throws).
std::string with_name(std::string_view params, rpc::Span name, std::string_view new_name);

// A backend's raw response line with its id replaced.
struct RewrittenLine {
  std::string head;
  std::string body;  // empty: head is the whole line
  std::size_t body_offset = 0;
};

// `line` (ending in '\n') with the id token at `id` replaced by `id_text`.
// When the id's length changes and the line is at least `split_above`
// bytes, it comes back as head (the line up to the id, then id_text) and
// body (the original line, to be written from body_offset): shifting a
// large body to fit a longer or shorter id would copy all of it. Otherwise
// as one line in head, body empty.
RewrittenLine rewrite_response_id(std::string line, rpc::Span id, std::string_view id_text,
                                  std::size_t split_above);

}  // namespace mcpbraid
