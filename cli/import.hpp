#pragma once
// `mcpbraid import`: an editor's MCP servers as an mcpbraid config, printed
// or written to our config path.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct ImportOptions {
  std::string from;         // the editor: claude-desktop, claude-code, cursor, vscode, ...
  std::string file;         // its file; empty: the editor's usual user-level file
  bool write = false;       // write our config instead of printing it
  bool force = false;       // with write: replace an existing config, after a backup
  std::string config_path;  // where to write; empty: as for serve
};

void setup_import(CLI::App& app, ImportOptions& options);
// 0 done; 1 no servers found, or an existing config not replaced without
// --force; 2 a usage error or a file that cannot be read, parsed or written.
int run_import(const ImportOptions& options);

}  // namespace mcpbraid::cli
