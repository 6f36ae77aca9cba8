#pragma once
// The 2026-07-28 revision toward the client: what a request's `_meta`
// envelope must hold, how its errors read, and what its results must carry
// (resultType, ttlMs/cacheScope, serverInfo in _meta). Pure: the dispatcher
// and the client channel apply it per request, so that one stdin can carry
// both eras (a legacy client keeps seeing exactly what it saw before).
//
// A request is modern when params._meta names a protocol version
// (io.modelcontextprotocol/protocolVersion); no initialize is needed.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpbraid::modern {

using json = nlohmann::json;

inline constexpr const char* kVersion = "2026-07-28";

inline constexpr const char* kProtocolVersionKey = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kClientInfoKey = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kClientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kLogLevelKey = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kServerInfoKey = "io.modelcontextprotocol/serverInfo";

// Error codes of the revision (schema.ts).
inline constexpr int kUnsupportedProtocolVersion = -32022;
inline constexpr int kMissingRequiredClientCapability = -32021;

// Every version the gateway speaks toward the client: 2026-07-28 first,
// then the handshake versions (core/session), newest first.
std::vector<std::string> supported_versions();

// True when `body` is a request whose params._meta holds the protocol
// version key (whatever its value: a bad value is the envelope's error).
bool is_modern(const json& body);

struct Envelope {
  json client_info;       // an Implementation object, or null when not sent
  json capabilities;      // ClientCapabilities, always an object
  std::string log_level;  // "" when not sent
};

struct Error {
  int code = 0;
  std::string message;
  json data;  // null when none
};

// Reads and checks the envelope of a modern request's params:
// -32602 for a missing or malformed required field (protocolVersion,
// clientCapabilities) or a malformed optional one (clientInfo, logLevel);
// -32022 with data {supported, requested} for a version we do not speak
// per request (only 2026-07-28 is; the handshake versions need initialize).
// Either `envelope` or `error` is set.
struct EnvelopeCheck {
  std::optional<Envelope> envelope;
  std::optional<Error> error;
};
EnvelopeCheck read_envelope(const json& params);

// The envelope's keys removed from params._meta, before the request goes to
// a backend that speaks the handshake (progressToken, traceparent and any
// other key stay); _meta itself goes when nothing is left in it.
void strip_envelope(json& params);

// Methods the revision removed (ping, logging/setLevel,
// resources/subscribe, resources/unsubscribe): a modern request for one is
// answered -32601.
bool removed_method(std::string_view method);

// Whether a complete result of `method` must carry ttlMs and cacheScope.
bool cacheable(std::string_view method);

// A complete result as a modern client must see it: resultType "complete",
// ttlMs 0 and cacheScope "private" for cacheable methods unless the result
// already has valid ones (our lists change without notice to a client that
// did not listen, so nothing may be cached), and our serverInfo in _meta.
// A non-object result becomes {} first.
void decorate_result(json& result, std::string_view method);

// An error code as a modern client must see it: resource-not-found (-32002
// in the handshake revisions) is -32602; others are unchanged.
int error_code(int code);

// The server/discover result: every version we speak, the merged
// capabilities, our serverInfo, the instructions when there are any.
json discover_result(json capabilities, const std::string& instructions);

// Multi round-trip requests (basic/patterns/mrtr): the methods whose
// result may be input_required.
bool multi_round(std::string_view method);

// {"resultType":"input_required","inputRequests":{key:{method,params}},
//  "requestState":state,"_meta":{serverInfo}}
json input_required_result(json input_requests, const std::string& state);

// A retry's round-trip fields, taken out of its params (so that what goes
// on to a backend is the original request): requestState ("" when absent or
// not a string) and inputResponses ({} when absent or not an object).
struct RetryFields {
  std::string state;
  json responses = json::object();
};
RetryFields take_retry_fields(json& params);

// {"name":"mcpbraid","version":MCPBRAID_VERSION}
json server_info();

}  // namespace mcpbraid::modern
