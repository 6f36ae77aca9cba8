#pragma once
// The client-facing session: version negotiation, what backends are told
// about the client, and the merged view the client is told about backends.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace mcpbraid {

using json = nlohmann::json;

inline constexpr const char* kLatestProtocolVersion = "2025-11-25";
const std::vector<std::string>& supported_protocol_versions();

// The client's version if supported, else our latest (the spec's rule).
std::string negotiate_version(const json& requested);

// The client capabilities a backend may see: only what the gateway relays
// (roots, sampling, elicitation, tasks); everything else is dropped.
json backend_client_capabilities(const json& client_capabilities);

struct BackendView {
  std::string server;
  json capabilities;  // the backend's ServerCapabilities
  std::string instructions;
};

// Union of the backends' capabilities. tools/prompts/resources always say
// listChanged (the gateway changes the lists when backends come and go).
// `some_pending`: backends that have not answered yet may add any kind, so
// tools, prompts and resources are all advertised.
json merge_capabilities(const std::vector<BackendView>& ready, bool some_pending);

// "## <server>\n<text>" sections, in the given order; "" when none.
std::string combine_instructions(const std::vector<BackendView>& ready);

// Search mode: a few lines on finding and calling the tools that are not
// listed, each server in `searched` named with its instructions' first
// line; then combine_instructions of the others.
std::string search_instructions(const std::vector<BackendView>& searched,
                                const std::vector<BackendView>& listed);

}  // namespace mcpbraid
