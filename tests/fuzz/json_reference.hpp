#pragma once
// Reference facts about a JSON text, computed with nlohmann's SAX parser
// (an implementation independent of core/'s scanners) and a plain walk of
// the raw bytes of a text already known to be valid.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace fuzz {

using nlohmann::json;

struct JsonFacts {
  bool valid = false;                   // RFC 8259 JSON: nlohmann accepts it and it holds no NUL
  bool nul_cut = false;                 // nlohmann accepts it only by reading a NUL as the end
  bool object = false;                  // the top-level value is an object
  int depth = 0;                        // deepest container nesting; a top-level object is 1
  std::map<std::string, int> top_keys;  // decoded top-level keys, with counts
};

namespace detail {

struct FactsSax {
  JsonFacts* f;
  int depth = 0;
  bool open(bool is_object) {
    if (depth == 0 && is_object) f->object = true;
    f->depth = std::max(f->depth, ++depth);
    return true;
  }
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return open(true); }
  bool key(json::string_t& k) {
    if (depth == 1) ++f->top_keys[k];
    return true;
  }
  bool end_object() { return --depth, true; }
  bool start_array(std::size_t) { return open(false); }
  bool end_array() { return --depth, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }
};

}  // namespace detail

inline JsonFacts json_facts(std::string_view text) {
  JsonFacts f;
  detail::FactsSax sax{&f};
  f.valid = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json,
                            /*strict=*/true, /*ignore_comments=*/false);
  // nlohmann's lexer takes a NUL byte for the end of input (it is meant
  // for C strings), so it accepts `{}` NUL `anything`. A NUL is never valid
  // JSON outside a string, and raw inside one.
  bool nul = text.find('\0') != std::string_view::npos;
  if (!f.valid || nul) {
    bool cut = f.valid && nul;
    f = JsonFacts{};
    f.nul_cut = cut;
  }
  return f;
}

inline bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// nlohmann rejects two things RFC 8259 allows and core/'s scanners accept:
// \u escapes of unpaired UTF-16 surrogates, and numbers out of the range
// of a double (1e999). For a text valid but for those: the text with every
// surrogate escape replaced by \u0041 and every overflowing number by 0,
// which nlohmann must then accept. `count` counts the replacements.
inline std::string nlohmann_repair(std::string_view text, int* count = nullptr) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '"') {
        in_string = false;
      } else if (c == '\\' && i + 1 < text.size()) {
        if (text[i + 1] == 'u' && i + 5 < text.size() &&
            (text[i + 2] == 'd' || text[i + 2] == 'D') &&
            std::string_view("89abcdefABCDEF").find(text[i + 3]) != std::string_view::npos &&
            is_hex(text[i + 4]) && is_hex(text[i + 5])) {
          out += "\\u0041";
          i += 5;
          if (count) ++*count;
          continue;
        }
        out.push_back(c);
        c = text[++i];  // the escaped character (hex digits are plain characters)
      }
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < text.size() &&
             std::string_view("+-.eE0123456789").find(text[end]) != std::string_view::npos)
        ++end;
      std::string number(text.substr(i, end - i));
      double value = std::strtod(number.c_str(), nullptr);
      if (!std::isfinite(value)) {
        out.push_back('0');
        if (count) ++*count;
      } else {
        out += number;
      }
      i = end - 1;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// Walks a valid JSON text: true when some top-level key holds an escape;
// `raw_id_keys` counts the top-level keys spelled exactly "id".
inline bool top_level_key_escaped(std::string_view text, int* raw_id_keys = nullptr) {
  int depth = 0;
  bool escaped_key = false;
  if (raw_id_keys) *raw_id_keys = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      std::size_t begin = i;
      bool escape = false;
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') escape = true, ++i;
      std::size_t j = i + 1;
      while (j < text.size() &&
             (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
        ++j;
      bool is_key = j < text.size() && text[j] == ':';
      if (depth == 1 && is_key) {
        if (escape) escaped_key = true;
        if (raw_id_keys && text.substr(begin, i + 1 - begin) == "\"id\"") ++*raw_id_keys;
      }
    }
  }
  return escaped_key;
}

}  // namespace fuzz
