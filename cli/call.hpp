#pragma once
// `mcpbraid call`: one tools/call of an exposed tool from the shell, through
// the gateway and the config's servers, started for it and stopped after.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct CallOptions {
  std::string config_path;       // empty: as for serve
  std::string name;              // the exposed tool name
  std::string arguments = "{}";  // a JSON object, or "-": read it from stdin
  bool json = false;             // print the whole result
  std::string timeout;           // a duration ("30s"); empty: the servers' own deadlines
  bool quiet = false;            // no progress on stderr
};

void setup_call(CLI::App& app, CallOptions& options);
// 0 a result, 1 a result with isError, 2 an error (the JSON-RPC error, bad
// arguments, a timeout, a config or usage error).
int run_call(const CallOptions& options);

}  // namespace mcpbraid::cli
