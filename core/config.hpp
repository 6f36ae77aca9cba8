#pragma once
// The configuration file: Claude-Desktop compatible `mcpServers` plus mcpbraid
// keys. Validated once at load time into an immutable value.
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/failsafe.hpp"
#include "core/glob.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

using Milliseconds = std::chrono::milliseconds;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr int kDefaultMaxConnections = 16;
inline constexpr int kMaxConnectionsLimit = 256;

// How a server is reached (README "Remote servers").
enum class TransportType {
  stdio,        // a child process over pipes (`command`)
  http,         // Streamable HTTP (`"type": "http"`)
  sse,          // the 2024-11-05 HTTP+SSE transport (`"type": "sse"`)
  http_or_sse,  // `url` without `type`: Streamable HTTP, SSE on a 4xx to initialize
};
const char* to_string(TransportType type);
inline bool is_remote(TransportType type) {
  return type != TransportType::stdio;
}

// Whether a server's tools are in tools/list, or found through the
// gateway's search tools (README "Saving context").
enum class Expose { all, search };

struct ServerConfig {
  std::string name;
  // Its place in the config file (0 first): who keeps a name two servers
  // would both expose.
  int rank = 0;
  // Exposed names are `<prefix><separator><name>`; "" leaves them unchanged.
  // Defaults to the server's name.
  std::string prefix;
  // Which of its tools, prompts (by name) and resources (by URI; templates
  // by uriTemplate) the client sees; the others are refused as unknown.
  NameFilter tools, prompts, resources;
  Expose expose = Expose::all;
  std::vector<std::string> pinned;  // listed even when expose is search
  TransportType type = TransportType::stdio;
  // Remote servers: the URL (http or https; `serverUrl` is an alias) and
  // headers sent with every request, ${VAR} expanded. Values are secrets:
  // never logged.
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // The most HTTP connections open to it at once (HTTP/2 multiplexes
  // within them; HTTP/1.1 queues calls beyond them).
  int max_connections = kDefaultMaxConnections;
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to the inherited environment
  std::string cwd;                                       // empty: inherit
  // false: the child gets only kIsolatedEnvKeep of our environment (those
  // set) and its own `env` (core/child_env.hpp). Stdio only.
  bool inherit_env = true;
  bool disabled = false;
  FailsafeConfig failsafe;  // the top-level defaults with this server's overrides
  RestartConfig restart;
  // The top-level limits, copied for the backend's reader.
  std::size_t max_line = kDefaultMaxLine;
  int max_json_depth = kDefaultMaxJsonDepth;
  bool operator==(const ServerConfig&) const = default;
};

inline constexpr const char* kDefaultSeparator = "__";
// Room for a client's own prefix: Claude Code shows `mcp__<name>__<tool>`
// and breaks on names over 64 characters.
inline constexpr std::size_t kDefaultMaxNameLength = 48;
inline constexpr std::size_t kMinNameLength = 16;
inline constexpr std::size_t kMaxNameLength = 128;
inline constexpr Milliseconds kDefaultInitializeTimeout{5000};
inline constexpr std::chrono::microseconds kDefaultBusyPoll{50};

struct Config {
  std::string path;                   // where it was read from ("" for inline)
  std::vector<ServerConfig> servers;  // enabled and disabled, sorted by name
  std::string separator = kDefaultSeparator;
  std::size_t max_name_length = kDefaultMaxNameLength;
  Expose expose = Expose::all;  // the default of every server's `expose`
  Milliseconds initialize_timeout = kDefaultInitializeTimeout;
  bool gateway_tools = true;  // gateway_list_servers, gateway_health
  bool inherit_env = true;    // the default of every stdio server's `inherit_env`
  // After handling any message, keep polling this long before sleeping in
  // epoll_wait (0: never poll). Saves a wake-up per hop; idle costs nothing.
  std::chrono::microseconds busy_poll{kDefaultBusyPoll};
  // Limits (README "Limits"): the longest line read from the client or a
  // backend, the deepest JSON nesting accepted, and the bytes queued for the
  // client before backends stop being read.
  std::size_t max_line = kDefaultMaxLine;
  int max_json_depth = kDefaultMaxJsonDepth;
  std::size_t max_output_queue = kDefaultMaxOutputQueue;
  FailsafeConfig failsafe;  // top-level defaults
  RestartConfig restart;
  std::vector<std::string> warnings;  // non-fatal findings, e.g. unknown keys

  // Some enabled server's tools are behind search: the gateway lists its
  // search tools.
  bool search_mode() const;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> getenv_lookup(const std::string& name);

// Expands ${VAR} and ${VAR:-default}. Unset variables without a default
// expand to "". Throws ConfigError on an unterminated "${".
std::string expand_env(const std::string& text, const EnvLookup& lookup);

// "250ms", "30s", "2m", "1h" or an integer number of milliseconds.
std::optional<Milliseconds> parse_duration(const nlohmann::json& value);

// Validates a parsed document. `path` is only used in messages.
Config parse_config(const nlohmann::json& doc, const std::string& path,
                    const EnvLookup& lookup = getenv_lookup);

// Parses and validates the text of a config file: invalid JSON, nesting
// deeper than kMaxJsonDepthLimit and every shape error are ConfigErrors.
Config parse_config_text(std::string_view text, const std::string& path,
                         const EnvLookup& lookup = getenv_lookup);

// A size: an integer number of bytes, or a string "512KiB", "64MiB", "1GiB"
// (also "KB"/"MB"/"GB" as the same binary units, and "B").
std::optional<std::size_t> parse_size(const nlohmann::json& value);

// Reads and validates a file; every failure is a ConfigError naming the file.
Config load_config(const std::string& path, const EnvLookup& lookup = getenv_lookup);

// --config, else $MCPBRAID_CONFIG, else $XDG_CONFIG_HOME/mcpbraid/config.json,
// else ~/.config/mcpbraid/config.json.
std::string resolve_config_path(const std::string& flag, const EnvLookup& lookup = getenv_lookup);

// Applies the keys of a `failsafe` / `restart` object over `base`. Unknown
// keys and out-of-range values are ConfigErrors naming `where`.
FailsafeConfig parse_failsafe(const nlohmann::json& object, FailsafeConfig base,
                              const std::string& path, const std::string& where);
RestartConfig parse_restart(const nlohmann::json& object, RestartConfig base,
                            const std::string& path, const std::string& where);

// Server names are `[A-Za-z0-9_-]+`.
bool valid_server_name(const std::string& name);

}  // namespace mcpbraid
