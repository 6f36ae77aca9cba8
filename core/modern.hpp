#pragma once
// The 2026-07-28 revision toward the client: what a request's `_meta`
// envelope must hold, how its errors read, and what its results must carry
// (resultType, ttlMs/cacheScope, serverInfo in _meta). Pure: the dispatcher
// and the client channel apply it per request, so that one stdin can carry
// both eras (a legacy client keeps seeing exactly what it saw before).
//
// A request is modern when params._meta names a protocol version
// (io.modelcontextprotocol/protocolVersion); no initialize is needed.
#include <cstdint>
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
inline constexpr const char* kSubscriptionIdKey = "io.modelcontextprotocol/subscriptionId";
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
// A non-object result becomes {} first. An input_required result (a
// modern backend's) keeps its resultType and gets no cache fields.
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

// A log level's rank, debug 1 .. emergency 8; 0 for what is not a level.
std::uint8_t log_rank(std::string_view level);
// The level of a rank 1..8 ("" otherwise).
std::string_view log_level_name(std::uint8_t rank);

// What a server's request can ask of a client as a multi round-trip input
// (roots/list, sampling/createMessage, elicitation/create): the client
// capability it needs, as a bit; 0 for any other method.
enum InputCapability : std::uint8_t {
  kInputRoots = 1,
  kInputSampling = 2,
  kInputElicitation = 4,
};
std::uint8_t input_capability(std::string_view method);
// The bits of those capabilities that `client_capabilities` declares (an
// object member of that name, as the schema has them).
std::uint8_t input_capabilities(const json& client_capabilities);
// The name of a bit's capability ("roots", "sampling", "elicitation").
const char* input_capability_name(std::uint8_t bit);
// The -32021 error's data: {"requiredCapabilities":{name:{}...}} for `bits`.
json missing_capabilities_data(std::uint8_t bits);

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

// ---- Toward a backend that speaks 2026-07-28 (no handshake). ----
//
// A backend is asked `initialize` first, as every server of the handshake
// era expects. A server that speaks only 2026-07-28 answers it -32022 with
// the versions it speaks in data.supported: then it is a modern backend.

// True when an initialize error says the server speaks 2026-07-28 instead.
bool offers_stateless(const json& error);

// The envelope every request to a modern backend carries in params._meta:
// protocol version, the client's info (null: ours) and capabilities.
json backend_envelope(const json& client_info, json capabilities);

// A modern backend's server/discover result read as an initialize result
// ({protocolVersion, capabilities, serverInfo, instructions}), or why it is
// not one (no 2026-07-28 among supportedVersions, no capabilities object).
struct DiscoverRead {
  json initialize_result;
  std::string problem;  // empty when initialize_result is set
};
DiscoverRead read_discover(const json& result);

// A modern backend's complete result as a handshake-era client sees it:
// resultType, ttlMs, cacheScope and the serverInfo _meta key removed
// (_meta itself when nothing is left).
void undecorate_result(json& result);

// True when a modern backend's result asks for input (resultType
// "input_required").
bool input_required(const json& result);

// A resource-not-found error of a modern backend (-32602 carrying
// data.uri on resources/read) as the handshake era codes it: -32002.
void legacy_error(json& error, std::string_view method);

}  // namespace mcpbraid::modern
