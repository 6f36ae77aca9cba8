#pragma once
// The envelope of a JSON-RPC message, located without building a DOM: the
// whole line is validated (RFC 8259, strict UTF-8) and the byte ranges of
// the top-level members the gateway routes by are recorded. This lets the
// gateway forward a large result by rewriting its id in place instead of
// parsing and re-serializing it (DESIGN.md, "Performance stance").
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mcpbraid::rpc {

// A value's bytes in the line: [begin, end). Empty when the member is absent.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool present() const { return end > begin; }
  std::string_view of(std::string_view line) const { return line.substr(begin, end - begin); }
};

struct Envelope {
  Span jsonrpc, id, method, params, result, error;
  bool duplicate = false;  // one of these members appears twice
};

// Validates `line` as one JSON value and, when it is an object, locates its
// top-level members. nullopt when the line is not valid JSON or not an
// object (the caller then takes the slow path, which explains the error).
// Nesting deeper than `max_depth` is rejected like invalid JSON; check
// nesting_exceeds() first to tell the two apart. The scan is iterative.
std::optional<Envelope> scan_envelope(std::string_view line, int max_depth = 128);

// The members of params located during scan_envelope, in the same pass.
// Spans are relative to the line. object: params was an object (its members
// were looked at); escaped_key: one of its keys is escaped (it could spell
// one of `keys`); repeated: a key of `keys`, or params itself, appeared twice.
struct ParamsProbe {
  const std::string_view* keys = nullptr;
  Span* spans = nullptr;
  std::size_t count = 0;
  bool object = false;
  bool escaped_key = false;
  bool repeated = false;
};
std::optional<Envelope> scan_envelope(std::string_view line, int max_depth, ParamsProbe& probe);

// Locates the members named `keys[i]` of the JSON object `object` (a span
// scan_envelope accepted) into `spans[i]`. False when `object` is not a
// valid object, a key is escaped, or one of `keys` appears twice.
bool locate_members(std::string_view object, const std::string_view* keys, Span* spans,
                    std::size_t count);

// The text of a JSON string token without escapes ("abc" -> abc); nullopt
// when it is not a string or holds an escape.
std::optional<std::string_view> plain_string(std::string_view token);

// `line` with the bytes of `span` replaced by `text` (the id rewriter: a
// forwarded answer gets the client's id in place of ours).
void replace_span(std::string& line, Span span, std::string_view text);

// The integer a span holds when it is a plain JSON integer ("42", "-7").
std::optional<std::int64_t> span_integer(std::string_view text);

}  // namespace mcpbraid::rpc
