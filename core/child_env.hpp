#pragma once
// The environment of a stdio server's child (README "Environment"): ours
// plus its own `env`, or with `"inherit_env": false` only a few variables
// of ours that programs need to run at all, plus its own `env`.
#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpbraid {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// What an isolated child still gets from our environment (those that are set).
inline constexpr std::array<std::string_view, 6> kIsolatedEnvKeep = {
    "PATH", "HOME", "USER", "LANG", "TMPDIR", "XDG_RUNTIME_DIR"};

// `parent` is our environment as "NAME=value" entries (entries without '='
// are skipped); `own` wins over it. The result is sorted by name, one entry
// per name.
std::vector<std::string> child_environment(const std::vector<std::string>& parent,
                                           const EnvList& own, bool inherit);

}  // namespace mcpbraid
