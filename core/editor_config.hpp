#pragma once
// Editors' MCP config files, as values: where each editor keeps its servers,
// their conversion to mcpbraid's config (`mcpbraid import`) and the entry
// that launches mcpbraid added to an editor's file (`mcpbraid install`).
// No files are read or written here; the CLI does that.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"

namespace mcpbraid::editor {

// Editors' files keep their key order when written back.
using Json = nlohmann::ordered_json;

enum class Editor { claude_desktop, claude_code, cursor, vscode, windsurf, zed };

// "claude-desktop", "claude-code", "cursor", "vscode", "windsurf", "zed".
const char* to_string(Editor editor);
std::optional<Editor> parse_editor(std::string_view name);
const std::vector<std::string>& editor_names();

enum class Platform { linux_like, macos };
Platform current_platform();

// The editor's user-level file: HOME, XDG_CONFIG_HOME (Linux) from `lookup`.
std::string default_path(Editor editor, Platform platform, const EnvLookup& lookup);

// The top-level key of the editor's server map: "mcpServers", VS Code's
// "servers", Zed's "context_servers".
const char* servers_key(Editor editor);

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// JSON with comments and trailing commas (VS Code's and Zed's files) as
// plain JSON: comments become spaces (newlines kept, so line numbers stay
// right), trailing commas are dropped; strings are left alone.
// `*had_comments` says whether a comment was removed.
std::string strip_jsonc(std::string_view text, bool* had_comments = nullptr);

// An editor's file: JSON with comments and trailing commas; empty text is
// `{}`. Throws FormatError (with the parser's message) otherwise, or when
// the document is not an object.
Json parse_editor_text(std::string_view text);

struct ImportOptions {
  // Claude Code: the local-scope servers of this project directory
  // (`projects.<dir>.mcpServers` in ~/.claude.json) are imported too.
  std::string project;
  // VS Code's and Cursor's `${workspaceFolder}`; empty: kept, with a warning.
  std::string workspace;
};

struct ImportResult {
  Json servers = Json::object();      // name -> mcpbraid server entry, in file order
  std::vector<std::string> imported;  // the editor's names of the servers in `servers`
  std::vector<std::string> warnings;  // what was changed, dropped or skipped
};

// The editor's servers as mcpbraid server entries: every stdio and remote
// server. Variables become mcpbraid's `${VAR}` (`${env:VAR}` -> `${VAR}`,
// `${input:api-key}` -> `${API_KEY}`, `${userHome}` -> `${HOME}`), Zed's
// `enabled: false` and Windsurf's `disabledTools` become `disabled` and a
// tools deny filter, names that mcpbraid would refuse are changed; each such
// step is a warning. An entry that cannot be converted (no command or url, a
// wrong type) is skipped with a warning. Throws FormatError when the map
// itself has the wrong type.
ImportResult import_servers(Editor editor, const Json& doc, const ImportOptions& options = {});

// {"mcpServers": servers}: a config mcpbraid loads.
Json mcpbraid_config(const Json& servers);

struct InstallRequest {
  std::string name = "mcpbraid";
  std::string command;            // the absolute path of the mcpbraid binary
  std::vector<std::string> args;  // ["-c", <our config path>]
};

// Whether the entry runs a binary called mcpbraid (an install of ours).
bool launches_mcpbraid(const Json& entry);

// The entry that launches mcpbraid, in the editor's shape.
Json launch_entry(Editor editor, const InstallRequest& request);

struct InstallResult {
  enum class Outcome { added, updated, already_installed, name_taken };
  Outcome outcome = Outcome::added;
  Json doc;                          // the editor's document after the change
  std::vector<std::string> changes;  // one line per change, for the user
};

// Adds (or updates, when the entry under that name launches another
// mcpbraid binary) the launch entry; everything else is kept. A different
// server under that name is `name_taken` and nothing changes.
InstallResult install_entry(Editor editor, Json doc, const InstallRequest& request);

// The editor's document without the servers named in `names`.
Json remove_servers(Editor editor, Json doc, const std::vector<std::string>& names);

struct MergeResult {
  Json config;                       // our config document with the servers added
  std::vector<std::string> added;    // names added
  std::vector<std::string> same;     // already there, identical
  std::vector<std::string> clashes;  // already there, different: nothing merged then
};

// Our config document (`mcpServers`, or `servers`) with `servers` merged in.
// A name already there is fine when the entry is identical; any clash
// leaves `config` unchanged.
MergeResult merge_servers(Json config, const Json& servers);

}  // namespace mcpbraid::editor
