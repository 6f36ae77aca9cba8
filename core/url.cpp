#include "core/url.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <string>

namespace mcpbraid::url {

namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// RFC 3986 unreserved and sub-delims.
bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) {
  return c != '\0' && std::strchr("!$&'()*+,;=", c) != nullptr;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Every character of `text` is allowed by `ok`, and every '%' starts a
// percent-escape of two hex digits.
template <typename Ok>
bool valid_component(std::string_view text, Ok ok) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      if (i + 2 >= text.size()) return false;
      if (!is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
      i += 2;
    } else if (!ok(text[i])) {
      return false;
    }
  }
  return true;
}

bool pchar(char c) {
  return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

// A dotted-quad IPv4 address: four decimal parts 0-255 without leading zeros.
bool valid_ipv4(std::string_view host) {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    while (i < host.size() && is_digit(host[i])) ++i;
    std::size_t len = i - start;
    if (len == 0 || len > 3 || (len > 1 && host[start] == '0')) return false;
    if (std::stoi(std::string(host.substr(start, len))) > 255) return false;
    ++parts;
    if (i == host.size()) break;
    if (host[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

// Whether a reg-name would be read as an IPv4 number by a WHATWG parser (its
// last label is decimal digits, or 0x and hex): such hosts must then be a
// plain dotted quad, so that "0x7f.1" or "1.2.3" cannot mean something else
// to libcurl than to us.
bool looks_numeric(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  std::size_t dot = host.rfind('.');
  std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
  if (last.empty()) return false;
  bool digits = true;
  for (char c : last) digits = digits && is_digit(c);
  if (digits) return true;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    for (char c : last.substr(2))
      if (!is_hex(c)) return false;
    return true;
  }
  return false;
}

std::optional<Parts> failure(std::string* error, const char* why) {
  if (error) *error = why;
  return std::nullopt;
}

}  // namespace

std::optional<Parts> parse(std::string_view text, std::string* error) {
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return failure(error, "contains a space or control character");
    if (c >= 0x80) return failure(error, "contains a non-ASCII character (percent-encode it)");
  }
  Parts parts;
  // scheme ":"
  std::size_t colon = text.find(':');
  std::size_t scheme_end = 0;
  while (scheme_end < text.size() &&
         (is_alpha(text[scheme_end]) ||
          (scheme_end > 0 && (is_digit(text[scheme_end]) || text[scheme_end] == '+' ||
                              text[scheme_end] == '-' || text[scheme_end] == '.'))))
    ++scheme_end;
  if (colon == std::string_view::npos || colon != scheme_end || colon == 0)
    return failure(error, "missing scheme (expected http:// or https://)");
  parts.scheme = lower(text.substr(0, colon));
  if (parts.scheme != "http" && parts.scheme != "https")
    return failure(error, "scheme must be http or https");
  std::string_view rest = text.substr(colon + 1);
  if (rest.substr(0, 2) != "//") return failure(error, "missing host");
  rest.remove_prefix(2);

  // authority = [ userinfo "@" ] host [ ":" port ]
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    if (!valid_component(userinfo,
                         [](char c) { return is_unreserved(c) || is_sub_delim(c) || c == ':'; }))
      return failure(error, "bad userinfo");
    parts.userinfo = std::string(userinfo);
    authority.remove_prefix(at + 1);
  }
  std::string_view host, port;
  bool has_port = false;
  if (!authority.empty() && authority[0] == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return failure(error, "bad host");
    std::string literal(authority.substr(1, close - 1));
    in6_addr addr{};
    if (literal.empty() || inet_pton(AF_INET6, literal.c_str(), &addr) != 1)
      return failure(error, "bad host (not an IPv6 address)");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return failure(error, "bad host");
      has_port = true;
      port = after.substr(1);
    }
  } else {
    std::size_t port_colon = authority.find(':');
    host = authority.substr(0, port_colon);
    if (port_colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(port_colon + 1);
    }
    if (host.empty()) return failure(error, "missing host");
    if (!valid_component(host, [](char c) { return is_unreserved(c) || is_sub_delim(c); }))
      return failure(error, "bad host");
    if (looks_numeric(host) && !valid_ipv4(host))
      return failure(error, "bad host (not an IPv4 address)");
  }
  parts.host = lower(host);
  if (has_port) {
    if (port.empty() || port.size() > 5) return failure(error, "bad port");
    int value = 0;
    for (char c : port) {
      if (!is_digit(c)) return failure(error, "bad port");
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return failure(error, "bad port");
    parts.port = value;
    parts.explicit_port = true;
  } else {
    parts.port = parts.scheme == "https" ? 443 : 80;
  }

  // path-abempty [ "?" query ] [ "#" fragment ]
  std::size_t hash = rest.find('#');
  std::string_view fragment;
  bool has_fragment = hash != std::string_view::npos;
  if (has_fragment) {
    fragment = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  std::size_t question = rest.find('?');
  std::string_view query;
  if (question != std::string_view::npos) {
    query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  if (!valid_component(rest, [](char c) { return pchar(c) || c == '/'; }))
    return failure(error, "bad character in path");
  // '[' and ']' are common unencoded in queries ("a[]=1"); allow them there.
  auto query_char = [](char c) { return pchar(c) || c == '/' || c == '?' || c == '[' || c == ']'; };
  if (!valid_component(query, query_char)) return failure(error, "bad character in query");
  if (!valid_component(fragment, query_char)) return failure(error, "bad character in fragment");
  parts.path = std::string(rest);
  parts.query = std::string(query);
  parts.fragment = std::string(fragment);
  return parts;
}

std::string origin(const Parts& parts) {
  return parts.scheme + "://" + parts.host + ":" + std::to_string(parts.port);
}

std::string redacted(std::string_view text) {
  auto parts = parse(text);
  if (!parts) return "<unparsable url>";
  std::string out = parts->scheme + "://";
  if (!parts->userinfo.empty()) out += "<redacted>@";
  out += parts->host;
  if (parts->explicit_port) out += ":" + std::to_string(parts->port);
  out += parts->path;
  if (!parts->query.empty()) out += "?<redacted>";
  return out;
}

bool same_origin(const Parts& a, const Parts& b) {
  return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

}  // namespace mcpbraid::url
