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

// `<prefix><sep><name>` (just `<name>` for an empty prefix) when that is
// within [A-Za-z0-9_.-] and max_length characters; otherwise the invalid
// characters become '_' and the name is cut to leave room for '_' + 8 hex
// digits of a hash of the full original, so it is deterministic and still
// distinct.
std::string exposed_name(std::string_view prefix, std::string_view name, std::string_view sep,
                         std::size_t max_length = 48);

// FNV-1a, 64 bit: stable across runs and platforms.
std::uint64_t stable_hash(std::string_view text);

struct Route {
  std::string server;
  std::string name;  // the backend's own name
};

// Two servers would expose the same name: `kept_by` keeps it, `hidden_from`'s
// tool (or prompt) is hidden.
struct Collision {
  std::string exposed;
  std::string kept_by;
  std::string hidden_from;
  std::string hidden_name;  // hidden_from's own name for it
  bool operator==(const Collision&) const = default;
};

// Exposed name -> (server, original name), for one kind (tools or prompts).
// When several servers claim one exposed name (the same prefix, an empty
// prefix, or two names that shorten alike), the lowest rank (config order)
// keeps it, whatever order the lists arrived in; the others are hidden and
// reported by collisions(). Names the gateway answers itself are reserved:
// no server gets them.
class NameTable {
 public:
  explicit NameTable(std::string separator, std::size_t max_length = 48)
      : separator_(std::move(separator)), max_length_(max_length) {}
  // Replaces the server's names; returns the exposed names in input order
  // (a name repeated within the server routes to its first occurrence).
  std::vector<std::string> set_server(const std::string& server,
                                      const std::vector<std::string>& names,
                                      std::string_view prefix, int rank);
  // Prefix = the server's name, rank 0 (ties go by server name).
  std::vector<std::string> set_server(const std::string& server,
                                      const std::vector<std::string>& names) {
    return set_server(server, names, server, 0);
  }
  void clear_server(const std::string& server);
  void reserve(std::string exposed);
  // The route of the server that keeps the name.
  std::optional<Route> find(const std::string& exposed) const;
  // Whether `server` is the one that keeps `exposed`.
  bool keeps(const std::string& server, const std::string& exposed) const;
  // The names `server` claims but does not keep, in name order.
  std::vector<Collision> collisions(const std::string& server) const;
  // How many names `server` claims but does not keep (kept up to date as
  // servers come and go): 0 means it keeps every name it claims, which
  // spares a lookup per name when a merged list is rendered.
  std::size_t lost(const std::string& server) const;
  const std::string& separator() const { return separator_; }
  std::size_t max_length() const { return max_length_; }

 private:
  struct Claim {
    std::string server;
    std::string name;
    int rank;
  };
  bool reserved(const std::string& exposed) const;
  // Adds (+1) or takes back (-1) what the claims of one name count in lost_.
  void count_lost(const std::string& exposed, const std::vector<Claim>& claims, int sign);
  std::string separator_;
  std::size_t max_length_;
  std::unordered_map<std::string, std::vector<Claim>> routes_;  // best claim first
  std::unordered_map<std::string, std::vector<std::string>> by_server_;
  std::vector<std::string> reserved_;
  std::unordered_map<std::string, std::size_t> lost_;  // server -> names claimed, not kept
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
  // Whether one of the templates `server` published matches the URI.
  bool template_matches(const std::string& server, const std::string& uri) const;

 private:
  std::unordered_map<std::string, std::string> exact_;          // uri -> server
  std::vector<std::pair<std::string, std::string>> templates_;  // (server, template)
};

}  // namespace mcpbraid
