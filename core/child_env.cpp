#include "core/child_env.hpp"

#include <algorithm>
#include <map>

namespace mcpbraid {

namespace {

bool kept_when_isolated(std::string_view name) {
  return std::find(kIsolatedEnvKeep.begin(), kIsolatedEnvKeep.end(), name) !=
         kIsolatedEnvKeep.end();
}

}  // namespace

std::vector<std::string> child_environment(const std::vector<std::string>& parent,
                                           const EnvList& own, bool inherit) {
  std::map<std::string, std::string> merged;
  for (const std::string& entry : parent) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (inherit || kept_when_isolated(name)) merged[name] = entry.substr(eq + 1);
  }
  for (const auto& [name, value] : own) merged[name] = value;
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
  return out;
}

}  // namespace mcpbraid
