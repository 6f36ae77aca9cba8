#pragma once
// UTF-8 validation, once for everyone (the envelope scanner, trace lines).
#include <cstddef>
#include <string_view>

namespace mcpbraid {

// Length of the well-formed UTF-8 sequence at text[i] (no overlongs,
// surrogates or code points past U+10FFFF); 0 when it is not one.
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  std::size_t n = c >= 0xF0 && c <= 0xF4   ? 4
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xC2 && c <= 0xDF ? 2
                                           : 0;
  if (n == 0 || text.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  unsigned char d = byte(i + 1);
  if (c == 0xE0 && d < 0xA0) return 0;   // overlong
  if (c == 0xED && d >= 0xA0) return 0;  // surrogate
  if (c == 0xF0 && d < 0x90) return 0;   // overlong
  if (c == 0xF4 && d >= 0x90) return 0;  // past U+10FFFF
  return n;
}

// The longest prefix of at most `max` bytes that does not end inside a
// UTF-8 sequence: text.substr(0, utf8_cut(text, max)).
inline std::size_t utf8_cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace mcpbraid
