#pragma once
// Search mode (README "Saving context"): the gateway's gateway_search_tools,
// gateway_describe_tool and gateway_call_tool, listed when some server's
// tools are behind search. The index covers every tool a client may call
// (listed or not) and is rebuilt when a tools list changed.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/jsonrpc.hpp"
#include "core/tool_search.hpp"

namespace mcpbraid {

class Gateway;

class SearchTools {
 public:
  static constexpr const char* kSearch = "gateway_search_tools";
  static constexpr const char* kDescribe = "gateway_describe_tool";
  static constexpr const char* kCall = "gateway_call_tool";
  static constexpr std::size_t kDefaultLimit = 8;
  static constexpr std::size_t kMaxLimit = 50;

  explicit SearchTools(Gateway& gateway) : g_(gateway) {}

  static bool is_tool(std::string_view name) {
    return name == kSearch || name == kDescribe || name == kCall;
  }
  static json definitions();
  // A tools/call of one of them (search mode on, the handshake settled).
  void on_call(rpc::Message& message);

 private:
  void search(const json& id, const json& arguments);
  void describe(const json& id, const json& arguments);
  void call(rpc::Message& message, json arguments);
  // The tool the client may call by this exposed name, as listed; nullptr if none.
  const json* find(const std::string& exposed);
  const search::ToolIndex& index();

  Gateway& g_;
  search::ToolIndex index_;
  std::vector<std::uint64_t> signature_;
  bool built_ = false;
};

}  // namespace mcpbraid
