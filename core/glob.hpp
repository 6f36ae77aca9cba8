#pragma once
// Glob patterns for the per-server filters (`tools`, `prompts`, `resources`
// and `pinned` in the config): `*` matches any run of characters (also
// none, also '/'), `?` exactly one character (one UTF-8 sequence), `\`
// makes the next character literal. Anything else matches itself.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpbraid {

// Why a pattern is not one ("" when it is): empty, a trailing lone '\', or
// a control character.
std::string glob_problem(std::string_view pattern);

// Whether `text` matches the whole of `pattern`. O(text x pattern) at worst,
// without recursion.
bool glob_match(std::string_view pattern, std::string_view text);

// allow/deny lists: no `allow` means everything is allowed; `deny` wins.
struct NameFilter {
  std::optional<std::vector<std::string>> allow;
  std::vector<std::string> deny;

  bool allows(std::string_view name) const;
  bool empty() const { return !allow && deny.empty(); }
  bool operator==(const NameFilter&) const = default;
};

// Whether any of the patterns matches.
bool glob_any(const std::vector<std::string>& patterns, std::string_view text);

}  // namespace mcpbraid
