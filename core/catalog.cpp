#include "core/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace mcpbraid {

namespace {

bool name_char(unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; }

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

std::string exposed_name(std::string_view server, std::string_view name, std::string_view sep) {
  std::string full;
  full.reserve(server.size() + sep.size() + name.size());
  full.append(server).append(sep).append(name);
  bool clean = std::all_of(name.begin(), name.end(), [](unsigned char c) { return name_char(c); });
  if (clean && full.size() <= kMaxExposedName) return full;
  std::string out;
  for (unsigned char c : full) out.push_back(name_char(c) ? static_cast<char>(c) : '_');
  constexpr std::size_t kSuffix = 9;  // '_' + 8 hex digits
  if (out.size() > kMaxExposedName - kSuffix) out.resize(kMaxExposedName - kSuffix);
  return out + "_" + hex8(stable_hash(full));
}

std::vector<std::string> NameTable::set_server(const std::string& server,
                                               const std::vector<std::string>& names) {
  clear_server(server);
  std::vector<std::string> exposed;
  exposed.reserve(names.size());
  for (const auto& name : names) {
    std::string candidate = exposed_name(server, name, separator_);
    for (int n = 2; routes_.count(candidate); ++n) {
      // Only shortened names can meet here; the counter follows list order.
      std::string suffix = "_" + std::to_string(n);
      std::string base = exposed_name(server, name, separator_);
      if (base.size() + suffix.size() > kMaxExposedName)
        base.resize(kMaxExposedName - suffix.size());
      candidate = base + suffix;
    }
    routes_.emplace(candidate, Route{server, name});
    exposed.push_back(std::move(candidate));
  }
  return exposed;
}

void NameTable::clear_server(const std::string& server) {
  std::erase_if(routes_, [&](const auto& kv) { return kv.second.server == server; });
}

std::optional<Route> NameTable::find(const std::string& exposed) const {
  auto it = routes_.find(exposed);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

namespace {

// Matches the value of one expression starting at uri[pos]; the value runs
// until the next literal of the template (or the end). Reserved expansion
// (+, #) may contain '/', '?' and '#'; simple ones may not contain '/'.
bool match_from(std::string_view tpl, std::size_t ti, std::string_view uri, std::size_t ui) {
  if (ti == tpl.size()) return ui == uri.size();
  if (tpl[ti] != '{') {
    if (ui < uri.size() && uri[ui] == tpl[ti]) return match_from(tpl, ti + 1, uri, ui + 1);
    return false;
  }
  std::size_t close = tpl.find('}', ti);
  if (close == std::string_view::npos) return false;
  char op = close > ti + 1 ? tpl[ti + 1] : '\0';
  std::size_t next = close + 1;
  std::size_t start = ui;
  if (op == '/' || op == '.' || op == '#' || op == '?' || op == '&') {
    // Prefixed expressions may expand to nothing at all.
    if (match_from(tpl, next, uri, ui)) return true;
    if (ui >= uri.size() || uri[ui] != op) return false;
    start = ui + 1;
  }
  bool reserved = op == '+' || op == '#';
  bool query = op == '?' || op == '&';
  // {/a,b} expands to "/x/y": several variables may span the operator.
  bool lists = tpl.substr(ti, close - ti).find(',') != std::string_view::npos;
  for (std::size_t end = start + 1; end <= uri.size(); ++end) {
    char c = uri[end - 1];
    if (lists && c == op) continue;
    if (!reserved && !query && (c == '/' || c == '?' || c == '#')) break;
    if (query && c == '#') break;
    if (match_from(tpl, next, uri, end)) return true;
  }
  return false;
}

}  // namespace

bool uri_template_matches(std::string_view uri_template, std::string_view uri) {
  return match_from(uri_template, 0, uri, 0);
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

std::optional<std::string> ResourceTable::template_owner(const std::string& uri_template) const {
  for (const auto& [server, tpl] : templates_)
    if (tpl == uri_template) return server;
  return owner(uri_template);
}

}  // namespace mcpbraid
