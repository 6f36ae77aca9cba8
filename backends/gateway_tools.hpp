#pragma once
// The gateway's own tools (gateway_list_servers, gateway_health), listed
// after the backends' tools when `gateway_tools` is on, the same answers as
// bare methods, and the control socket's answers (`mcpbraid health`).
#include <string>

#include "core/config.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class GatewayTools {
 public:
  static constexpr const char* kListServers = "gateway_list_servers";
  static constexpr const char* kHealth = "gateway_health";
  static constexpr std::size_t kSnapshotStderrLines = 20;

  explicit GatewayTools(Gateway& gateway) : g_(gateway) {}

  // The gateway's tools as tools/list shows them after the backends':
  // these two when `gateway_tools` is on, the search tools in search mode.
  static json definitions(const Config& config);
  static json own_definitions();
  // One of the gateway's own names (as a bare method, or a tool name).
  static bool is_method(std::string_view name) { return name == kListServers || name == kHealth; }
  // A tools/call of one of them (and they are on).
  bool is_tool_call(const json& message) const;
  json method_result(const std::string& name) const;
  json tool_result(const json& message) const;
  // The control socket's methods: health, list_servers, reload, and
  // restart {"server": NAME}.
  json answer_control(const std::string& method, const json& request);

 private:
  Gateway& g_;
};

}  // namespace mcpbraid
