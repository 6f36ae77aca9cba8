#pragma once
// `mcpbraid tools`: start a config's servers, print every tool as a client
// sees it, stop them. The first check that a config works.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct ToolsOptions {
  std::string config_path;           // empty: as for serve
  bool json = false;                 // the tools/list result instead of lines
  std::vector<std::string> servers;  // only these servers' tools; empty: all
};

void setup_tools(CLI::App& app, ToolsOptions& options);
// 0 every server listed its tools, 1 some server failed (the others' tools
// are still printed), 2 a config or usage error.
int run_tools(const ToolsOptions& options);

}  // namespace mcpbraid::cli
