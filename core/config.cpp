#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/url.hpp"

namespace mcpbraid {

using json = nlohmann::json;

const char* to_string(TransportType type) {
  switch (type) {
    case TransportType::stdio:
      return "stdio";
    case TransportType::http:
      return "http";
    case TransportType::sse:
      return "sse";
    case TransportType::http_or_sse:
      return "http-or-sse";
  }
  return "?";
}

namespace {

const std::set<std::string> kTopLevelKeys = {
    "mcpServers",       "servers",         "separator",    "initialize_timeout", "failsafe",
    "restart",          "gateway_tools",   "busy_poll_us", "max_line",           "max_json_depth",
    "max_output_queue", "max_name_length", "expose",       "inherit_env"};
const std::set<std::string> kServerKeys = {"command", "args",      "env",        "cwd",
                                           "url",     "serverUrl", "headers",    "disabled",
                                           "type",    "failsafe",  "restart",    "max_connections",
                                           "prefix",  "tools",     "prompts",    "resources",
                                           "expose",  "pinned",    "inherit_env"};

[[noreturn]] void fail(const std::string& path, const std::string& key, const std::string& what) {
  throw ConfigError(path + ": " + key + ": " + what);
}

std::string type_name(const json& v) {
  return v.type_name();
}

std::string require_string(const json& v, const std::string& path, const std::string& key) {
  if (!v.is_string()) fail(path, key, "expected a string, got " + type_name(v));
  return v.get<std::string>();
}

Milliseconds require_duration(const json& v, const std::string& path, const std::string& key) {
  auto d = parse_duration(v);
  if (!d || d->count() <= 0)
    fail(path, key, "expected a positive duration like \"250ms\", \"30s\", \"2m\" or milliseconds");
  return *d;
}

// RFC 7230 tchar: the characters of a header name.
bool is_tchar(unsigned char c) {
  return (c < 0x80 && std::isalnum(c)) || (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c));
}

bool valid_header_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_tchar);
}

// `name` for a message, cut before its first character that is not a tchar:
// a whole header line pasted as a name ("Authorization: Bearer ...") must not
// bring its value into the message.
std::string header_name_for_message(const std::string& name) {
  auto bad = std::find_if_not(name.begin(), name.end(), is_tchar);
  return std::string(name.begin(), bad);
}

std::string lower_ascii(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The accepted values of a server's `type`.
std::optional<TransportType> parse_type(const std::string& type) {
  if (type == "stdio") return TransportType::stdio;
  if (type == "http" || type == "streamable-http" || type == "streamableHttp")
    return TransportType::http;
  if (type == "sse") return TransportType::sse;
  return std::nullopt;
}

void parse_stdio(ServerConfig& server, const json& entry, const std::string& path,
                 const std::string& where, const EnvLookup& lookup) {
  server.command =
      expand_env(require_string(entry.at("command"), path, where + ".command"), lookup);
  if (server.command.empty()) fail(path, where + ".command", "must not be empty");

  if (auto args = entry.find("args"); args != entry.end()) {
    if (!args->is_array()) fail(path, where + ".args", "expected an array of strings");
    for (std::size_t i = 0; i < args->size(); ++i) {
      const std::string key = where + ".args[" + std::to_string(i) + "]";
      server.args.push_back(expand_env(require_string((*args)[i], path, key), lookup));
    }
  }
  if (auto env = entry.find("env"); env != entry.end()) {
    if (!env->is_object()) fail(path, where + ".env", "expected an object of strings");
    for (const auto& [key, value] : env->items()) {
      std::string text = require_string(value, path, where + ".env." + key);
      server.env.emplace_back(key, expand_env(text, lookup));
    }
  }
  if (auto cwd = entry.find("cwd"); cwd != entry.end()) {
    server.cwd = expand_env(require_string(*cwd, path, where + ".cwd"), lookup);
    // A relative cwd is relative to the config file, not to wherever the
    // editor happened to start us.
    std::filesystem::path dir(server.cwd);
    if (!server.cwd.empty() && dir.is_relative() && !path.empty())
      server.cwd =
          (std::filesystem::absolute(path).parent_path() / dir).lexically_normal().string();
  }
}

// `url` (or `serverUrl`) and `headers` of a remote server. Neither the URL
// (its query may hold a token) nor any header value appears in a message.
void parse_remote(ServerConfig& server, const json& entry, const std::string& url_key,
                  const std::string& path, const std::string& where, const EnvLookup& lookup) {
  for (const char* key : {"args", "env", "cwd"})
    if (entry.contains(key))
      fail(path, where + "." + key,
           "only stdio servers (with \"command\") take \"" + std::string(key) +
               "\"; this one is remote (\"" + url_key + "\")");

  const std::string url_where = where + "." + url_key;
  std::string text = require_string(entry.at(url_key), path, url_where);
  try {
    server.url = expand_env(text, lookup);
  } catch (const ConfigError&) {
    fail(path, url_where, "unterminated \"${\"");
  }
  if (server.url.empty()) fail(path, url_where, "must not be empty");
  std::string error;
  if (!url::parse(server.url, &error))
    fail(path, url_where, "not an http:// or https:// URL: " + error);

  if (auto limit = entry.find("max_connections"); limit != entry.end()) {
    if (!limit->is_number_integer() || limit->get<long long>() < 3 ||
        limit->get<long long>() > kMaxConnectionsLimit)
      fail(path, where + ".max_connections",
           "expected an integer from 3 to " + std::to_string(kMaxConnectionsLimit));
    server.max_connections = limit->get<int>();
  }

  auto headers = entry.find("headers");
  if (headers == entry.end()) return;
  const std::string headers_where = where + ".headers";
  if (!headers->is_object()) fail(path, headers_where, "expected an object of strings");
  std::set<std::string> seen;
  for (const auto& [name, value] : headers->items()) {
    if (!valid_header_name(name))
      fail(path, headers_where,
           name.empty() ? std::string("a header name must not be empty")
                        : "the header name \"" + header_name_for_message(name) +
                              "...\" is not an HTTP token (letters, digits and "
                              "!#$%&'*+-.^_`|~ only)");
    const std::string key = headers_where + "." + name;
    if (!seen.insert(lower_ascii(name)).second)
      fail(path, key, "given twice (header names are case-insensitive)");
    // require_string names the JSON type only, never the value.
    std::string raw = require_string(value, path, key);
    std::string expanded;
    try {
      expanded = expand_env(raw, lookup);
    } catch (const ConfigError&) {
      fail(path, key, "unterminated \"${\" in the value (not shown: header values are secret)");
    }
    bool bad = std::any_of(expanded.begin(), expanded.end(),
                           [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
    if (bad)
      fail(path, key,
           "the value contains CR, LF, NUL or another control character (not shown: header "
           "values are secret)");
    server.headers.emplace_back(name, std::move(expanded));
  }
}

std::vector<std::string> require_patterns(const json& v, const std::string& path,
                                          const std::string& key) {
  if (!v.is_array()) fail(path, key, "expected an array of glob patterns, got " + type_name(v));
  std::vector<std::string> patterns;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string where = key + "[" + std::to_string(i) + "]";
    std::string pattern = require_string(v[i], path, where);
    if (std::string problem = glob_problem(pattern); !problem.empty()) fail(path, where, problem);
    patterns.push_back(std::move(pattern));
  }
  return patterns;
}

NameFilter parse_filter(const json& v, const std::string& path, const std::string& key) {
  if (!v.is_object())
    fail(path, key,
         "expected an object like {\"allow\": [...], \"deny\": [...]}, got " + type_name(v));
  NameFilter filter;
  for (const auto& [k, value] : v.items()) {
    if (k == "allow")
      filter.allow = require_patterns(value, path, key + ".allow");
    else if (k == "deny")
      filter.deny = require_patterns(value, path, key + ".deny");
    else
      fail(path, key + "." + k, "unknown key (a filter has \"allow\" and \"deny\")");
  }
  return filter;
}

Expose require_expose(const json& v, const std::string& path, const std::string& key) {
  std::string text = require_string(v, path, key);
  if (text == "all") return Expose::all;
  if (text == "search") return Expose::search;
  fail(path, key, "expected \"all\" or \"search\", got \"" + text + "\"");
}

void parse_exposure(ServerConfig& server, const json& entry, const Config& config,
                    const std::string& where) {
  const std::string& path = config.path;
  server.prefix = server.name;
  if (auto p = entry.find("prefix"); p != entry.end()) {
    server.prefix = require_string(*p, path, where + ".prefix");
    if (!server.prefix.empty() && !valid_server_name(server.prefix))
      fail(path, where + ".prefix", "expected [A-Za-z0-9_-]* (\"\" keeps the names unchanged)");
  }
  // `<prefix><sep><name>` must split back at exactly one place: the prefix
  // may neither contain the separator nor end in a way that runs into it
  // ("a_" + "__" + "b" would read as "a" + "__" + "_b").
  if (!server.prefix.empty() &&
      (server.prefix + config.separator).find(config.separator) != server.prefix.size())
    fail(path, where + (entry.contains("prefix") ? ".prefix" : ""),
         std::string(entry.contains("prefix") ? "prefix" : "server name") +
             " must not contain or end into the separator \"" + config.separator + "\"" +
             (entry.contains("prefix") ? "" : " (or give it a \"prefix\")"));
  if (auto f = entry.find("tools"); f != entry.end())
    server.tools = parse_filter(*f, path, where + ".tools");
  if (auto f = entry.find("prompts"); f != entry.end())
    server.prompts = parse_filter(*f, path, where + ".prompts");
  if (auto f = entry.find("resources"); f != entry.end())
    server.resources = parse_filter(*f, path, where + ".resources");
  server.expose = config.expose;
  if (auto e = entry.find("expose"); e != entry.end())
    server.expose = require_expose(*e, path, where + ".expose");
  if (auto p = entry.find("pinned"); p != entry.end())
    server.pinned = require_patterns(*p, path, where + ".pinned");
}

ServerConfig parse_server(const std::string& name, const json& entry, const Config& config,
                          const std::string& servers_key, const EnvLookup& lookup,
                          std::vector<std::string>& warnings) {
  const std::string& path = config.path;
  const std::string where = servers_key + "." + name;
  if (!valid_server_name(name)) fail(path, where, "server names must match [A-Za-z0-9_-]+");
  if (!entry.is_object()) fail(path, where, "expected an object, got " + type_name(entry));

  ServerConfig server;
  server.name = name;
  for (const auto& [key, value] : entry.items()) {
    if (!kServerKeys.count(key)) warnings.push_back(where + "." + key + ": unknown key ignored");
  }
  std::optional<TransportType> declared;
  std::string type_text;
  if (auto type = entry.find("type"); type != entry.end()) {
    type_text = require_string(*type, path, where + ".type");
    declared = parse_type(type_text);
    if (!declared)
      fail(path, where + ".type",
           "unknown type \"" + type_text +
               "\"; expected \"stdio\", \"http\" (also \"streamable-http\", \"streamableHttp\") "
               "or \"sse\"");
  }
  const bool has_url = entry.contains("url"), has_server_url = entry.contains("serverUrl");
  if (has_url && has_server_url)
    fail(path, where + ".serverUrl", "given together with \"url\" (it is an alias); give one");
  const std::string url_key = has_server_url ? "serverUrl" : "url";
  const bool has_command = entry.contains("command");
  if (has_command && (has_url || has_server_url))
    fail(path, where,
         "has both \"command\" and \"" + url_key +
             "\"; a server is either a program to run or a remote URL");
  if (declared == TransportType::stdio && (has_url || has_server_url))
    fail(path, where + ".type",
         "\"stdio\" servers run a \"command\"; for \"" + url_key +
             "\" use \"http\" or \"sse\" (or leave \"type\" out)");
  if (declared && is_remote(*declared) && has_command)
    fail(path, where + ".type", "\"" + type_text + "\" servers take a \"url\", not a \"command\"");

  const bool remote = has_url || has_server_url || (declared && is_remote(*declared));
  if (remote) {
    if (!has_url && !has_server_url)
      fail(path, where + ".url", "missing (the server's http:// or https:// URL)");
    server.type = declared ? *declared : TransportType::http_or_sse;
    parse_remote(server, entry, url_key, path, where, lookup);
  } else {
    if (!has_command) {
      // An entry that says it is stdio (type, args, env, cwd) lacks its
      // command; one that says nothing could be either kind.
      bool stdio_shaped =
          declared || entry.contains("args") || entry.contains("env") || entry.contains("cwd");
      if (stdio_shaped) fail(path, where + ".command", "missing (the program to run)");
      fail(path, where,
           "needs \"command\" (a program to run) or \"url\" (a remote http:// or https:// "
           "server)");
    }
    if (entry.contains("max_connections"))
      fail(path, where + ".max_connections",
           "only remote servers (with \"url\") have connections to limit");
    if (entry.contains("headers"))
      fail(path, where + ".headers",
           "only remote servers (with \"url\") take headers; a stdio server gets its "
           "secrets through \"env\" (an error, so that they are not silently dropped)");
    server.type = TransportType::stdio;
    parse_stdio(server, entry, path, where, lookup);
  }

  if (auto disabled = entry.find("disabled"); disabled != entry.end()) {
    if (!disabled->is_boolean()) fail(path, where + ".disabled", "expected true or false");
    server.disabled = disabled->get<bool>();
  }
  server.inherit_env = config.inherit_env;
  if (auto inherit = entry.find("inherit_env"); inherit != entry.end()) {
    if (!inherit->is_boolean()) fail(path, where + ".inherit_env", "expected true or false");
    server.inherit_env = inherit->get<bool>();
    // Accepted (a config shared with stdio entries stays valid), but it
    // changes nothing: a remote server has no process to give an environment.
    if (server.type != TransportType::stdio)
      warnings.push_back(where + ".inherit_env: ignored: a remote server runs no process");
  }
  parse_exposure(server, entry, config, where);
  server.failsafe = config.failsafe;
  server.restart = config.restart;
  server.max_line = config.max_line;
  server.max_json_depth = config.max_json_depth;
  if (auto f = entry.find("failsafe"); f != entry.end())
    server.failsafe = parse_failsafe(*f, config.failsafe, path, where + ".failsafe");
  if (auto r = entry.find("restart"); r != entry.end())
    server.restart = parse_restart(*r, config.restart, path, where + ".restart");
  return server;
}

void require_object(const json& v, const std::string& path, const std::string& key,
                    const std::set<std::string>& known) {
  if (!v.is_object()) fail(path, key, "expected an object, got " + type_name(v));
  for (const auto& [k, value] : v.items())
    if (!known.count(k)) fail(path, key + "." + k, "unknown key");
}

int require_int(const json& v, const std::string& path, const std::string& key, int lo, int hi) {
  if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi)
    fail(path, key, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
  return v.get<int>();
}

std::size_t require_size(const json& v, const std::string& path, const std::string& key,
                         std::size_t lo, std::size_t hi, const char* range) {
  auto size = parse_size(v);
  if (!size || *size < lo || *size > hi)
    fail(path, key,
         std::string("expected a size from ") + range +
             " (bytes, or a string like \"64MiB\", \"512KiB\")");
  return *size;
}

bool require_bool(const json& v, const std::string& path, const std::string& key) {
  if (!v.is_boolean()) fail(path, key, "expected true or false");
  return v.get<bool>();
}

}  // namespace

FailsafeConfig parse_failsafe(const json& object, FailsafeConfig base, const std::string& path,
                              const std::string& where) {
  require_object(object, path, where,
                 {"timeout", "max_timeout", "retry", "circuit_breaker", "health", "max_in_flight"});
  auto key = [&](const std::string& k) { return where + "." + k; };
  if (auto it = object.find("timeout"); it != object.end())
    base.timeout = require_duration(*it, path, key("timeout"));
  if (auto it = object.find("max_timeout"); it != object.end())
    base.max_timeout = require_duration(*it, path, key("max_timeout"));
  if (base.max_timeout < base.timeout)
    fail(path, key("max_timeout"), "must not be shorter than timeout");
  if (auto it = object.find("max_in_flight"); it != object.end())
    base.max_in_flight = require_int(*it, path, key("max_in_flight"), 1, 1000000);
  if (auto it = object.find("retry"); it != object.end()) {
    const std::string w = key("retry");
    require_object(*it, path, w, {"max_attempts", "initial_backoff", "max_backoff"});
    RetryConfig& r = base.retry;
    if (auto v = it->find("max_attempts"); v != it->end())
      r.max_attempts = require_int(*v, path, w + ".max_attempts", 1, 10);
    if (auto v = it->find("initial_backoff"); v != it->end())
      r.initial_backoff = require_duration(*v, path, w + ".initial_backoff");
    if (auto v = it->find("max_backoff"); v != it->end())
      r.max_backoff = require_duration(*v, path, w + ".max_backoff");
    if (r.max_backoff < r.initial_backoff)
      fail(path, w + ".max_backoff", "must not be shorter than initial_backoff");
  }
  if (auto it = object.find("circuit_breaker"); it != object.end()) {
    const std::string w = key("circuit_breaker");
    require_object(*it, path, w,
                   {"enabled", "failure_threshold", "success_threshold", "reset_timeout",
                    "half_open_max_requests"});
    BreakerConfig& b = base.circuit_breaker;
    if (auto v = it->find("enabled"); v != it->end())
      b.enabled = require_bool(*v, path, w + ".enabled");
    if (auto v = it->find("failure_threshold"); v != it->end())
      b.failure_threshold = require_int(*v, path, w + ".failure_threshold", 1, 1000);
    if (auto v = it->find("success_threshold"); v != it->end())
      b.success_threshold = require_int(*v, path, w + ".success_threshold", 1, 1000);
    if (auto v = it->find("reset_timeout"); v != it->end())
      b.reset_timeout = require_duration(*v, path, w + ".reset_timeout");
    if (auto v = it->find("half_open_max_requests"); v != it->end())
      b.half_open_max_requests = require_int(*v, path, w + ".half_open_max_requests", 1, 1000);
  }
  if (auto it = object.find("health"); it != object.end()) {
    const std::string w = key("health");
    require_object(*it, path, w, {"unhealthy_after"});
    if (auto v = it->find("unhealthy_after"); v != it->end())
      base.health.unhealthy_after = require_int(*v, path, w + ".unhealthy_after", 1, 1000);
  }
  return base;
}

RestartConfig parse_restart(const json& object, RestartConfig base, const std::string& path,
                            const std::string& where) {
  require_object(object, path, where, {"initial_backoff", "max_backoff", "max_restarts", "window"});
  if (auto v = object.find("initial_backoff"); v != object.end())
    base.initial_backoff = require_duration(*v, path, where + ".initial_backoff");
  if (auto v = object.find("max_backoff"); v != object.end())
    base.max_backoff = require_duration(*v, path, where + ".max_backoff");
  if (base.max_backoff < base.initial_backoff)
    fail(path, where + ".max_backoff", "must not be shorter than initial_backoff");
  if (auto v = object.find("max_restarts"); v != object.end())
    base.max_restarts = require_int(*v, path, where + ".max_restarts", 0, 1000);
  if (auto v = object.find("window"); v != object.end())
    base.window = require_duration(*v, path, where + ".window");
  return base;
}

std::optional<std::string> getenv_lookup(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

bool valid_server_name(const std::string& name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

std::string expand_env(const std::string& text, const EnvLookup& lookup) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      std::size_t close = text.find('}', i + 2);
      if (close == std::string::npos) throw ConfigError("unterminated \"${\" in \"" + text + "\"");
      std::string inner = text.substr(i + 2, close - i - 2);
      std::string name = inner, fallback;
      bool has_default = false;
      if (auto sep = inner.find(":-"); sep != std::string::npos) {
        name = inner.substr(0, sep);
        fallback = inner.substr(sep + 2);
        has_default = true;
      }
      auto value = lookup(name);
      if (value && !(has_default && value->empty()))
        out += *value;
      else if (has_default)
        out += fallback;
      i = close + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::optional<Milliseconds> parse_duration(const json& value) {
  if (value.is_number_integer()) {
    auto ms = value.get<long long>();
    if (ms < 0) return std::nullopt;
    return Milliseconds(ms);
  }
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  long long n = std::stoll(text.substr(0, digits));
  std::string unit = text.substr(digits);
  if (unit == "ms" || unit.empty()) return Milliseconds(n);
  if (unit == "s") return Milliseconds(n * 1000);
  if (unit == "m") return Milliseconds(n * 60'000);
  if (unit == "h") return Milliseconds(n * 3'600'000);
  return std::nullopt;
}

bool Config::search_mode() const {
  return std::any_of(servers.begin(), servers.end(), [](const ServerConfig& s) {
    return !s.disabled && s.expose == Expose::search;
  });
}

namespace {

// The server names in the order the file gives them (nlohmann's json sorts
// object keys; the order decides who keeps a name two servers expose).
std::vector<std::string> server_order(std::string_view text) {
  std::vector<std::string> names;
  auto doc = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return names;
  auto servers = doc.find("mcpServers");
  if (servers == doc.end()) servers = doc.find("servers");
  if (servers == doc.end() || !servers->is_object()) return names;
  for (const auto& item : servers->items()) names.push_back(item.key());
  return names;
}

Config parse_config_ordered(const json& doc, const std::string& path, const EnvLookup& lookup,
                            const std::vector<std::string>& order);

}  // namespace

Config parse_config(const json& doc, const std::string& path, const EnvLookup& lookup) {
  return parse_config_ordered(doc, path, lookup, {});
}

namespace {

Config parse_config_ordered(const json& doc, const std::string& path, const EnvLookup& lookup,
                            const std::vector<std::string>& order) {
  Config config;
  config.path = path;
  if (!doc.is_object()) fail(path, "(top level)", "expected a JSON object, got " + type_name(doc));
  for (const auto& [key, value] : doc.items()) {
    if (!kTopLevelKeys.count(key))
      config.warnings.push_back(key + ": unknown top-level key ignored");
  }
  if (auto sep = doc.find("separator"); sep != doc.end()) {
    config.separator = require_string(*sep, path, "separator");
    bool ok = !config.separator.empty() && config.separator.size() <= 4 &&
              std::all_of(config.separator.begin(), config.separator.end(),
                          [](unsigned char c) { return c == '_' || c == '-' || c == '.'; });
    if (!ok) fail(path, "separator", "expected 1 to 4 characters from \"_\", \"-\", \".\"");
  }
  if (auto v = doc.find("max_name_length"); v != doc.end())
    config.max_name_length = static_cast<std::size_t>(
        require_int(*v, path, "max_name_length", static_cast<int>(kMinNameLength),
                    static_cast<int>(kMaxNameLength)));
  if (auto e = doc.find("expose"); e != doc.end())
    config.expose = require_expose(*e, path, "expose");
  if (auto g = doc.find("gateway_tools"); g != doc.end()) {
    if (!g->is_boolean()) fail(path, "gateway_tools", "expected true or false");
    config.gateway_tools = g->get<bool>();
  }
  if (auto i = doc.find("inherit_env"); i != doc.end()) {
    if (!i->is_boolean()) fail(path, "inherit_env", "expected true or false");
    config.inherit_env = i->get<bool>();
  }
  if (auto b = doc.find("busy_poll_us"); b != doc.end())
    config.busy_poll = std::chrono::microseconds(require_int(*b, path, "busy_poll_us", 0, 10000));
  if (auto v = doc.find("max_line"); v != doc.end())
    config.max_line =
        require_size(*v, path, "max_line", 1024, std::size_t(1) << 30, "1KiB to 1GiB");
  if (auto v = doc.find("max_output_queue"); v != doc.end())
    config.max_output_queue = require_size(*v, path, "max_output_queue", 64 * 1024,
                                           std::size_t(4) << 30, "64KiB to 4GiB");
  if (auto v = doc.find("max_json_depth"); v != doc.end())
    config.max_json_depth = require_int(*v, path, "max_json_depth", 8, kMaxJsonDepthLimit);
  if (auto t = doc.find("initialize_timeout"); t != doc.end())
    config.initialize_timeout = require_duration(*t, path, "initialize_timeout");

  if (auto f = doc.find("failsafe"); f != doc.end())
    config.failsafe = parse_failsafe(*f, config.failsafe, path, "failsafe");
  if (auto r = doc.find("restart"); r != doc.end())
    config.restart = parse_restart(*r, config.restart, path, "restart");

  // VS Code's mcp.json calls the block "servers"; messages use the key the
  // file uses.
  const bool has_servers = doc.contains("servers");
  if (has_servers && doc.contains("mcpServers"))
    fail(path, "servers",
         "given together with \"mcpServers\" (VS Code's name for the same block); give one");
  const std::string servers_key = has_servers ? "servers" : "mcpServers";
  auto servers = doc.find(servers_key);
  if (servers == doc.end()) fail(path, "mcpServers", "missing (an object of server entries)");
  if (!servers->is_object())
    fail(path, servers_key, "expected an object of server entries, got " + type_name(*servers));
  for (const auto& [name, entry] : servers->items()) {
    try {
      config.servers.push_back(
          parse_server(name, entry, config, servers_key, lookup, config.warnings));
    } catch (const ConfigError& e) {
      std::string what = e.what();
      // expand_env errors do not know the file; add it.
      if (what.rfind(path + ":", 0) != 0) fail(path, servers_key + "." + name, what);
      throw;
    }
  }
  // Rank: the file's order where known, else the (sorted) order of the map.
  for (std::size_t i = 0; i < config.servers.size(); ++i) {
    ServerConfig& server = config.servers[i];
    auto at = std::find(order.begin(), order.end(), server.name);
    server.rank = static_cast<int>(at != order.end() ? at - order.begin() : order.size() + i);
  }
  return config;
}

}  // namespace

std::optional<std::size_t> parse_size(const json& value) {
  if (value.is_number_unsigned() || value.is_number_integer()) {
    if (value.is_number_integer() && value.get<long long>() < 0) return std::nullopt;
    return static_cast<std::size_t>(value.get<unsigned long long>());
  }
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  std::size_t n = std::stoull(text.substr(0, digits));
  std::string unit = text.substr(digits);
  int shift = unit.empty() || unit == "B"     ? 0
              : unit == "KiB" || unit == "KB" ? 10
              : unit == "MiB" || unit == "MB" ? 20
              : unit == "GiB" || unit == "GB" ? 30
                                              : -1;
  if (shift < 0 || n > (SIZE_MAX >> shift)) return std::nullopt;  // no silent wrap-around
  return n << shift;
}

Config parse_config_text(std::string_view text, const std::string& path, const EnvLookup& lookup) {
  // The DOM is walked recursively (copies, comparisons): bound its depth
  // before building it.
  if (rpc::nesting_exceeds(text, kMaxJsonDepthLimit))
    throw ConfigError(path + ": invalid JSON: nested deeper than " +
                      std::to_string(kMaxJsonDepthLimit) + " levels");
  // nlohmann stops at a NUL as if the input ended there.
  if (text.find('\0') != std::string_view::npos)
    throw ConfigError(path + ": invalid JSON: a NUL byte at offset " +
                      std::to_string(text.find('\0')));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again for the parser's own message (where and what).
    try {
      json again = json::parse(text);
    } catch (const json::exception& e) {
      throw ConfigError(path + ": invalid JSON: " + e.what());
    }
    throw ConfigError(path + ": invalid JSON");
  }
  return parse_config_ordered(doc, path, lookup, server_order(text));
}

Config load_config(const std::string& path, const EnvLookup& lookup) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path + ": cannot read the config file (it is a directory)");
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the config file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_config_text(buffer.str(), path, lookup);
}

std::string resolve_config_path(const std::string& flag, const EnvLookup& lookup) {
  if (!flag.empty()) return flag;
  if (auto env = lookup("MCPBRAID_CONFIG"); env && !env->empty()) return *env;
  if (auto xdg = lookup("XDG_CONFIG_HOME"); xdg && !xdg->empty())
    return *xdg + "/mcpbraid/config.json";
  auto home = lookup("HOME");
  return (home ? *home : std::string()) + "/.config/mcpbraid/config.json";
}

}  // namespace mcpbraid
