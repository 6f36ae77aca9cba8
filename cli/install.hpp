#pragma once
// `mcpbraid install`: one entry that launches mcpbraid added to an editor's
// config; with --move, the editor's servers moved into ours.
#include <string>

namespace CLI {
class App;
}

namespace mcpbraid::cli {

struct InstallOptions {
  std::string editor;             // claude-desktop, claude-code, cursor, vscode, windsurf, zed
  std::string name = "mcpbraid";  // the entry's name in the editor's file
  std::string file;               // the editor's file; empty: its usual user-level file
  bool move = false;              // also move the editor's servers into our config
  std::string config_path;        // our config; empty: as for serve
};

void setup_install(CLI::App& app, InstallOptions& options);
// 0 installed (or already installed); 1 refused: the name is another
// server's, or a moved server clashes with a different one of ours; 2 a
// usage error or a file that cannot be read, parsed or written.
int run_install(const InstallOptions& options);

}  // namespace mcpbraid::cli
