#include "cli/install.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/editor_files.hpp"
#include "core/config.hpp"
#include "core/editor_config.hpp"

namespace mcpbraid::cli {

namespace {

using editor::Json;

constexpr int kExitRefused = 1;
constexpr int kExitError = 2;

int fail(int status, const std::string& text) {
  std::fprintf(stderr, "mcpbraid install: %s\n", text.c_str());
  return status;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// A file read as a document; a missing one is `{}` when `missing_ok`.
std::optional<Json> read_document(const std::string& path, bool missing_ok, bool* had_comments,
                                  std::string* error) {
  bool missing = false;
  auto text = read_text_file(path, error, &missing);
  if (!text && !(missing && missing_ok)) return std::nullopt;
  try {
    if (had_comments) editor::strip_jsonc(text ? *text : "", had_comments);
    return editor::parse_editor_text(text ? *text : "");
  } catch (const editor::FormatError& e) {
    *error = path + ": " + e.what();
    return std::nullopt;
  }
}

// Backs the file up (when it exists) and replaces it; prints both.
bool replace_file(const std::string& path, const Json& doc, std::string* error) {
  if (file_exists(path)) {
    std::string backup = back_up(path, error);
    if (backup.empty()) return false;
    std::printf("backup of %s: %s\n", path.c_str(), backup.c_str());
  }
  return write_text_file(path, doc.dump(2) + "\n", error);
}

// The editor's servers that move: all but mcpbraid's own entry.
editor::ImportResult servers_to_move(editor::Editor which, const Json& doc,
                                     const std::string& name) {
  Json others = doc;
  const char* key = editor::servers_key(which);
  if (others.contains(key) && others[key].is_object()) {
    std::vector<std::string> ours;
    for (auto it = others[key].begin(); it != others[key].end(); ++it)
      if (it.key() == name || editor::launches_mcpbraid(*it)) ours.push_back(it.key());
    others = editor::remove_servers(which, std::move(others), ours);
  }
  others.erase("projects");  // Claude Code: only the user scope moves
  return editor::import_servers(which, others);
}

}  // namespace

void setup_install(CLI::App& app, InstallOptions& options) {
  app.footer(
      "The editor's file is backed up (FILE.bak) before it changes; a second run changes nothing.\n"
      "Exit status: 0 installed or already installed, 1 refused (the name is another server's,\n"
      "or a moved server clashes with a different one of ours), 2 a usage or file error.");
  app.add_option("--editor", options.editor, "The editor to add mcpbraid to")
      ->required()
      ->check(CLI::IsMember(editor::editor_names()));
  app.add_option("--name", options.name, "The entry's name in the editor's config")
      ->capture_default_str();
  app.add_option("--file", options.file,
                 "The editor's config file (default: its user-level file; or a project's "
                 ".mcp.json, .cursor/mcp.json, .vscode/mcp.json)");
  app.add_flag("--move", options.move,
               "Also move the editor's servers into our config (merged; a name in both is an "
               "error unless the entries are identical)");
  app.add_option("-c,--config", options.config_path,
                 "Our config, passed to mcpbraid as -c (default: as for serve)");
}

int run_install(const InstallOptions& options) {
  auto which = editor::parse_editor(options.editor);
  if (!which) return fail(kExitError, "unknown editor: " + options.editor);
  std::string path = options.file.empty()
                         ? editor::default_path(*which, editor::current_platform(), getenv_lookup)
                         : options.file;
  std::string config_path = absolute_path(resolve_config_path(options.config_path));
  std::string error;
  bool had_comments = false;
  auto doc = read_document(path, /*missing_ok=*/true, &had_comments, &error);
  if (!doc) return fail(kExitError, error);

  editor::InstallRequest request{options.name, self_executable(), {"-c", config_path}};
  editor::InstallResult installed;
  editor::ImportResult moving;
  try {
    installed = editor::install_entry(*which, *doc, request);
    if (options.move) moving = servers_to_move(*which, *doc, options.name);
  } catch (const editor::FormatError& e) {
    return fail(kExitError, path + ": " + e.what());
  }
  if (installed.outcome == editor::InstallResult::Outcome::name_taken)
    return fail(kExitRefused, path + " already has a server named \"" + options.name +
                                  "\" that is not mcpbraid: nothing changed (choose another "
                                  "--name)");
  for (const auto& warning : moving.warnings)
    std::fprintf(stderr, "mcpbraid install: %s: %s\n", path.c_str(), warning.c_str());

  bool nothing_to_move = moving.servers.empty();
  if (installed.outcome == editor::InstallResult::Outcome::already_installed && nothing_to_move) {
    std::printf("%s: already installed (%s.%s runs %s -c %s); nothing changed\n", path.c_str(),
                editor::servers_key(*which), options.name.c_str(), request.command.c_str(),
                config_path.c_str());
    return 0;
  }

  if (!nothing_to_move) {
    auto ours = read_document(config_path, /*missing_ok=*/true, nullptr, &error);
    if (!ours) return fail(kExitError, error);
    editor::MergeResult merged;
    try {
      merged = editor::merge_servers(*ours, moving.servers);
    } catch (const editor::FormatError& e) {
      return fail(kExitError, config_path + ": " + e.what());
    }
    if (!merged.clashes.empty())
      return fail(kExitRefused, config_path + " already has different server(s) named " +
                                    joined(merged.clashes) + ": nothing changed (rename them in " +
                                    path + " or in " + config_path + ")");
    // Variables may be set later, where mcpbraid runs: a warning, not a refusal.
    std::string problem = config_problem(merged.config.dump(), config_path);
    if (!problem.empty())
      std::fprintf(stderr, "mcpbraid install: warning: in this environment mcpbraid refuses %s\n",
                   problem.c_str());
    if (!replace_file(config_path, merged.config, &error)) return fail(kExitError, error);
    std::printf("%s: moved %zu server(s) in: %s\n", config_path.c_str(), moving.imported.size(),
                joined(moving.imported).c_str());
    installed.doc = editor::remove_servers(*which, std::move(installed.doc), moving.imported);
    installed.changes.push_back("removed " + std::string(editor::servers_key(*which)) + ": " +
                                joined(moving.imported) + " (now in " + config_path + ")");
  }

  if (had_comments)
    std::fprintf(stderr, "mcpbraid install: %s: its comments are not kept (the backup has them)\n",
                 path.c_str());
  if (!replace_file(path, installed.doc, &error)) return fail(kExitError, error);
  for (const auto& change : installed.changes)
    std::printf("%s: %s\n", path.c_str(), change.c_str());
  if (!file_exists(config_path))
    std::fprintf(stderr,
                 "mcpbraid install: %s does not exist yet: `mcpbraid import --from %s --write` "
                 "creates it from this editor's servers\n",
                 config_path.c_str(), options.editor.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace mcpbraid::cli
