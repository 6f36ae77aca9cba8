#include "cli/import.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "cli/editor_files.hpp"
#include "core/config.hpp"
#include "core/editor_config.hpp"

namespace mcpbraid::cli {

namespace {

constexpr int kExitNothing = 1;
constexpr int kExitError = 2;

int fail(int status, const std::string& text) {
  std::fprintf(stderr, "mcpbraid import: %s\n", text.c_str());
  return status;
}

}  // namespace

void setup_import(CLI::App& app, ImportOptions& options) {
  app.footer(
      "Prints the config on stdout (warnings on stderr). Exit status: 0 done, 1 no servers found\n"
      "or an existing config not replaced (no --force), 2 a usage or file error.");
  app.add_option("--from", options.from, "The editor whose servers to read")
      ->required()
      ->check(CLI::IsMember(editor::editor_names()));
  app.add_option("--file", options.file,
                 "Its config file (default: the editor's user-level file; or a project's "
                 ".mcp.json, .cursor/mcp.json, .vscode/mcp.json)");
  auto* write = app.add_flag("--write", options.write,
                             "Write the config to our config path instead of printing it");
  app.add_flag("--force", options.force,
               "With --write: replace an existing config (it is backed up first)")
      ->needs(write);
  app.add_option("-c,--config", options.config_path,
                 "Where --write writes (default: as for serve: $MCPBRAID_CONFIG, else "
                 "$XDG_CONFIG_HOME/mcpbraid/config.json, else ~/.config/mcpbraid/config.json)");
}

int run_import(const ImportOptions& options) {
  auto editor = editor::parse_editor(options.from);
  if (!editor) return fail(kExitError, "unknown editor: " + options.from);
  std::string path = options.file.empty()
                         ? editor::default_path(*editor, editor::current_platform(), getenv_lookup)
                         : options.file;
  std::string error;
  auto text = read_text_file(path, &error);
  if (!text) return fail(kExitError, error);

  editor::ImportResult result;
  try {
    editor::ImportOptions context;
    std::error_code ec;
    context.project = std::filesystem::current_path(ec).string();
    context.workspace = workspace_of(path);
    result = editor::import_servers(*editor, editor::parse_editor_text(*text), context);
  } catch (const editor::FormatError& e) {
    return fail(kExitError, path + ": " + e.what());
  }
  for (const auto& warning : result.warnings)
    std::fprintf(stderr, "mcpbraid import: %s: %s\n", path.c_str(), warning.c_str());
  if (result.servers.empty())
    return fail(kExitNothing, "no MCP servers in " + path + " (looked under \"" +
                                  editor::servers_key(*editor) + "\")");

  std::string config = editor::mcpbraid_config(result.servers).dump(2) + "\n";
  // Variables may be set later, where mcpbraid runs: a warning, not a refusal.
  std::string problem = config_problem(config, "the imported config");
  if (!problem.empty())
    std::fprintf(stderr, "mcpbraid import: warning: in this environment mcpbraid refuses %s\n",
                 problem.c_str());
  if (!options.write) {
    std::fwrite(config.data(), 1, config.size(), stdout);
    std::fflush(stdout);
    return 0;
  }

  std::string target = resolve_config_path(options.config_path);
  if (file_exists(target)) {
    if (!options.force)
      return fail(kExitNothing, target +
                                    " exists: not replaced (--force replaces it after a "
                                    "backup; `mcpbraid install --move` merges into it)");
    std::string backup = back_up(target, &error);
    if (backup.empty()) return fail(kExitError, error);
    std::fprintf(stderr, "mcpbraid import: backup of %s: %s\n", target.c_str(), backup.c_str());
  }
  if (!write_text_file(target, config, &error)) return fail(kExitError, error);
  std::fprintf(stderr, "mcpbraid import: wrote %zu server(s) from %s to %s\n",
               result.servers.size(), path.c_str(), target.c_str());
  return 0;
}

}  // namespace mcpbraid::cli
