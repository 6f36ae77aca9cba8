#include "core/glob.hpp"

#include <algorithm>

#include "core/utf8.hpp"

namespace mcpbraid {

std::string glob_problem(std::string_view pattern) {
  if (pattern.empty()) return "an empty pattern matches nothing";
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(pattern[i]);
    if (c < 0x20 || c == 0x7f) return "a control character in the pattern";
    if (c == '\\') {
      if (i + 1 == pattern.size()) return "a trailing '\\' escapes nothing";
      ++i;
    }
  }
  return {};
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // The classic greedy matcher: on a mismatch, back up to the last '*' and
  // let it take one more character. Each '*' only ever moves forward, so the
  // work is bounded by pattern x text.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size()) {
      char c = pattern[p];
      if (c == '*') {
        star = ++p;
        star_text = t;
        continue;
      }
      if (c == '?') {
        ++p;
        // One character; a byte that starts no valid sequence counts as one.
        t += std::max<std::size_t>(1, utf8_sequence_length(text, t));
        continue;
      }
      if (c == '\\' && p + 1 < pattern.size()) c = pattern[p + 1];
      if (c == text[t]) {
        p += pattern[p] == '\\' ? 2 : 1;
        ++t;
        continue;
      }
    }
    if (star == std::string_view::npos) return false;
    p = star;
    t = ++star_text;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool glob_any(const std::vector<std::string>& patterns, std::string_view text) {
  for (const auto& pattern : patterns)
    if (glob_match(pattern, text)) return true;
  return false;
}

bool NameFilter::allows(std::string_view name) const {
  if (allow && !glob_any(*allow, name)) return false;
  return !glob_any(deny, name);
}

}  // namespace mcpbraid
