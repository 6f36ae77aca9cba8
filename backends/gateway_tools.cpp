#include "backends/gateway_tools.hpp"

#include "backends/gateway.hpp"
#include "backends/search_tools.hpp"

namespace mcpbraid {

namespace {

std::string tool_name(const json& message) {
  auto params = message.find("params");
  if (params == message.end() || !params->is_object()) return {};
  auto name = params->find("name");
  return name != params->end() && name->is_string() ? name->get<std::string>() : std::string();
}

}  // namespace

json GatewayTools::definitions(const Config& config) {
  json all = json::array();
  if (config.gateway_tools)
    for (auto& tool : own_definitions()) all.push_back(std::move(tool));
  if (config.search_mode())
    for (auto& tool : SearchTools::definitions()) all.push_back(std::move(tool));
  return all;
}

json GatewayTools::own_definitions() {
  json no_arguments{{"type", "object"}, {"properties", json::object()}};
  json annotations{{"readOnlyHint", true}, {"idempotentHint", true}, {"openWorldHint", false}};
  return json::array(
      {{{"name", kListServers},
        {"title", "mcpbraid: list servers"},
        {"description",
         "Every MCP server behind this mcpbraid gateway with its state (starting, ready, backoff, "
         "failed, stopped), circuit breaker (closed, open, half_open), tool count and last "
         "error. Use it to find out which server is sick when a tool fails."},
        {"inputSchema", no_arguments},
        {"annotations", annotations}},
       {{"name", kHealth},
        {"title", "mcpbraid: health"},
        {"description",
         "Health of every MCP server behind this mcpbraid gateway: state, circuit, healthy flag, "
         "successes, failures, latency p50/p95/p99, restarts, pid, uptime, tools, last error "
         "and the last lines of its stderr."},
        {"inputSchema", no_arguments},
        {"annotations", annotations}}});
}

bool GatewayTools::is_tool_call(const json& message) const {
  return g_.config().gateway_tools && is_method(tool_name(message));
}

json GatewayTools::method_result(const std::string& name) const {
  if (name == kHealth) return health::to_json(g_.snapshot());
  json servers = json::array();
  for (const auto& b : g_.snapshot().backends)
    servers.push_back({{"name", b.name},
                       {"state", b.state},
                       {"circuit", b.circuit},
                       {"healthy", b.healthy},
                       {"tools", b.tools ? json(*b.tools) : json(nullptr)},
                       {"tools_listed", b.tools_listed ? json(*b.tools_listed) : json(nullptr)},
                       {"hidden",
                        {{"tools", b.tools_hidden},
                         {"prompts", b.prompts_hidden},
                         {"resources", b.resources_hidden}}},
                       {"collisions", b.collisions},
                       {"last_error", b.last_error.empty() ? json(nullptr) : json(b.last_error)}});
  return {{"servers", std::move(servers)}};
}

json GatewayTools::tool_result(const json& message) const {
  std::string name = tool_name(message);
  json structured = method_result(name);
  std::string text;
  if (name == kHealth) {
    text = health::render_table(g_.snapshot(), /*color=*/false);
  } else {
    for (const auto& s : structured["servers"]) {
      text += s["name"].get<std::string>() + ": " + s["state"].get<std::string>() + ", circuit " +
              s["circuit"].get<std::string>() + ", " +
              (s["tools"].is_null() ? std::string("tools not listed yet")
                                    : std::to_string(s["tools"].get<std::int64_t>()) + " tools");
      if (!s["last_error"].is_null()) text += ", last error: " + s["last_error"].get<std::string>();
      text += "\n";
    }
    if (text.empty()) text = "no servers configured\n";
  }
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})},
          {"structuredContent", std::move(structured)},
          {"isError", false}};
}

json GatewayTools::answer_control(const std::string& method, const json& request) {
  if (method == "health") return health::to_json(g_.snapshot());
  if (method == "list_servers") return method_result(kListServers);
  if (method == "reload") return g_.reloader().reload("control");
  if (method == "restart") {
    auto server = request.find("server");
    if (server == request.end() || !server->is_string())
      throw std::runtime_error("restart needs {\"server\": NAME}");
    std::string name = server->get<std::string>();
    Backend* backend = g_.find_backend(name);
    if (!backend) {
      std::string known;
      for (const auto& b : g_.backends())
        if (!b->removed()) known += (known.empty() ? "" : ", ") + b->name();
      throw std::runtime_error("no server '" + name + "' (" + (known.empty() ? "none" : known) +
                               ")");
    }
    if (g_.session().finishing()) throw std::runtime_error("mcpbraid is shutting down");
    std::string before = to_string(backend->state());
    g_.supervisor().restart_now(
        *backend, "mcpbraid: server '" + name + "' was restarted by mcpbraid restart", true);
    return {{"server", name}, {"was", before}, {"state", to_string(backend->state())}};
  }
  throw std::runtime_error("unknown method '" + method +
                           "' (health, list_servers, reload, restart)");
}

}  // namespace mcpbraid
