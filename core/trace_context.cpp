#include "core/trace_context.hpp"

#include <cassert>

namespace mcpbraid::trace_context {

namespace {

bool lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

void append_hex(std::string& out, std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 0xf];
}

}  // namespace

std::optional<std::string_view> trace_id(std::string_view tp) {
  // version "-" trace-id "-" parent-id "-" flags; a later version may add
  // fields after the flags ("-..."), version 00 may not.
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-') return std::nullopt;
  std::string_view version = tp.substr(0, 2), id = tp.substr(3, 32), parent = tp.substr(36, 16),
                   flags = tp.substr(53, 2);
  if (!lower_hex(version) || version == "ff" || !lower_hex(id) || !lower_hex(parent) ||
      !lower_hex(flags) || all_zero(id) || all_zero(parent))
    return std::nullopt;
  if (version == "00" ? tp.size() != 55 : (tp.size() > 55 && tp[55] != '-')) return std::nullopt;
  return id;
}

std::string_view trace_id_in(std::string_view text) {
  static constexpr std::string_view kKey = "\"traceparent\":\"";
  std::size_t at = text.find(kKey);
  if (at == std::string_view::npos) return {};
  std::string_view rest = text.substr(at + kKey.size());
  std::size_t end = rest.find('"');
  if (end == std::string_view::npos) return {};
  return trace_id(rest.substr(0, end)).value_or(std::string_view());
}

std::uint64_t Generator::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string Generator::traceparent() {
  std::uint64_t hi = next(), lo = next(), span = next();
  if (hi == 0 && lo == 0) lo = 1;
  if (span == 0) span = 1;
  std::string out;
  out.reserve(55);
  out += "00-";
  append_hex(out, hi);
  append_hex(out, lo);
  out += '-';
  append_hex(out, span);
  out += "-01";
  return out;
}

std::string with_traceparent(std::string_view params, std::string_view traceparent) {
  assert(!params.empty() && params.front() == '{');
  std::string out;
  out.reserve(params.size() + traceparent.size() + 32);
  out += "{\"_meta\":{\"traceparent\":\"";
  out += traceparent;  // hex and dashes: nothing to escape
  out += "\"}";
  std::string_view rest = params.substr(1);
  std::size_t first = rest.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && rest[first] != '}') out += ',';
  out += rest;
  return out;
}

}  // namespace mcpbraid::trace_context
