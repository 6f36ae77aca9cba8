#include "core/envelope.hpp"

#include <algorithm>
#include <bit>
#include <bitset>
#include <cstring>

#include "core/jsonrpc.hpp"
#include "core/utf8.hpp"

namespace mcpbraid::rpc {

namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// Bytes in v equal to b (may flag bytes above a true match; callers only
// use it to stop the fast loop).
constexpr std::uint64_t has_byte(std::uint64_t v, unsigned char b) {
  std::uint64_t x = v ^ (kOnes * b);
  return (x - kOnes) & ~x & kHighs;
}

// A recursive-descent validator over one line. Every function advances pos_
// past what it accepted or returns false.
class Scanner {
 public:
  Scanner(std::string_view text, int max_depth)
      : p_(reinterpret_cast<const unsigned char*>(text.data())),
        n_(text.size()),
        max_depth_(std::min(max_depth, kMaxJsonDepthLimit)) {}

  // Calls on_member(key, value span) for each top-level member of the
  // object that makes up the whole text; false if it is not one (or a key
  // is escaped, or on_member says stop).
  template <typename OnMember>
  bool members(OnMember on_member) {
    skip_ws();
    if (pos_ >= n_ || p_[pos_] != '{') return false;
    bool ok = object(0, [&](std::string_view key, bool escaped) {
      // An escaped key could spell "id": leave it to the parser.
      std::size_t begin = pos_;
      return !escaped && value(1) && on_member(key, Span{begin, pos_});
    });
    return ok && at_end();
  }

  // The envelope; with `probe`, the members of an object params named in
  // probe->keys are located in the same pass (spans relative to the line).
  std::optional<Envelope> envelope(ParamsProbe* probe) {
    Envelope env;
    skip_ws();
    if (pos_ >= n_ || p_[pos_] != '{') return std::nullopt;
    bool ok = object(0, [&](std::string_view key, bool escaped) {
      // An escaped key could spell "id": leave it to the parser.
      if (escaped) return false;
      std::size_t begin = pos_;
      bool scanned = probe && key == "params" && peek('{') ? probe_params(*probe) : value(1);
      if (scanned) record(env, key, Span{begin, pos_});
      return scanned;
    });
    if (!ok || !at_end()) return std::nullopt;
    return env;
  }

 private:
  // The object at pos_ (its '{'), whose parent is at `depth` (0: none).
  // For each member, on_member(key, escaped) is called with pos_ at the
  // member's value, scans that value (at depth + 1) and returns false to
  // stop. False if the object is invalid or on_member said stop.
  template <typename OnMember>
  bool object(int depth, OnMember on_member) {
    if (depth + 1 > max_depth_) return false;
    ++pos_;
    skip_ws();
    if (peek('}')) {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_ws();
      std::size_t key_begin = pos_;
      bool escaped = false;
      if (!string(&escaped)) return false;
      std::string_view key(reinterpret_cast<const char*>(p_) + key_begin + 1, pos_ - key_begin - 2);
      skip_ws();
      if (!peek(':')) return false;
      ++pos_;
      skip_ws();
      if (!on_member(key, escaped)) return false;
      skip_ws();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek('}')) {
        ++pos_;
        return true;
      }
      return false;
    }
  }

  // The top-level params object at pos_, its members named in probe.keys
  // located (scan_envelope cleared the probe).
  bool probe_params(ParamsProbe& probe) {
    if (probe.object) probe.repeated = true;
    probe.object = true;
    return object(1, [this, &probe](std::string_view key, bool escaped) {
      std::size_t begin = pos_;
      if (!value(2)) return false;
      if (escaped) probe.escaped_key = true;
      for (std::size_t i = 0; i < probe.count; ++i) {
        if (key != probe.keys[i]) continue;
        if (probe.spans[i].present()) probe.repeated = true;
        probe.spans[i] = Span{begin, pos_};
      }
      return true;
    });
  }

  bool at_end() {
    skip_ws();
    return pos_ == n_;
  }

  static void record(Envelope& env, std::string_view key, Span span) {
    Span* slot = key == "jsonrpc"  ? &env.jsonrpc
                 : key == "id"     ? &env.id
                 : key == "method" ? &env.method
                 : key == "params" ? &env.params
                 : key == "result" ? &env.result
                 : key == "error"  ? &env.error
                                   : nullptr;
    if (!slot) return;
    if (slot->present()) env.duplicate = true;
    *slot = span;
  }

  bool peek(char c) const { return pos_ < n_ && p_[pos_] == static_cast<unsigned char>(c); }

  void skip_ws() {
    while (pos_ < n_ &&
           (p_[pos_] == ' ' || p_[pos_] == '\t' || p_[pos_] == '\n' || p_[pos_] == '\r'))
      ++pos_;
  }

  // One JSON value whose parent container is at `depth`. Iterative: the
  // open containers are kept in is_object_, so the input cannot drive recursion.
  bool value(int depth) {
    open_ = 0;
    for (;;) {
      skip_ws();
      if (pos_ >= n_) return false;
      unsigned char c = p_[pos_];
      bool closed_at_once = false;
      if (c == '{' || c == '[') {
        if (depth + 1 + open_ > max_depth_) return false;
        ++pos_;
        skip_ws();
        char close = c == '{' ? '}' : ']';
        if (peek(close)) {
          ++pos_;
          closed_at_once = true;
        } else {
          is_object_[open_++] = c == '{';
          if (c == '{' && !key_colon()) return false;
          continue;  // the first element
        }
      }
      if (!closed_at_once && !scalar(c)) return false;
      // After a value: a separator, or the end of one or more containers.
      for (;;) {
        if (open_ == 0) return true;
        skip_ws();
        if (peek(',')) {
          ++pos_;
          if (is_object_[open_ - 1] && !key_colon()) return false;
          break;  // the next element
        }
        char close = is_object_[open_ - 1] ? '}' : ']';
        if (!peek(close)) return false;
        ++pos_;
        --open_;
      }
    }
  }

  bool scalar(unsigned char c) {
    switch (c) {
      case '"':
        return string(nullptr);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number();
    }
  }

  // `"key" :` inside an object.
  bool key_colon() {
    skip_ws();
    if (!string(nullptr)) return false;
    skip_ws();
    if (!peek(':')) return false;
    ++pos_;
    return true;
  }

  bool literal(const char* word) {
    std::size_t len = std::strlen(word);
    if (n_ - pos_ < len || std::memcmp(p_ + pos_, word, len) != 0) return false;
    pos_ += len;
    return true;
  }

  bool digits() {
    std::size_t start = pos_;
    while (pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool number() {
    if (peek('-')) ++pos_;
    if (peek('0')) {
      ++pos_;
    } else if (pos_ < n_ && p_[pos_] >= '1' && p_[pos_] <= '9') {
      digits();
    } else {
      return false;
    }
    if (peek('.')) {
      ++pos_;
      if (!digits()) return false;
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      if (!digits()) return false;
    }
    return true;
  }

  // Plain printable ASCII goes 8 bytes at a time; anything else (quote,
  // backslash, control, non-ASCII) is looked at byte by byte. Stops at the
  // first special byte: the lowest flagged byte of each mask is a true match
  // (false flags only sit above one), so on a little-endian machine the
  // lowest set bit of their union is the first special byte. Without this
  // jump a short string (most keys) paid one 8-byte test per byte.
  void skip_plain() {
    while (n_ - pos_ >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p_ + pos_, 8);
      std::uint64_t special =
          (v & kHighs) | ((v - kOnes * 0x20) & ~v & kHighs) | has_byte(v, '"') | has_byte(v, '\\');
      if (special) {
        if constexpr (std::endian::native == std::endian::little)
          pos_ += static_cast<std::size_t>(std::countr_zero(special)) / 8;
        return;
      }
      pos_ += 8;
    }
  }

  bool string(bool* escaped) {
    if (!peek('"')) return false;
    ++pos_;
    for (;;) {
      skip_plain();
      if (pos_ >= n_) return false;
      unsigned char c = p_[pos_];
      if (c == '"') return ++pos_, true;
      if (c < 0x20) return false;
      if (c == '\\') {
        if (escaped) *escaped = true;
        if (!escape()) return false;
      } else if (c >= 0x80) {
        if (!utf8()) return false;
      } else {
        ++pos_;
      }
    }
  }

  bool escape() {
    ++pos_;
    if (pos_ >= n_) return false;
    unsigned char c = p_[pos_++];
    if (std::strchr("\"\\/bfnrt", c) && c != 0) return true;
    if (c != 'u' || n_ - pos_ < 4) return false;
    for (int k = 0; k < 4; ++k, ++pos_) {
      unsigned char h = p_[pos_];
      bool hex = (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
      if (!hex) return false;
    }
    return true;
  }

  // One well-formed UTF-8 sequence (core/utf8.hpp).
  bool utf8() {
    std::size_t len =
        utf8_sequence_length(std::string_view(reinterpret_cast<const char*>(p_), n_), pos_);
    pos_ += len;
    return len != 0;
  }

  const unsigned char* p_;
  std::size_t n_;
  int max_depth_;
  std::size_t pos_ = 0;
  // The containers open in the value being scanned: object (1) or array.
  std::bitset<kMaxJsonDepthLimit + 1> is_object_;
  int open_ = 0;
};

}  // namespace

std::optional<Envelope> scan_envelope(std::string_view line, int max_depth) {
  return Scanner(line, max_depth).envelope(nullptr);
}

std::optional<Envelope> scan_envelope(std::string_view line, int max_depth, ParamsProbe& probe) {
  probe.object = probe.escaped_key = probe.repeated = false;
  for (std::size_t i = 0; i < probe.count; ++i) probe.spans[i] = Span{};
  return Scanner(line, max_depth).envelope(&probe);
}

void replace_span(std::string& line, Span span, std::string_view text) {
  line.replace(span.begin, span.end - span.begin, text);
}

bool locate_members(std::string_view object, const std::string_view* keys, Span* spans,
                    std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) spans[i] = Span{};
  return Scanner(object, kMaxJsonDepthLimit).members([&](std::string_view key, Span span) {
    for (std::size_t i = 0; i < count; ++i) {
      if (key != keys[i]) continue;
      if (spans[i].present()) return false;
      spans[i] = span;
    }
    return true;
  });
}

std::optional<std::string_view> plain_string(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return std::nullopt;
  token = token.substr(1, token.size() - 2);
  if (token.find('\\') != std::string_view::npos) return std::nullopt;
  return token;
}

std::optional<std::int64_t> span_integer(std::string_view text) {
  bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty() || text.size() > 18) return std::nullopt;  // no overflow below 10^18
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

}  // namespace mcpbraid::rpc
