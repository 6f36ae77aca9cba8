#pragma once
// Just enough of URLs for config checks and for logs: is it an absolute
// http(s) URL, what is its origin, and how to print it without secrets.
// Resolving relative references and building requests is libcurl's job
// (backends/), not this file's.
#include <optional>
#include <string>
#include <string_view>

namespace mcpbraid::url {

struct Parts {
  std::string scheme;    // "http" or "https", lower-cased
  std::string userinfo;  // without the '@', may be empty
  std::string host;      // lower-cased; an IPv6 literal keeps its brackets
  int port = 0;          // the explicit port, else 80 / 443
  bool explicit_port = false;
  std::string path;      // from the first '/', "" when absent
  std::string query;     // without the '?', may be empty
  std::string fragment;  // without the '#'
};

// Parses an absolute http:// or https:// URL. nullopt, with `error` saying
// why ("scheme must be http or https", "missing host", "bad port"), for
// anything else, including spaces and control characters.
std::optional<Parts> parse(std::string_view text, std::string* error = nullptr);

// "https://host:443": scheme, host and port (always with the port).
std::string origin(const Parts& parts);

// The URL for logs and health: userinfo and query replaced by "<redacted>"
// ("https://<redacted>@host/mcp?<redacted>"), fragment dropped. Text that
// does not parse is returned as "<unparsable url>".
std::string redacted(std::string_view text);

// Same origin (scheme, host, port), for redirects.
bool same_origin(const Parts& a, const Parts& b);

}  // namespace mcpbraid::url
