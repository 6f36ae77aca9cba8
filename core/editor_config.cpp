#include "core/editor_config.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

namespace mcpbraid::editor {

namespace {

struct EditorName {
  Editor editor;
  const char* name;
};

constexpr EditorName kEditors[] = {
    {Editor::claude_desktop, "claude-desktop"},
    {Editor::claude_code, "claude-code"},
    {Editor::cursor, "cursor"},
    {Editor::vscode, "vscode"},
    {Editor::windsurf, "windsurf"},
    {Editor::zed, "zed"},
};

// ------------------------------------------------------------------ JSONC

// The index just past the string literal that starts at `start` (a quote).
std::size_t string_end(std::string_view text, std::size_t start) {
  std::size_t i = start + 1;
  while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
  return std::min(i + 1, text.size());
}

std::string without_comments(std::string_view text, bool* had_comments) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    bool line = c == '/' && i + 1 < text.size() && text[i + 1] == '/';
    bool block = c == '/' && i + 1 < text.size() && text[i + 1] == '*';
    if (c == '"') {
      std::size_t end = string_end(text, i);
      out.append(text.substr(i, end - i));
      i = end;
    } else if (line || block) {
      *had_comments = true;
      std::size_t end = line ? text.find('\n', i) : text.find("*/", i + 2);
      end = end == std::string_view::npos ? text.size() : line ? end : end + 2;
      for (; i < end; ++i) out += text[i] == '\n' ? '\n' : ' ';
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string without_trailing_commas(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      std::size_t end = string_end(text, i);
      out.append(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (c == ',') {
      std::size_t next = i + 1;
      while (next < text.size() && std::isspace(static_cast<unsigned char>(text[next]))) ++next;
      if (next < text.size() && (text[next] == '}' || text[next] == ']')) c = ' ';
    }
    out += c;
    ++i;
  }
  return out;
}

// -------------------------------------------------------------- variables

// VS Code's input id as an environment variable name: "api-key" -> API_KEY.
std::string input_variable(std::string_view id) {
  std::string name;
  for (char c : id)
    name += std::isalnum(static_cast<unsigned char>(c))
                ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                : '_';
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name.insert(0, "_");
  return name;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// One server's conversion: its name for messages, the options, and the
// warnings (each said once).
class EntryConverter {
 public:
  EntryConverter(const ImportOptions& options, std::vector<std::string>& warnings)
      : options_(options), warnings_(warnings) {}

  std::optional<Json> convert(Editor editor, const std::string& name, const Json& entry);

 private:
  void warn(const std::string& text) {
    if (said_.insert(text).second) warnings_.push_back(text);
  }
  std::string variables(const std::string& text);
  std::string variable(std::string_view inner);
  std::optional<Json> strings(const Json& value, const char* key, bool object);

  const ImportOptions& options_;
  std::vector<std::string>& warnings_;
  std::set<std::string> said_;
  std::string name_;
};

std::string EntryConverter::variable(std::string_view inner) {
  std::string whole = "${" + std::string(inner) + "}";
  if (starts_with(inner, "env:")) return "${" + std::string(inner.substr(4)) + "}";
  if (starts_with(inner, "input:")) {
    std::string var = input_variable(inner.substr(6));
    warn(name_ + ": " + whole + " becomes ${" + var + "}: mcpbraid cannot prompt for inputs; set " +
         var + " in its environment");
    return "${" + var + "}";
  }
  if (inner == "userHome") return "${HOME}";
  if (inner == "pathSeparator" || inner == "/") return "/";
  if (inner == "workspaceFolder" && !options_.workspace.empty()) return options_.workspace;
  bool editor_variable =
      inner.find(':') != std::string_view::npos && inner.find(":-") == std::string_view::npos;
  if (inner == "workspaceFolder" || starts_with(inner, "workspaceFolder") || editor_variable)
    warn(name_ + ": " + whole + " is the editor's variable: mcpbraid expands it to \"\"");
  return whole;
}

std::string EntryConverter::variables(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t open = text.find("${", i);
    std::size_t close = open == std::string::npos ? open : text.find('}', open + 2);
    if (close == std::string::npos) break;
    out.append(text, i, open - i);
    out += variable(std::string_view(text).substr(open + 2, close - open - 2));
    i = close + 1;
  }
  if (i < text.size()) out.append(text, i);
  return out;
}

// An array of strings (object: an object of strings), variables converted.
std::optional<Json> EntryConverter::strings(const Json& value, const char* key, bool object) {
  if (object ? !value.is_object() : !value.is_array()) {
    warn(name_ + ": " + key + " is not " + (object ? "an object" : "an array") + ": skipped");
    return std::nullopt;
  }
  Json out = object ? Json::object() : Json::array();
  for (auto it = value.begin(); it != value.end(); ++it) {
    std::string text;
    if (it->is_string())
      text = it->get<std::string>();
    else if (it->is_number() || it->is_boolean())
      text = it->dump();  // editors pass `"PORT": 8080` through as "8080"
    else {
      warn(name_ + ": " + key + " holds a value that is not a string: skipped");
      return std::nullopt;
    }
    if (object)
      out[it.key()] = variables(text);
    else
      out.push_back(variables(text));
  }
  return out;
}

// Keys dropped without a word: they mean nothing to mcpbraid (Zed's
// `source`, `enabled` already converted, an empty `settings`).
bool quietly_dropped(Editor editor, const std::string& key, const Json& value) {
  if (editor != Editor::zed) return false;
  return key == "source" || key == "enabled" || (key == "settings" && value.empty());
}

std::optional<Json> EntryConverter::convert(Editor editor, const std::string& name,
                                            const Json& original) {
  name_ = std::string(servers_key(editor)) + "." + name;
  if (!original.is_object()) {
    warn(name_ + ": not an object: skipped");
    return std::nullopt;
  }
  Json entry = original;
  // Zed's older shape: "command": {"path", "args", "env"}.
  if (editor == Editor::zed && entry.contains("command") && entry["command"].is_object()) {
    Json command = entry["command"];
    entry.erase("command");
    if (command.contains("path")) entry["command"] = command["path"];
    for (const char* key : {"args", "env"})
      if (command.contains(key)) entry[key] = command[key];
  }
  if (editor == Editor::windsurf && entry.contains("serverUrl") && !entry.contains("url")) {
    entry["url"] = entry["serverUrl"];
    entry.erase("serverUrl");
  }
  bool has_command = entry.contains("command") && entry["command"].is_string();
  bool has_url = entry.contains("url") && entry["url"].is_string();
  if (!has_command && !has_url) {
    if (editor == Editor::zed && entry.contains("settings"))
      warn(name_ +
           ": provided by a Zed extension (no command in settings.json): skipped; "
           "add it to mcpbraid's config by hand");
    else
      warn(name_ + ": neither a command nor a url: skipped");
    return std::nullopt;
  }
  if (has_command && has_url) {
    warn(name_ + ": both a command and a url: skipped");
    return std::nullopt;
  }

  Json out = Json::object();
  if (entry.contains("type") && entry["type"].is_string()) out["type"] = entry["type"];
  if (has_command) out["command"] = variables(entry["command"].get<std::string>());
  if (has_url) out["url"] = variables(entry["url"].get<std::string>());
  for (const char* key : {"args", "env", "headers"}) {
    if (!entry.contains(key)) continue;
    auto value = strings(entry[key], key, std::string_view(key) != "args");
    if (!value) return std::nullopt;
    if (!value->empty()) out[key] = std::move(*value);
  }
  if (entry.contains("cwd") && entry["cwd"].is_string())
    out["cwd"] = variables(entry["cwd"].get<std::string>());
  bool disabled = entry.contains("disabled") && entry["disabled"] == true;
  if (editor == Editor::zed && entry.contains("enabled") && entry["enabled"] == false)
    disabled = true;
  if (disabled) out["disabled"] = true;
  if (editor == Editor::windsurf && entry.contains("disabledTools") &&
      entry["disabledTools"].is_array() && !entry["disabledTools"].empty()) {
    out["tools"] = {{"deny", entry["disabledTools"]}};
    warn(name_ + ": disabledTools becomes tools.deny");
  }

  static const std::set<std::string> kConverted = {
      "type", "command", "url", "args", "env", "headers", "cwd", "disabled", "disabledTools"};
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (kConverted.count(it.key()) || quietly_dropped(editor, it.key(), *it)) continue;
    if (it.key() == "envFile")
      warn(name_ +
           ": envFile is not read by mcpbraid: put its variables in env or in "
           "mcpbraid's environment");
    else
      warn(name_ + ": " + it.key() + " has no mcpbraid equivalent: dropped");
  }
  return out;
}

// A name mcpbraid accepts: [A-Za-z0-9_-]+ without the default separator.
std::string server_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    out += ok ? c : '-';
  }
  for (auto at = out.find(kDefaultSeparator); at != std::string::npos;
       at = out.find(kDefaultSeparator))
    out.erase(at, 1);
  return out.empty() ? "server" : out;
}

// The (name, entry) pairs of the editor's map(s), in file order.
std::vector<std::pair<std::string, Json>> server_entries(Editor editor, const Json& doc,
                                                         const ImportOptions& options,
                                                         std::vector<std::string>& warnings) {
  std::string key = servers_key(editor);
  const Json* map = doc.contains(key) ? &doc[key] : nullptr;
  // VS Code's older place: "mcp": {"servers": ...} in settings.json.
  if (!map && editor == Editor::vscode && doc.contains("mcp") && doc["mcp"].is_object() &&
      doc["mcp"].contains("servers")) {
    map = &doc["mcp"]["servers"];
    key = "mcp.servers";
  }
  std::vector<std::pair<std::string, Json>> entries;
  if (map && !map->is_object()) throw FormatError(key + " is not an object");
  if (map)
    for (auto it = map->begin(); it != map->end(); ++it) entries.emplace_back(it.key(), *it);
  if (editor != Editor::claude_code || !doc.contains("projects") || !doc["projects"].is_object())
    return entries;

  // Claude Code's local scope: per project, and it wins over the user scope.
  int others = 0;
  for (auto project = doc["projects"].begin(); project != doc["projects"].end(); ++project) {
    if (!project->is_object() || !project->contains("mcpServers")) continue;
    const Json& local = (*project)["mcpServers"];
    if (!local.is_object() || local.empty()) continue;
    if (project.key() != options.project) {
      ++others;
      continue;
    }
    for (auto it = local.begin(); it != local.end(); ++it) {
      auto same = std::find_if(entries.begin(), entries.end(),
                               [&](const auto& e) { return e.first == it.key(); });
      if (same != entries.end()) {
        warnings.push_back("mcpServers." + it.key() + ": the local-scope entry of " +
                           project.key() + " is used instead of the user-scope one");
        same->second = *it;
      } else {
        entries.emplace_back(it.key(), *it);
      }
    }
  }
  if (others > 0)
    warnings.push_back("the local-scope servers of " + std::to_string(others) +
                       " other project(s) in projects.*.mcpServers are not imported "
                       "(they apply in those directories only)");
  return entries;
}

// The command and args an entry launches (Zed's older shape too).
std::pair<std::string, Json> launched(const Json& entry) {
  if (!entry.is_object()) return {};
  Json command = entry.value("command", Json());
  Json args = entry.value("args", Json::array());
  if (command.is_object()) {
    args = command.value("args", Json::array());
    command = command.value("path", Json());
  }
  return {command.is_string() ? command.get<std::string>() : std::string(), args};
}

std::string command_line(const InstallRequest& request) {
  std::string line = request.command;
  for (const auto& arg : request.args) line += " " + arg;
  return line;
}

bool same_value(const Json& a, const Json& b) {
  // ordered_json compares key order too; the meaning does not depend on it.
  return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump());
}

Json& server_map(Editor editor, Json& doc) {
  const char* key = servers_key(editor);
  if (!doc.contains(key)) doc[key] = Json::object();
  if (!doc[key].is_object()) throw FormatError(std::string(key) + " is not an object");
  return doc[key];
}

}  // namespace

const char* to_string(Editor editor) {
  for (const auto& entry : kEditors)
    if (entry.editor == editor) return entry.name;
  return "?";
}

std::optional<Editor> parse_editor(std::string_view name) {
  for (const auto& entry : kEditors)
    if (name == entry.name) return entry.editor;
  return std::nullopt;
}

const std::vector<std::string>& editor_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& entry : kEditors) out.emplace_back(entry.name);
    return out;
  }();
  return names;
}

Platform current_platform() {
#ifdef __APPLE__
  return Platform::macos;
#else
  return Platform::linux_like;
#endif
}

std::string default_path(Editor editor, Platform platform, const EnvLookup& lookup) {
  auto home_value = lookup("HOME");
  std::string home = home_value ? *home_value : std::string();
  auto xdg_value = lookup("XDG_CONFIG_HOME");
  std::string xdg = xdg_value && !xdg_value->empty() ? *xdg_value : home + "/.config";
  std::string support = home + "/Library/Application Support";
  bool mac = platform == Platform::macos;
  switch (editor) {
    case Editor::claude_desktop:
      return (mac ? support : xdg) + "/Claude/claude_desktop_config.json";
    case Editor::claude_code:
      return home + "/.claude.json";
    case Editor::cursor:
      return home + "/.cursor/mcp.json";
    case Editor::vscode:
      return (mac ? support : xdg) + "/Code/User/mcp.json";
    case Editor::windsurf:
      return home + "/.codeium/windsurf/mcp_config.json";
    case Editor::zed:
      // Zed keeps ~/.config/zed on macOS too.
      return (mac ? home + "/.config" : xdg) + "/zed/settings.json";
  }
  return {};
}

const char* servers_key(Editor editor) {
  switch (editor) {
    case Editor::vscode:
      return "servers";
    case Editor::zed:
      return "context_servers";
    default:
      return "mcpServers";
  }
}

std::string strip_jsonc(std::string_view text, bool* had_comments) {
  bool comments = false;
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 BOM
  std::string out = without_trailing_commas(without_comments(text, &comments));
  if (had_comments) *had_comments = comments;
  return out;
}

Json parse_editor_text(std::string_view text) {
  std::string plain = strip_jsonc(text);
  if (plain.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  Json doc;
  try {
    doc = Json::parse(plain);
  } catch (const Json::parse_error& e) {
    throw FormatError(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw FormatError("not a JSON object");
  return doc;
}

ImportResult import_servers(Editor editor, const Json& doc, const ImportOptions& options) {
  ImportResult result;
  EntryConverter converter(options, result.warnings);
  for (const auto& [name, entry] : server_entries(editor, doc, options, result.warnings)) {
    auto converted = converter.convert(editor, name, entry);
    if (!converted) continue;
    std::string ours = server_name(name);
    std::string base = ours;
    for (int n = 2; result.servers.contains(ours); ++n) ours = base + "-" + std::to_string(n);
    if (ours != name)
      result.warnings.push_back(std::string(servers_key(editor)) + "." + name + ": named \"" +
                                ours + "\" (names are [A-Za-z0-9_-]+ without " + kDefaultSeparator +
                                ")");
    result.servers[ours] = std::move(*converted);
    result.imported.push_back(name);
  }
  return result;
}

Json mcpbraid_config(const Json& servers) {
  Json config = Json::object();
  config["mcpServers"] = servers;
  return config;
}

bool launches_mcpbraid(const Json& entry) {
  std::string command = launched(entry).first;
  auto slash = command.rfind('/');
  return command.substr(slash == std::string::npos ? 0 : slash + 1) == "mcpbraid";
}

Json launch_entry(Editor editor, const InstallRequest& request) {
  Json entry = Json::object();
  if (editor == Editor::claude_code || editor == Editor::vscode) entry["type"] = "stdio";
  entry["command"] = request.command;
  entry["args"] = request.args;
  if (editor == Editor::zed) entry["env"] = Json::object();
  return entry;
}

InstallResult install_entry(Editor editor, Json doc, const InstallRequest& request) {
  InstallResult result;
  Json& servers = server_map(editor, doc);
  Json wanted = launch_entry(editor, request);
  std::string where = std::string(servers_key(editor)) + "." + request.name;
  if (servers.contains(request.name)) {
    const Json& existing = servers[request.name];
    auto [command, args] = launched(existing);
    if (command == request.command && same_value(args, Json(request.args))) {
      result.outcome = InstallResult::Outcome::already_installed;
    } else if (launches_mcpbraid(existing)) {
      result.outcome = InstallResult::Outcome::updated;
      result.changes.push_back("updated " + where + ": " + command + " -> " +
                               command_line(request));
      servers[request.name] = std::move(wanted);
    } else {
      result.outcome = InstallResult::Outcome::name_taken;
    }
  } else {
    result.changes.push_back("added " + where + ": " + command_line(request));
    servers[request.name] = std::move(wanted);
  }
  result.doc = std::move(doc);
  return result;
}

Json remove_servers(Editor editor, Json doc, const std::vector<std::string>& names) {
  Json& servers = server_map(editor, doc);
  for (const auto& name : names) servers.erase(name);
  return doc;
}

MergeResult merge_servers(Json config, const Json& servers) {
  MergeResult result;
  const char* key =
      config.contains("mcpServers") || !config.contains("servers") ? "mcpServers" : "servers";
  if (!config.contains(key)) config[key] = Json::object();
  if (!config[key].is_object()) throw FormatError(std::string(key) + " is not an object");
  Json merged = config;
  for (auto it = servers.begin(); it != servers.end(); ++it) {
    const Json& ours = config[key];
    if (!ours.contains(it.key())) {
      merged[key][it.key()] = *it;
      result.added.push_back(it.key());
    } else if (same_value(ours[it.key()], *it)) {
      result.same.push_back(it.key());
    } else {
      result.clashes.push_back(it.key());
    }
  }
  result.config = result.clashes.empty() ? std::move(merged) : std::move(config);
  return result;
}

}  // namespace mcpbraid::editor
