#pragma once
// W3C trace context in MCP (SEP-414, part of 2026-07-28): `traceparent`,
// `tracestate` and `baggage` travel unprefixed in a request's params._meta.
// The gateway forwards the client's and, for a request that carries none
// (or an invalid one), starts a trace: a new traceparent, so that what the
// backends record joins up per client request. Pure: the ids come from a
// seeded generator (a fake one in tests).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcpbraid::trace_context {

inline constexpr const char* kTraceparent = "traceparent";
inline constexpr const char* kTracestate = "tracestate";

// The trace id (32 lowercase hex) of a valid traceparent
// ("vv-<32 hex>-<16 hex>-ff": version not ff, ids not all zero, version 00
// exactly 55 characters), else nullopt.
std::optional<std::string_view> trace_id(std::string_view traceparent);

// Fresh ids, from a splitmix64 sequence (seeded once per process from the
// system's entropy; fixed in tests). Never all zero.
class Generator {
 public:
  explicit Generator(std::uint64_t seed) : state_(seed) {}
  // "00-<trace id>-<span id>-01" (sampled: the caller asked for nothing,
  // and a trace nobody samples is lost).
  std::string traceparent();

 private:
  std::uint64_t next();
  std::uint64_t state_;
};

// The trace id of the first "traceparent" member in a JSON text (params as
// sent to a backend), "" when there is none or it is invalid. For trace
// lines: the call record keeps no copy of its own.
std::string_view trace_id_in(std::string_view json_text);

// `params` (a JSON object's text, with no _meta member) with
// "_meta":{"traceparent":"<traceparent>"} as its first member.
std::string with_traceparent(std::string_view params, std::string_view traceparent);

}  // namespace mcpbraid::trace_context
