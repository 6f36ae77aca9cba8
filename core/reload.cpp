#include "core/reload.hpp"

#include <algorithm>
#include <map>

namespace mcpbraid {

namespace {

const ServerConfig* enabled(const Config& config, const std::string& name) {
  for (const auto& server : config.servers)
    if (server.name == name) return server.disabled ? nullptr : &server;
  return nullptr;
}

void list(std::string& out, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  if (!out.empty()) out += ", ";
  out += std::to_string(names.size()) + " " + what + " (";
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? " " : "") + names[i];
  out += ")";
}

// A server that only moved in the file is unchanged: its new rank is
// applied without touching it.
bool same_but_rank(const ServerConfig& a, ServerConfig b) {
  b.rank = a.rank;
  return a == b;
}

}  // namespace

bool transport_differs(const ServerConfig& a, const ServerConfig& b) {
  return a.type != b.type || a.command != b.command || a.args != b.args || a.env != b.env ||
         a.cwd != b.cwd || a.url != b.url || a.headers != b.headers ||
         a.max_connections != b.max_connections;
}

ReloadPlan plan_reload(const Config& running, const Config& next) {
  ReloadPlan plan;
  std::map<std::string, int> names;  // sorted, each once
  for (const auto& s : running.servers) names[s.name];
  for (const auto& s : next.servers) names[s.name];
  for (const auto& [name, unused] : names) {
    const ServerConfig* before = enabled(running, name);
    const ServerConfig* after = enabled(next, name);
    if (!before && !after) continue;
    if (!before)
      plan.added.push_back(name);
    else if (!after)
      plan.removed.push_back(name);
    else if (transport_differs(*before, *after))
      plan.restarted.push_back(name);
    else if (!same_but_rank(*before, *after))
      plan.updated.push_back(name);
    else
      plan.unchanged.push_back(name);
  }
  return plan;
}

Config adopt(const Config& running, Config next, std::vector<std::string>* needs_restart) {
  auto keep = [&](const char* key, auto& value, const auto& old) {
    if (value == old) return;
    if (needs_restart) needs_restart->push_back(key);
    value = old;
  };
  keep("separator", next.separator, running.separator);
  keep("max_name_length", next.max_name_length, running.max_name_length);
  keep("max_line", next.max_line, running.max_line);
  keep("max_json_depth", next.max_json_depth, running.max_json_depth);
  for (auto& server : next.servers) {
    server.max_line = next.max_line;
    server.max_json_depth = next.max_json_depth;
  }
  return next;
}

std::string describe(const ReloadPlan& plan) {
  std::string out;
  list(out, "added", plan.added);
  list(out, "removed", plan.removed);
  list(out, "restarted", plan.restarted);
  list(out, "updated", plan.updated);
  return out.empty() ? "no change" : out;
}

}  // namespace mcpbraid
