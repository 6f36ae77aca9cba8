#include "core/session.hpp"

#include <algorithm>

#include "core/task_table.hpp"
#include "core/utf8.hpp"

namespace mcpbraid {

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26",
                                                    "2024-11-05"};
  return versions;
}

std::string negotiate_version(const json& requested) {
  if (requested.is_string()) {
    const auto& all = supported_protocol_versions();
    auto text = requested.get<std::string>();
    if (std::find(all.begin(), all.end(), text) != all.end()) return text;
  }
  return kLatestProtocolVersion;
}

json backend_client_capabilities(const json& client_capabilities) {
  json out = json::object();
  if (!client_capabilities.is_object()) return out;
  for (const char* key : {"roots", "sampling", "elicitation", "tasks"}) {
    auto it = client_capabilities.find(key);
    if (it != client_capabilities.end() && it->is_object()) out[key] = *it;
  }
  return out;
}

json merge_capabilities(const std::vector<BackendView>& ready, bool some_pending) {
  bool prompts = some_pending, resources = some_pending;
  bool subscribe = false, logging = false, completions = false;
  bool task_list = some_pending, task_cancel = some_pending, task_calls = some_pending;
  for (const auto& backend : ready) {
    const json& caps = backend.capabilities;
    if (!caps.is_object()) continue;
    prompts = prompts || caps.contains("prompts");
    if (auto r = caps.find("resources"); r != caps.end()) {
      resources = true;
      if (r->is_object()) {
        auto flag = r->find("subscribe");
        if (flag != r->end() && flag->is_boolean() && flag->get<bool>()) subscribe = true;
      }
    }
    logging = logging || caps.contains("logging");
    completions = completions || caps.contains("completions");
    task_list = task_list || tasks::offers(caps, "list");
    task_cancel = task_cancel || tasks::offers(caps, "cancel");
    task_calls = task_calls || tasks::tool_calls(caps);
  }
  json out = json::object();
  // The gateway always has a tool list to offer (it may be empty).
  out["tools"] = {{"listChanged", true}};
  if (prompts) out["prompts"] = {{"listChanged", true}};
  if (resources) {
    out["resources"] = {{"listChanged", true}};
    if (subscribe || some_pending) out["resources"]["subscribe"] = true;
  }
  if (logging || some_pending) out["logging"] = json::object();
  if (completions || some_pending) out["completions"] = json::object();
  // Tasks (2025-11-25): what some backend takes. tasks/list is the gateway's
  // own merge, so it is offered with any task support.
  if (task_list || task_cancel || task_calls) {
    json& t = out["tasks"] = json::object();
    t["list"] = json::object();
    if (task_cancel) t["cancel"] = json::object();
    if (task_calls) t["requests"] = {{"tools", {{"call", json::object()}}}};
  }
  return out;
}

std::string combine_instructions(const std::vector<BackendView>& ready) {
  std::string out;
  for (const auto& backend : ready) {
    if (backend.instructions.empty()) continue;
    if (!out.empty()) out += "\n\n";
    out += "## " + backend.server + "\n" + backend.instructions;
  }
  return out;
}

namespace {

// What a server's instructions say first: the first line that is not blank
// and not a Markdown heading (else the first heading's text), at most 200
// bytes, not cut inside a UTF-8 sequence.
std::string summary_line(const std::string& text) {
  std::string heading, found;
  std::size_t at = 0;
  while (at <= text.size() && found.empty()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    std::size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    line = line.substr(b, line.find_last_not_of(" \t\r") - b + 1);
    if (line[0] == '#') {
      if (heading.empty())
        heading = line.substr(std::min(line.find_first_not_of("# "), line.size()));
      continue;
    }
    found = line;
  }
  if (found.empty()) found = heading;
  constexpr std::size_t kMax = 200;
  if (found.size() > kMax) found = found.substr(0, utf8_cut(found, kMax)) + "...";
  return found;
}

}  // namespace

std::string search_instructions(const std::vector<BackendView>& searched,
                                const std::vector<BackendView>& listed) {
  std::string out =
      "Not every tool of this gateway is listed. To find one, call gateway_search_tools with a "
      "few words of what you need; gateway_describe_tool shows a found tool's parameters. Call "
      "it by its name, directly or through gateway_call_tool.\nServers behind search:";
  for (const auto& backend : searched) {
    out += "\n- " + backend.server;
    std::string first = summary_line(backend.instructions);
    if (!first.empty()) out += ": " + first;
  }
  std::string rest = combine_instructions(listed);
  if (!rest.empty()) out += "\n\n" + rest;
  return out;
}

}  // namespace mcpbraid
