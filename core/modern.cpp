#include "core/modern.hpp"

#include <algorithm>
#include <array>

#include "core/jsonrpc.hpp"
#include "core/session.hpp"

namespace mcpbraid::modern {

namespace {

constexpr std::array<std::string_view, 8> kLogLevels = {"debug", "info",     "notice", "warning",
                                                        "error", "critical", "alert",  "emergency"};

Error invalid_envelope(const std::string& key, const std::string& problem) {
  return Error{rpc::kInvalidParams,
               "Invalid _meta envelope for protocol revision " + std::string(kVersion) + ": " +
                   key + ": " + problem,
               json{{"envelope", {{"key", key}, {"problem", problem}}}}};
}

bool valid_ttl(const json& result) {
  auto it = result.find("ttlMs");
  return it != result.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0;
}

bool valid_scope(const json& result) {
  auto it = result.find("cacheScope");
  return it != result.end() && (*it == "public" || *it == "private");
}

}  // namespace

std::vector<std::string> supported_versions() {
  std::vector<std::string> versions{kVersion};
  for (const auto& v : supported_protocol_versions()) versions.push_back(v);
  return versions;
}

bool is_modern(const json& body) {
  auto params = body.find("params");
  if (params == body.end() || !params->is_object()) return false;
  auto meta = params->find("_meta");
  return meta != params->end() && meta->is_object() && meta->contains(kProtocolVersionKey);
}

EnvelopeCheck read_envelope(const json& params) {
  static const json kEmpty = json::object();
  const json* meta = &kEmpty;
  if (params.is_object()) {
    auto it = params.find("_meta");
    if (it != params.end() && it->is_object()) meta = &*it;
  }
  auto version = meta->find(kProtocolVersionKey);
  if (version == meta->end())
    return {std::nullopt,
            Error{rpc::kInvalidParams,
                  "Request is missing the required _meta envelope for protocol revision " +
                      std::string(kVersion) + " (" + kProtocolVersionKey + ", " +
                      kClientCapabilitiesKey + ")",
                  nullptr}};
  if (!version->is_string() || version->get_ref<const std::string&>().empty())
    return {std::nullopt, invalid_envelope(kProtocolVersionKey, "must be a non-empty string")};
  const std::string& requested = version->get_ref<const std::string&>();
  if (requested != kVersion) {
    // The handshake versions are spoken too, but through initialize: a
    // per-request envelope means this revision.
    return {std::nullopt,
            Error{kUnsupportedProtocolVersion, "Unsupported protocol version: " + requested,
                  json{{"supported", supported_versions()}, {"requested", requested}}}};
  }
  Envelope envelope;
  auto caps = meta->find(kClientCapabilitiesKey);
  if (caps == meta->end())
    return {std::nullopt, invalid_envelope(kClientCapabilitiesKey, "is required")};
  if (!caps->is_object())
    return {std::nullopt, invalid_envelope(kClientCapabilitiesKey, "must be an object")};
  envelope.capabilities = *caps;
  if (auto info = meta->find(kClientInfoKey); info != meta->end()) {
    if (!info->is_object())
      return {std::nullopt, invalid_envelope(kClientInfoKey, "must be an object")};
    for (const char* field : {"name", "version"}) {
      auto it = info->find(field);
      if (it == info->end() || !it->is_string())
        return {std::nullopt,
                invalid_envelope(kClientInfoKey, std::string(field) + " must be a string")};
    }
    envelope.client_info = *info;
  }
  if (auto level = meta->find(kLogLevelKey); level != meta->end()) {
    if (!level->is_string() || std::find(kLogLevels.begin(), kLogLevels.end(),
                                         level->get_ref<const std::string&>()) == kLogLevels.end())
      return {std::nullopt, invalid_envelope(kLogLevelKey,
                                             "must be one of debug, info, notice, warning, "
                                             "error, critical, alert, emergency")};
    envelope.log_level = level->get<std::string>();
  }
  return {std::move(envelope), std::nullopt};
}

void strip_envelope(json& params) {
  if (!params.is_object()) return;
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return;
  for (const char* key :
       {kProtocolVersionKey, kClientInfoKey, kClientCapabilitiesKey, kLogLevelKey})
    meta->erase(key);
  if (meta->empty()) params.erase(meta);
}

bool removed_method(std::string_view method) {
  return method == "ping" || method == "logging/setLevel" || method == "resources/subscribe" ||
         method == "resources/unsubscribe";
}

bool cacheable(std::string_view method) {
  return method == "tools/list" || method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "resources/read" ||
         method == "server/discover";
}

void decorate_result(json& result, std::string_view method) {
  if (!result.is_object()) result = json::object();
  // A modern backend's request for input goes to the client as it is.
  bool asks = input_required(result);
  if (!asks) result["resultType"] = "complete";
  if (cacheable(method) && !asks) {
    // Both or neither: a backend's pair is kept only when both are valid.
    if (!valid_ttl(result) || !valid_scope(result)) {
      result["ttlMs"] = 0;
      result["cacheScope"] = "private";
    }
  }
  auto meta = result.find("_meta");
  if (meta == result.end() || !meta->is_object()) {
    result["_meta"] = json::object();
    meta = result.find("_meta");
  }
  (*meta)[kServerInfoKey] = server_info();
}

int error_code(int code) {
  return code == rpc::kResourceNotFound ? rpc::kInvalidParams : code;
}

json discover_result(json capabilities, const std::string& instructions) {
  json result{{"supportedVersions", supported_versions()},
              {"capabilities", std::move(capabilities)}};
  if (!instructions.empty()) result["instructions"] = instructions;
  decorate_result(result, "server/discover");
  return result;
}

bool multi_round(std::string_view method) {
  return method == "tools/call" || method == "prompts/get" || method == "resources/read";
}

std::uint8_t log_rank(std::string_view level) {
  auto it = std::find(kLogLevels.begin(), kLogLevels.end(), level);
  return it == kLogLevels.end() ? 0 : static_cast<std::uint8_t>(it - kLogLevels.begin() + 1);
}

std::string_view log_level_name(std::uint8_t rank) {
  return rank >= 1 && rank <= kLogLevels.size() ? kLogLevels[rank - 1] : std::string_view();
}

std::uint8_t input_capability(std::string_view method) {
  if (method == "roots/list") return kInputRoots;
  if (method == "sampling/createMessage") return kInputSampling;
  if (method == "elicitation/create") return kInputElicitation;
  return 0;
}

std::uint8_t input_capabilities(const json& client_capabilities) {
  std::uint8_t bits = 0;
  if (!client_capabilities.is_object()) return bits;
  for (std::uint8_t bit : {kInputRoots, kInputSampling, kInputElicitation}) {
    auto it = client_capabilities.find(input_capability_name(bit));
    if (it != client_capabilities.end() && it->is_object()) bits |= bit;
  }
  return bits;
}

const char* input_capability_name(std::uint8_t bit) {
  switch (bit) {
    case kInputRoots:
      return "roots";
    case kInputSampling:
      return "sampling";
    case kInputElicitation:
      return "elicitation";
    default:
      return "";
  }
}

json missing_capabilities_data(std::uint8_t bits) {
  json required = json::object();
  for (std::uint8_t bit : {kInputRoots, kInputSampling, kInputElicitation})
    if (bits & bit) required[input_capability_name(bit)] = json::object();
  return json{{"requiredCapabilities", std::move(required)}};
}

json input_required_result(json input_requests, const std::string& state) {
  json result{{"resultType", "input_required"},
              {"inputRequests", std::move(input_requests)},
              {"requestState", state},
              {"_meta", {{kServerInfoKey, server_info()}}}};
  return result;
}

RetryFields take_retry_fields(json& params) {
  RetryFields out;
  if (!params.is_object()) return out;
  if (auto it = params.find("requestState"); it != params.end()) {
    if (it->is_string()) out.state = it->get<std::string>();
    params.erase(it);
  }
  if (auto it = params.find("inputResponses"); it != params.end()) {
    if (it->is_object()) out.responses = std::move(*it);
    params.erase(it);
  }
  return out;
}

json server_info() {
  return {{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}};
}

bool offers_stateless(const json& error) {
  if (!error.is_object() || error.value("code", 0) != kUnsupportedProtocolVersion) return false;
  auto data = error.find("data");
  if (data == error.end() || !data->is_object()) return false;
  auto supported = data->find("supported");
  if (supported == data->end() || !supported->is_array()) return false;
  for (const auto& v : *supported)
    if (v.is_string() && v.get<std::string>() == kVersion) return true;
  return false;
}

json backend_envelope(const json& client_info, json capabilities) {
  return {{kProtocolVersionKey, kVersion},
          {kClientInfoKey, client_info.is_object() ? client_info : server_info()},
          {kClientCapabilitiesKey,
           capabilities.is_object() ? std::move(capabilities) : json::object()}};
}

DiscoverRead read_discover(const json& result) {
  DiscoverRead out;
  if (!result.is_object()) {
    out.problem = "server/discover result is not an object";
    return out;
  }
  bool speaks = false;
  if (auto versions = result.find("supportedVersions");
      versions != result.end() && versions->is_array())
    for (const auto& v : *versions) speaks = speaks || (v.is_string() && v == kVersion);
  if (!speaks) {
    out.problem = std::string("server/discover does not list ") + kVersion;
    return out;
  }
  auto capabilities = result.find("capabilities");
  if (capabilities == result.end() || !capabilities->is_object()) {
    out.problem = "server/discover result has no capabilities object";
    return out;
  }
  json info = json::object();
  if (auto meta = result.find("_meta"); meta != result.end() && meta->is_object())
    if (auto it = meta->find(kServerInfoKey); it != meta->end() && it->is_object()) info = *it;
  if (info.empty())
    if (auto it = result.find("serverInfo"); it != result.end() && it->is_object()) info = *it;
  out.initialize_result = {
      {"protocolVersion", kVersion}, {"capabilities", *capabilities}, {"serverInfo", info}};
  if (auto it = result.find("instructions"); it != result.end() && it->is_string())
    out.initialize_result["instructions"] = *it;
  return out;
}

void undecorate_result(json& result) {
  if (!result.is_object()) return;
  result.erase("resultType");
  result.erase("ttlMs");
  result.erase("cacheScope");
  if (auto meta = result.find("_meta"); meta != result.end() && meta->is_object()) {
    meta->erase(kServerInfoKey);
    if (meta->empty()) result.erase(meta);
  }
}

bool input_required(const json& result) {
  if (!result.is_object()) return false;
  auto it = result.find("resultType");
  return it != result.end() && it->is_string() && *it == "input_required";
}

void legacy_error(json& error, std::string_view method) {
  if (method != "resources/read" || !error.is_object() || error.value("code", 0) != -32602) return;
  auto data = error.find("data");
  if (data != error.end() && data->is_object() && data->contains("uri")) error["code"] = -32002;
}

}  // namespace mcpbraid::modern
