#pragma once
// The files `mcpbraid import` and `mcpbraid install` read and write: whole
// files read, replaced atomically (through a symlink to its target, with
// the old file's mode), and backed up before a change.
#include <optional>
#include <string>

namespace mcpbraid::cli {

// The file's bytes; nullopt with `*error` ("cannot read PATH: reason") and
// `*missing` (it does not exist) otherwise.
std::optional<std::string> read_text_file(const std::string& path, std::string* error,
                                          bool* missing = nullptr);

bool file_exists(const std::string& path);

// Copies the file to PATH.bak, or PATH.bak.YYYYmmdd-HHMMSS when that is
// taken; returns the backup's path, or "" with `*error`.
std::string back_up(const std::string& path, std::string* error);

// Replaces (or creates, with its directories; mode 0600) the file with
// `text`: a temporary file in the same directory renamed over it.
bool write_text_file(const std::string& path, const std::string& text, std::string* error);

// `path` made absolute against the working directory.
std::string absolute_path(const std::string& path);

// This binary, from /proc/self/exe.
std::string self_executable();

// The folder VS Code and Cursor call ${workspaceFolder} for a project file
// (DIR/.vscode/mcp.json, DIR/.cursor/mcp.json, DIR/.mcp.json): DIR; "" for
// other files.
std::string workspace_of(const std::string& path);

// Why mcpbraid would refuse this config text in the current environment
// (a `${URL}` still unset, say), or "" when it loads.
std::string config_problem(const std::string& text, const std::string& path);

}  // namespace mcpbraid::cli
