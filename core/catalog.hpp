#pragma once
// Naming and routing tables: which backend owns an exposed tool or prompt
// name, and which owns a resource URI.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mcpbraid {

inline constexpr std::size_t kMaxExposedName = 64;

// `<server><sep><name>` when that is within [A-Za-z0-9_.-] and 64 characters;
// otherwise the invalid characters become '_' and the name is cut to leave
// room for '_' + 8 hex digits of a hash of the full original, so it is
// deterministic and still distinct.
std::string exposed_name(std::string_view server, std::string_view name, std::string_view sep);

// FNV-1a, 64 bit: stable across runs and platforms.
std::uint64_t stable_hash(std::string_view text);

struct Route {
  std::string server;
  std::string name;  // the backend's own name
};

// Exposed name -> (server, original name), for one kind (tools or prompts).
// Unshortened names cannot collide: config validation guarantees that
// `<server><sep>` occurs at exactly one place, and names are unique within a
// server. Shortened names carry a hash of the full name; should two of them
// still meet, a counter suffix keeps both routable.
class NameTable {
 public:
  explicit NameTable(std::string separator) : separator_(std::move(separator)) {}
  // Replaces the server's names; returns the exposed names in input order.
  std::vector<std::string> set_server(const std::string& server,
                                      const std::vector<std::string>& names);
  void clear_server(const std::string& server);
  std::optional<Route> find(const std::string& exposed) const;
  const std::string& separator() const { return separator_; }

 private:
  std::string separator_;
  std::unordered_map<std::string, Route> routes_;
};

// RFC 6570 matching of a URI against a template (levels 1-3 expressions:
// {var} {+var} {#var} {/var} {.var} {;var} {?a,b} {&a}); literal parts must match
// exactly, and an unterminated '{' matches nothing. Runs in O(uri x template)
// time and O(template) memory, without recursion, whatever the URI.
bool uri_template_matches(std::string_view uri_template, std::string_view uri);

// Resource ownership: exact URIs first, then templates in server order.
class ResourceTable {
 public:
  void set_resources(const std::string& server, const std::vector<std::string>& uris);
  void set_templates(const std::string& server, const std::vector<std::string>& templates);
  void clear_server(const std::string& server);
  std::optional<std::string> owner(const std::string& uri) const;
  // Who published this exact template string (completion refs name templates).
  std::optional<std::string> template_owner(const std::string& uri_template) const;

 private:
  std::unordered_map<std::string, std::string> exact_;          // uri -> server
  std::vector<std::pair<std::string, std::string>> templates_;  // (server, template)
};

}  // namespace mcpbraid
