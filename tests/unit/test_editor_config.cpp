// Editors' MCP config files: reading each editor's shape, the mcpbraid config
// made from it, and the launch entry added to it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/editor_config.hpp"

using namespace mcpbraid;
using namespace mcpbraid::editor;

namespace {

std::string sample(const std::string& name) {
  std::ifstream in(std::string(MCPBRAID_EDITOR_DATA) + "/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ImportResult import_sample(Editor editor, const std::string& name, ImportOptions options = {}) {
  return import_servers(editor, parse_editor_text(sample(name)), options);
}

// The result as mcpbraid loads it; every variable set, so URLs expand.
Config load(const ImportResult& result) {
  std::string text = mcpbraid_config(result.servers).dump(2);
  return parse_config_text(text, "imported.json", [](const std::string& name) {
    return std::optional<std::string>(name == "DOCS_URL" ? "https://docs.example.com/mcp" : "x");
  });
}

bool has_warning(const ImportResult& result, const std::string& part) {
  for (const auto& warning : result.warnings)
    if (warning.find(part) != std::string::npos) return true;
  return false;
}

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

InstallRequest request() {
  return {"mcpbraid", "/usr/local/bin/mcpbraid", {"-c", "/home/me/.config/mcpbraid/config.json"}};
}

}  // namespace

TEST_CASE("editor names round-trip and unknown ones are refused") {
  for (const auto& name : editor_names()) {
    auto editor = parse_editor(name);
    REQUIRE(editor);
    CHECK(std::string(to_string(*editor)) == name);
  }
  CHECK_FALSE(parse_editor("emacs"));
  CHECK(editor_names().size() == 6);
}

TEST_CASE("each editor's user-level file is where its documentation says") {
  auto lookup = env({{"HOME", "/home/me"}});
  auto lin = Platform::linux_like;
  auto mac = Platform::macos;
  CHECK(default_path(Editor::claude_desktop, lin, lookup) ==
        "/home/me/.config/Claude/claude_desktop_config.json");
  CHECK(default_path(Editor::claude_desktop, mac, lookup) ==
        "/home/me/Library/Application Support/Claude/claude_desktop_config.json");
  CHECK(default_path(Editor::claude_code, lin, lookup) == "/home/me/.claude.json");
  CHECK(default_path(Editor::cursor, mac, lookup) == "/home/me/.cursor/mcp.json");
  CHECK(default_path(Editor::vscode, lin, lookup) == "/home/me/.config/Code/User/mcp.json");
  CHECK(default_path(Editor::vscode, mac, lookup) ==
        "/home/me/Library/Application Support/Code/User/mcp.json");
  CHECK(default_path(Editor::windsurf, lin, lookup) ==
        "/home/me/.codeium/windsurf/mcp_config.json");
  CHECK(default_path(Editor::zed, mac, lookup) == "/home/me/.config/zed/settings.json");
  auto xdg = env({{"HOME", "/home/me"}, {"XDG_CONFIG_HOME", "/xdg"}});
  CHECK(default_path(Editor::zed, lin, xdg) == "/xdg/zed/settings.json");
  CHECK(default_path(Editor::claude_desktop, lin, xdg) == "/xdg/Claude/claude_desktop_config.json");
}

TEST_CASE("comments and trailing commas go, strings stay as they were") {
  bool comments = false;
  std::string text = "{ // one\n \"a\": \"x // y, }\", /* two\n lines */ \"b\": [1, 2,],\n}";
  std::string plain = strip_jsonc(text, &comments);
  CHECK(comments);
  auto doc = nlohmann::json::parse(plain);
  CHECK(doc["a"] == "x // y, }");
  CHECK(doc["b"] == nlohmann::json::array({1, 2}));
  CHECK(std::count(plain.begin(), plain.end(), '\n') == std::count(text.begin(), text.end(), '\n'));
  strip_jsonc("{\"a\": \"/* no */\"}", &comments);
  CHECK_FALSE(comments);
  CHECK(strip_jsonc("{\"a\": \"\\\",\"}") == "{\"a\": \"\\\",\"}");
}

TEST_CASE("an editor file is an object; an empty one is empty") {
  CHECK(parse_editor_text("") == Json::object());
  CHECK(parse_editor_text("  \n") == Json::object());
  CHECK_THROWS_AS(parse_editor_text("[]"), FormatError);
  CHECK_THROWS_AS(parse_editor_text("{\"a\": }"), FormatError);
  CHECK_THROWS_AS(import_servers(Editor::cursor, parse_editor_text("{\"mcpServers\": []}")),
                  FormatError);
  CHECK(import_servers(Editor::cursor, parse_editor_text("{\"theme\": 1}")).servers.empty());
}

TEST_CASE("Claude Desktop's servers come over unchanged") {
  auto result = import_sample(Editor::claude_desktop, "claude-desktop.json");
  CHECK(result.warnings.empty());
  CHECK(result.imported == std::vector<std::string>{"filesystem", "memory", "linear"});
  CHECK(result.servers["memory"]["env"]["MEMORY_FILE_PATH"] ==
        "/home/me/.local/share/memory.jsonl");
  Config config = load(result);
  REQUIRE(config.servers.size() == 3);
  CHECK(config.servers[0].name == "filesystem");
  CHECK(config.servers[0].args.back() == "/home/me/Desktop");
}

TEST_CASE("Claude Code: the user scope, and the local scope of the current project") {
  auto user = import_sample(Editor::claude_code, "claude-code-user.json");
  CHECK(user.imported == std::vector<std::string>{"github", "asana", "airtable"});
  CHECK(has_warning(user, "1 other project"));
  Config config = load(user);
  REQUIRE(config.servers.size() == 3);
  CHECK(config.servers[0].name == "airtable");
  CHECK(config.servers[1].type == TransportType::sse);
  CHECK(config.servers[2].type == TransportType::http);
  CHECK(user.servers["github"]["headers"]["Authorization"] == "Bearer ${GITHUB_TOKEN}");

  ImportOptions options;
  options.project = "/home/me/src/shop";
  auto local = import_sample(Editor::claude_code, "claude-code-user.json", options);
  CHECK(local.imported.back() == "postgres");
  CHECK_FALSE(has_warning(local, "other project"));
  CHECK(load(local).servers.size() == 4);

  auto project = import_sample(Editor::claude_code, "claude-code-project.mcp.json");
  CHECK(project.servers["docs"]["url"] == "${DOCS_URL:-https://docs.example.com/mcp}");
  CHECK(project.warnings.empty());
  CHECK(load(project).servers.size() == 2);
}

TEST_CASE("Claude Code: a local-scope server wins over a user-scope one of that name") {
  auto doc = parse_editor_text(R"({"mcpServers": {"a": {"command": "user"}},
      "projects": {"/p": {"mcpServers": {"a": {"command": "local"}}}}})");
  ImportOptions options;
  options.project = "/p";
  auto result = import_servers(Editor::claude_code, doc, options);
  CHECK(result.servers["a"]["command"] == "local");
  CHECK(has_warning(result, "local-scope entry of /p"));
}

TEST_CASE("Cursor: ${env:VAR} becomes ${VAR}; envFile is not read, and says so") {
  auto result = import_sample(Editor::cursor, "cursor.json");
  CHECK(result.servers["stripe"]["env"]["STRIPE_SECRET_KEY"] == "${STRIPE_SECRET_KEY}");
  CHECK(result.servers["sentry"]["headers"]["Authorization"] == "Bearer ${SENTRY_TOKEN}");
  CHECK_FALSE(result.servers["stripe"].contains("envFile"));
  CHECK(has_warning(result, "mcpServers.stripe: envFile is not read"));
  Config config = load(result);
  REQUIRE(config.servers.size() == 3);
  CHECK(config.servers[1].name == "sentry");
  CHECK(config.servers[1].type == TransportType::http_or_sse);
}

TEST_CASE("VS Code: inputs become environment variables, with a warning for each") {
  ImportOptions options;
  options.workspace = "/home/me/src/app";
  auto result = import_sample(Editor::vscode, "vscode.json", options);
  CHECK(result.imported == std::vector<std::string>{"github", "perplexity", "notes", "weather"});
  CHECK(result.servers["github"]["headers"]["Authorization"] == "Bearer ${GITHUB_TOKEN}");
  CHECK(result.servers["perplexity"]["env"]["PERPLEXITY_API_KEY"] == "${PERPLEXITY_KEY}");
  CHECK(has_warning(result, "servers.github: ${input:github-token} becomes ${GITHUB_TOKEN}"));
  CHECK(has_warning(result, "${input:perplexity-key} becomes ${PERPLEXITY_KEY}"));
  CHECK(result.servers["notes"]["args"][0] == "/home/me/src/app/tools/notes-server.js");
  CHECK(result.servers["notes"]["env"]["NOTES_DIR"] == "${HOME}/notes");
  CHECK(result.servers["notes"]["env"]["LOG"] == "${NOTES_LOG}");
  CHECK(result.servers["weather"]["type"] == "sse");
  CHECK(load(result).servers.size() == 4);

  auto user_level = import_sample(Editor::vscode, "vscode.json");
  CHECK(user_level.servers["notes"]["args"][0] == "${workspaceFolder}/tools/notes-server.js");
  CHECK(has_warning(user_level, "${workspaceFolder} is the editor's variable"));
}

TEST_CASE("VS Code: servers under settings.json's older mcp.servers are read too") {
  auto doc = parse_editor_text(R"({"mcp": {"servers": {"x": {"command": "y"}}}})");
  CHECK(import_servers(Editor::vscode, doc).servers["x"]["command"] == "y");
}

TEST_CASE("Windsurf: serverUrl becomes url, disabledTools a deny filter") {
  auto result = import_sample(Editor::windsurf, "windsurf.json");
  CHECK(result.servers["zapier"]["url"] == "https://actions.zapier.com/mcp/sk-abc/sse");
  CHECK_FALSE(result.servers["zapier"].contains("serverUrl"));
  CHECK(result.servers["talaria"]["headers"]["Authorization"] == "Bearer ${TALARIA_TOKEN}");
  CHECK(result.servers["git"]["tools"]["deny"] == Json::array({"git_reset", "git_checkout"}));
  CHECK(result.servers["sqlite"]["disabled"] == true);
  Config config = load(result);
  REQUIRE(config.servers.size() == 4);
  CHECK(config.servers[0].name == "git");
  CHECK(config.servers[0].tools.allows("git_status"));
  CHECK_FALSE(config.servers[0].tools.allows("git_reset"));
  CHECK(config.servers[1].disabled);
}

TEST_CASE("Zed: both command shapes, remote servers, enabled: false; extension servers skipped") {
  auto result = import_sample(Editor::zed, "zed-settings.json");
  CHECK(result.imported ==
        std::vector<std::string>{"fetch", "github-local", "remote-docs", "off-for-now"});
  CHECK(result.servers["fetch"] ==
        Json::parse(R"({"command": "uvx", "args": ["mcp-server-fetch"]})"));
  CHECK(result.servers["github-local"]["command"] == "/usr/local/bin/github-mcp-server");
  CHECK(result.servers["github-local"]["args"] == Json::array({"stdio"}));
  CHECK(result.servers["github-local"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == "ghp_example");
  CHECK(result.servers["remote-docs"]["headers"]["Authorization"] == "Bearer // not a comment");
  CHECK(result.servers["off-for-now"]["disabled"] == true);
  CHECK(has_warning(result, "context_servers.mcp-server-context7: provided by a Zed extension"));
  CHECK_FALSE(has_warning(result, "github-local"));  // its empty settings mean nothing
  auto configured = import_servers(
      Editor::zed,
      parse_editor_text(R"({"context_servers": {"x": {"command": "y", "settings": {"k": 1}}}})"));
  CHECK(has_warning(configured, "context_servers.x: settings has no mcpbraid equivalent"));
  CHECK(load(result).servers.size() == 4);
}

TEST_CASE("names mcpbraid would refuse are changed, and two never become one") {
  auto doc = parse_editor_text(R"({"mcpServers": {
      "my server.v2": {"command": "a"}, "my-server-v2": {"command": "b"},
      "a__b": {"command": "c"}, "": {"command": "d"}}})");
  auto result = import_servers(Editor::cursor, doc);
  CHECK(result.servers["my-server-v2"]["command"] == "a");
  CHECK(result.servers["my-server-v2-2"]["command"] == "b");
  CHECK(result.servers["a_b"]["command"] == "c");
  CHECK(result.servers["server"]["command"] == "d");
  CHECK(has_warning(result, "mcpServers.my server.v2: named \"my-server-v2\""));
  CHECK(load(result).servers.size() == 4);
}

TEST_CASE("entries that cannot be converted are skipped, each with a reason") {
  auto doc = parse_editor_text(R"({"mcpServers": {
      "none": {"args": []}, "both": {"command": "a", "url": "https://x"},
      "bad-args": {"command": "a", "args": "one"}, "text": "x",
      "ok": {"command": "a", "env": {"PORT": 8080}, "alwaysAllow": ["t"]}}})");
  auto result = import_servers(Editor::claude_desktop, doc);
  CHECK(result.imported == std::vector<std::string>{"ok"});
  CHECK(result.servers["ok"]["env"]["PORT"] == "8080");
  CHECK(has_warning(result, "mcpServers.none: neither a command nor a url"));
  CHECK(has_warning(result, "mcpServers.both: both a command and a url"));
  CHECK(has_warning(result, "mcpServers.bad-args: args is not an array"));
  CHECK(has_warning(result, "mcpServers.text: not an object"));
  CHECK(has_warning(result, "mcpServers.ok: alwaysAllow has no mcpbraid equivalent"));
}

TEST_CASE("install adds one entry in the editor's shape and keeps everything else") {
  auto doc = parse_editor_text(sample("claude-code-user.json"));
  auto result = install_entry(Editor::claude_code, doc, request());
  CHECK(result.outcome == InstallResult::Outcome::added);
  CHECK(result.doc["mcpServers"]["mcpbraid"] ==
        Json::parse(R"({"type": "stdio", "command": "/usr/local/bin/mcpbraid",
                        "args": ["-c", "/home/me/.config/mcpbraid/config.json"]})"));
  CHECK(result.doc["numStartups"] == 42);
  CHECK(result.doc["projects"] == doc["projects"]);
  CHECK(result.doc["mcpServers"]["github"] == doc["mcpServers"]["github"]);
  // Key order is kept: an editor's file does not get reshuffled.
  CHECK(result.doc.begin().key() == "numStartups");
  REQUIRE(result.changes.size() == 1);
  CHECK(result.changes[0] ==
        "added mcpServers.mcpbraid: /usr/local/bin/mcpbraid -c "
        "/home/me/.config/mcpbraid/config.json");

  auto vscode = install_entry(Editor::vscode, parse_editor_text(sample("vscode.json")), request());
  CHECK(vscode.doc["servers"]["mcpbraid"]["type"] == "stdio");
  CHECK(vscode.doc["inputs"].size() == 2);
  auto zed = install_entry(Editor::zed, parse_editor_text(sample("zed-settings.json")), request());
  CHECK(zed.doc["context_servers"]["mcpbraid"]["env"] == Json::object());
  CHECK(zed.doc["theme"] == "One Dark");
  auto empty = install_entry(Editor::cursor, parse_editor_text(""), request());
  CHECK(empty.doc == Json::parse(R"({"mcpServers": {"mcpbraid": {"command":
      "/usr/local/bin/mcpbraid", "args": ["-c", "/home/me/.config/mcpbraid/config.json"]}}})"));
}

TEST_CASE("install twice: the second run changes nothing") {
  auto once =
      install_entry(Editor::windsurf, parse_editor_text(sample("windsurf.json")), request());
  auto twice = install_entry(Editor::windsurf, once.doc, request());
  CHECK(twice.outcome == InstallResult::Outcome::already_installed);
  CHECK(twice.changes.empty());
  CHECK(twice.doc == once.doc);
}

TEST_CASE("install updates an older mcpbraid entry, and refuses another server's name") {
  auto doc = parse_editor_text(R"({"mcpServers": {"mcpbraid": {"command": "/opt/mcpbraid",
      "args": ["-c", "/old.json"]}, "tools": {"command": "node", "args": ["x.js"]}}})");
  auto updated = install_entry(Editor::cursor, doc, request());
  CHECK(updated.outcome == InstallResult::Outcome::updated);
  CHECK(updated.doc["mcpServers"]["mcpbraid"]["command"] == "/usr/local/bin/mcpbraid");
  CHECK(updated.changes[0].find("updated mcpServers.mcpbraid: /opt/mcpbraid -> ") == 0);

  InstallRequest taken = request();
  taken.name = "tools";
  auto refused = install_entry(Editor::cursor, doc, taken);
  CHECK(refused.outcome == InstallResult::Outcome::name_taken);
  CHECK(refused.doc == doc);
  CHECK_THROWS_AS(
      install_entry(Editor::cursor, parse_editor_text(R"({"mcpServers": 1})"), request()),
      FormatError);
}

TEST_CASE("Zed's older entry shape counts as installed when it launches the same") {
  auto doc = parse_editor_text(R"({"context_servers": {"mcpbraid": {"command": {
      "path": "/usr/local/bin/mcpbraid", "args": ["-c", "/home/me/.config/mcpbraid/config.json"]}}}})");
  CHECK(install_entry(Editor::zed, doc, request()).outcome ==
        InstallResult::Outcome::already_installed);
}

TEST_CASE("moving: servers removed from the editor, merged into ours, clashes refused") {
  auto doc = parse_editor_text(sample("cursor.json"));
  auto rest = remove_servers(Editor::cursor, doc, {"browser", "sentry"});
  CHECK(rest["mcpServers"].size() == 1);
  CHECK(rest["mcpServers"].contains("stripe"));

  auto servers = import_servers(Editor::cursor, doc).servers;
  auto ours = parse_editor_text(R"({"separator": "__", "mcpServers": {"browser": {"command":
      "npx", "args": ["-y", "@playwright/mcp@latest", "--headless"]}}})");
  auto merged = merge_servers(ours, servers);
  CHECK(merged.clashes.empty());
  CHECK(merged.same == std::vector<std::string>{"browser"});
  CHECK(merged.added == std::vector<std::string>{"stripe", "sentry"});
  CHECK(merged.config["separator"] == "__");
  CHECK(merged.config["mcpServers"].size() == 3);

  auto different = parse_editor_text(R"({"servers": {"sentry": {"command": "other"}}})");
  auto clash = merge_servers(different, servers);
  CHECK(clash.clashes == std::vector<std::string>{"sentry"});
  CHECK(clash.config == different);
  auto into_servers = merge_servers(parse_editor_text(R"({"servers": {}})"), servers);
  CHECK(into_servers.config["servers"].size() == 3);
  CHECK_FALSE(into_servers.config.contains("mcpServers"));
}
