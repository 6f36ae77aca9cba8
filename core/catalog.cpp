#include "core/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <tuple>

namespace mcpbraid {

namespace {

bool name_char(unsigned char c) {
  return std::isalnum(c) || c == '_' || c == '-' || c == '.';
}

std::string hex8(std::uint64_t h) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>((h >> 32) ^ (h & 0xffffffffu)));
  return buf;
}

}  // namespace

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string exposed_name(std::string_view prefix, std::string_view name, std::string_view sep,
                         std::size_t max_length) {
  std::string full;
  full.reserve(prefix.size() + sep.size() + name.size());
  if (!prefix.empty()) full.append(prefix).append(sep);
  full.append(name);
  bool clean = !name.empty() &&
               std::all_of(name.begin(), name.end(), [](unsigned char c) { return name_char(c); });
  if (clean && full.size() <= max_length) return full;
  std::string out;
  for (unsigned char c : full) out.push_back(name_char(c) ? static_cast<char>(c) : '_');
  constexpr std::size_t kSuffix = 9;  // '_' + 8 hex digits
  if (out.size() > max_length - kSuffix) out.resize(max_length - kSuffix);
  return out + "_" + hex8(stable_hash(full));
}

std::vector<std::string> NameTable::set_server(const std::string& server,
                                               const std::vector<std::string>& names,
                                               std::string_view prefix, int rank) {
  clear_server(server);
  std::vector<std::string> exposed;
  exposed.reserve(names.size());
  std::vector<std::string>& mine = by_server_[server];
  for (const auto& name : names) {
    std::string candidate = exposed_name(prefix, name, separator_, max_length_);
    std::vector<Claim>& claims = routes_[candidate];
    bool repeated = std::any_of(claims.begin(), claims.end(),
                                [&](const Claim& c) { return c.server == server; });
    if (!repeated) {
      count_lost(candidate, claims, -1);
      Claim claim{server, name, rank};
      auto at = std::find_if(claims.begin(), claims.end(), [&](const Claim& c) {
        return std::tie(rank, server) < std::tie(c.rank, c.server);
      });
      claims.insert(at, std::move(claim));
      count_lost(candidate, claims, +1);
      mine.push_back(candidate);
    }
    exposed.push_back(std::move(candidate));
  }
  return exposed;
}

void NameTable::clear_server(const std::string& server) {
  auto it = by_server_.find(server);
  if (it == by_server_.end()) return;
  for (const auto& exposed : it->second) {
    auto route = routes_.find(exposed);
    if (route == routes_.end()) continue;
    count_lost(exposed, route->second, -1);
    std::erase_if(route->second, [&](const Claim& c) { return c.server == server; });
    count_lost(exposed, route->second, +1);
    if (route->second.empty()) routes_.erase(route);
  }
  by_server_.erase(it);
  lost_.erase(server);
}

void NameTable::reserve(std::string exposed) {
  auto route = routes_.find(exposed);
  if (route != routes_.end()) count_lost(exposed, route->second, -1);
  reserved_.push_back(std::move(exposed));
  if (route != routes_.end()) count_lost(route->first, route->second, +1);
}

void NameTable::count_lost(const std::string& exposed, const std::vector<Claim>& claims, int sign) {
  // A reserved name is lost to every claim; otherwise all but the first lose.
  std::size_t first = reserved(exposed) ? 0 : 1;
  for (std::size_t i = first; i < claims.size(); ++i) {
    std::size_t& n = lost_[claims[i].server];
    n = sign > 0 ? n + 1 : n - 1;
  }
}

std::size_t NameTable::lost(const std::string& server) const {
  auto it = lost_.find(server);
  return it == lost_.end() ? 0 : it->second;
}

bool NameTable::reserved(const std::string& exposed) const {
  return std::find(reserved_.begin(), reserved_.end(), exposed) != reserved_.end();
}

std::optional<Route> NameTable::find(const std::string& exposed) const {
  auto it = routes_.find(exposed);
  if (it == routes_.end() || it->second.empty() || reserved(exposed)) return std::nullopt;
  return Route{it->second.front().server, it->second.front().name};
}

bool NameTable::keeps(const std::string& server, const std::string& exposed) const {
  auto it = routes_.find(exposed);
  return it != routes_.end() && !it->second.empty() && it->second.front().server == server &&
         !reserved(exposed);
}

std::vector<Collision> NameTable::collisions(const std::string& server) const {
  std::vector<Collision> out;
  if (lost(server) == 0) return out;
  auto it = by_server_.find(server);
  if (it == by_server_.end()) return out;
  for (const auto& exposed : it->second) {
    auto route = routes_.find(exposed);
    if (route == routes_.end()) continue;
    const std::vector<Claim>& claims = route->second;
    if (reserved(exposed)) {
      for (const Claim& c : claims)
        if (c.server == server) out.push_back({exposed, "mcpbraid", server, c.name});
      continue;
    }
    if (claims.front().server == server) continue;
    for (const Claim& c : claims)
      if (c.server == server) out.push_back({exposed, claims.front().server, server, c.name});
  }
  std::sort(out.begin(), out.end(),
            [](const Collision& a, const Collision& b) { return a.exposed < b.exposed; });
  return out;
}

namespace {

// One step of a compiled URI template: a literal character or one `{...}` expression.
struct TemplateToken {
  enum class Class : std::uint8_t { simple, reserved, query };
  bool literal = true;
  char ch = '\0';         // the literal character, or the operator ('\0': none)
  bool prefixed = false;  // # . / ; ? & : empty, or the operator then >= 1 value char
  bool lists = false;     // several variables: the operator may also occur inside the value
  Class cls = Class::simple;
};

// Splits the template into tokens; nullopt for an unterminated '{', which
// makes the template match nothing.
std::optional<std::vector<TemplateToken>> compile_template(std::string_view tpl) {
  constexpr std::string_view kOperators = "+#./;?&";
  std::vector<TemplateToken> tokens;
  tokens.reserve(tpl.size());
  for (std::size_t i = 0; i < tpl.size(); ++i) {
    TemplateToken tok;
    if (tpl[i] != '{') {
      tok.ch = tpl[i];
      tokens.push_back(tok);
      continue;
    }
    std::size_t close = tpl.find('}', i);
    if (close == std::string_view::npos) return std::nullopt;
    tok.literal = false;
    // Only a real operator counts: in {var} the 'v' is part of the name.
    if (close > i + 1 && kOperators.find(tpl[i + 1]) != std::string_view::npos) tok.ch = tpl[i + 1];
    tok.prefixed = tok.ch != '\0' && tok.ch != '+';
    tok.lists = tok.ch != '\0' && tpl.substr(i, close - i).find(',') != std::string_view::npos;
    if (tok.ch == '+' || tok.ch == '#')
      tok.cls = TemplateToken::Class::reserved;
    else if (tok.ch == '?' || tok.ch == '&')
      tok.cls = TemplateToken::Class::query;
    tokens.push_back(tok);
    i = close;
  }
  return tokens;
}

// Whether c may be part of an expression's value: reserved expansion (+, #)
// takes anything, a query stops at the fragment, the rest at '/', '?', '#'.
bool value_char(TemplateToken::Class cls, char c) {
  if (cls == TemplateToken::Class::reserved) return true;
  if (cls == TemplateToken::Class::query) return c != '#';
  return c != '/' && c != '?' && c != '#';
}

// NFA states, as bits in one byte per token position.
constexpr std::uint8_t kAt = 1;    // at the start of token i (i == size: accept)
constexpr std::uint8_t kNeed = 2;  // inside expression i, a value character must follow
constexpr std::uint8_t kDone = 4;  // inside expression i, the value may end here

// Epsilon moves out of position i, once its set is final: an expression
// without prefix must take a character; a prefixed one may be skipped; a
// value that may end lets the next token start.
void close_at(const TemplateToken& tok, std::uint8_t& here, std::uint8_t& after) {
  if (tok.literal) return;
  bool at = (here & kAt) != 0;
  if (at && !tok.prefixed) here |= kNeed;
  if ((at && tok.prefixed) || (here & kDone)) after |= kAt;
}

}  // namespace

// Thompson simulation of the template as an NFA: one pass over the URI with
// a state set per token, so O(uri x template) time and O(template) memory.
// A backtracking matcher was exponential in adjacent expressions ({a}{b}{c}...),
// which a single-threaded gateway cannot afford on a URI from a client.
bool uri_template_matches(std::string_view uri_template, std::string_view uri) {
  auto compiled = compile_template(uri_template);
  if (!compiled) return false;
  const std::vector<TemplateToken>& tokens = *compiled;
  const std::size_t n = tokens.size();
  std::vector<std::uint8_t> cur(n + 1, 0);
  std::vector<std::uint8_t> next(n + 1, 0);
  cur[0] = kAt;
  for (std::size_t i = 0; i < n; ++i) close_at(tokens[i], cur[i], cur[i + 1]);
  for (char c : uri) {
    // Every move, on c or epsilon, goes from position i to i or i + 1, so by
    // the time the sweep reaches i its set is complete and can be closed.
    std::uint8_t any = 0;
    next[0] = 0;
    for (std::size_t i = 0; i < n; ++i) {
      next[i + 1] = 0;
      const TemplateToken& tok = tokens[i];
      std::uint8_t from = cur[i];
      if (tok.literal) {
        if ((from & kAt) && c == tok.ch) next[i + 1] = kAt;
      } else {
        if ((from & kAt) && tok.prefixed && c == tok.ch) next[i] |= kNeed;
        if (from & (kNeed | kDone)) {
          // With several variables the operator separates values ("/x/y"), so
          // it is taken whatever the class, but a value cannot end on it.
          if (tok.lists && c == tok.ch)
            next[i] |= kNeed;
          else if (value_char(tok.cls, c))
            next[i] |= kDone;
        }
        close_at(tok, next[i], next[i + 1]);
      }
      any |= next[i];
    }
    if (!(any | next[n])) return false;  // no thread left: the rest of the URI cannot help
    cur.swap(next);
  }
  return (cur[n] & kAt) != 0;
}

void ResourceTable::set_resources(const std::string& server, const std::vector<std::string>& uris) {
  std::erase_if(exact_, [&](const auto& kv) { return kv.second == server; });
  for (const auto& uri : uris) exact_.emplace(uri, server);
}

void ResourceTable::set_templates(const std::string& server,
                                  const std::vector<std::string>& templates) {
  std::erase_if(templates_, [&](const auto& st) { return st.first == server; });
  for (const auto& t : templates) templates_.emplace_back(server, t);
  // Server order (by name), whatever order the lists were refreshed in.
  std::stable_sort(templates_.begin(), templates_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
}

void ResourceTable::clear_server(const std::string& server) {
  set_resources(server, {});
  set_templates(server, {});
}

std::optional<std::string> ResourceTable::owner(const std::string& uri) const {
  if (auto it = exact_.find(uri); it != exact_.end()) return it->second;
  for (const auto& [server, tpl] : templates_)
    if (uri_template_matches(tpl, uri)) return server;
  return std::nullopt;
}

bool ResourceTable::template_matches(const std::string& server, const std::string& uri) const {
  return std::any_of(templates_.begin(), templates_.end(), [&](const auto& st) {
    return st.first == server && uri_template_matches(st.second, uri);
  });
}

std::optional<std::string> ResourceTable::template_owner(const std::string& uri_template) const {
  for (const auto& [server, tpl] : templates_)
    if (tpl == uri_template) return server;
  return owner(uri_template);
}

}  // namespace mcpbraid
