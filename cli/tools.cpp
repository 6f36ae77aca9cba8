#include "cli/tools.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>

#include "cli/gateway_client.hpp"
#include "core/config.hpp"
#include "core/trace.hpp"

namespace mcpbraid::cli {

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
// A description is cut here: one line per tool.
constexpr std::size_t kDescriptionWidth = 100;

int fail(const std::string& text) {
  std::fprintf(stderr, "mcpbraid tools: %s\n", text.c_str());
  return kExitUsage;
}

// A name given on the command line that is no server of the config.
std::string unknown_server(const Config& config, const std::vector<std::string>& wanted) {
  for (const auto& name : wanted) {
    auto same = [&name](const ServerConfig& s) { return s.name == name; };
    if (std::none_of(config.servers.begin(), config.servers.end(), same)) return name;
  }
  return "";
}

std::string server_list(const Config& config) {
  std::string names;
  for (const auto& server : config.servers) names += (names.empty() ? "" : ", ") + server.name;
  return names.empty() ? "none" : names;
}

std::string string_member(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The spec's title, else the older annotations.title.
std::string title_of(const json& tool) {
  std::string title = string_member(tool, "title");
  auto annotations = tool.find("annotations");
  if (title.empty() && annotations != tool.end() && annotations->is_object())
    title = string_member(*annotations, "title");
  return title;
}

// "name  Title: first line of the description", names in one column.
void print_lines(const json& tools) {
  std::size_t width = 0;
  for (const json& tool : tools) width = std::max(width, string_member(tool, "name").size());
  for (const json& tool : tools) {
    std::string name = string_member(tool, "name");
    std::string title = title_of(tool);
    std::string description = first_line(string_member(tool, "description"), kDescriptionWidth);
    std::string text = title.empty()         ? description
                       : description.empty() ? title
                                             : title + ": " + description;
    std::string line = name;
    if (!text.empty()) line += std::string(width - name.size() + 2, ' ') + text;
    std::printf("%s\n", line.c_str());
  }
}

class ToolsCommand {
 public:
  ToolsCommand(Config config, const ToolsOptions& options)
      : options_(options), client_(std::move(config)) {}

  int run() {
    client_.run([this] { begin(); });
    if (client_.interrupted()) {
      std::fprintf(stderr, "mcpbraid tools: interrupted\n");
      return 130;
    }
    return status_;
  }

 private:
  void begin() {
    client_.initialize([this](const json& response) {
      if (!response.contains("result")) {
        status_ = fail("initialize failed: " +
                       response.value("/error/message"_json_pointer, std::string("no result")));
        return client_.close();
      }
      client_.list_tools([this](json tools, std::string error) { finish(tools, error); });
    });
  }

  void finish(const json& tools, const std::string& error) {
    json shown = json::array();
    for (const json& tool : tools)
      if (wanted(string_member(tool, "name"))) shown.push_back(tool);
    if (options_.json)
      std::printf(
          "%s\n",
          json{{"tools", shown}}.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    else
      print_lines(shown);
    std::fflush(stdout);
    if (!error.empty()) {
      std::fprintf(stderr, "mcpbraid tools: tools/list failed: %s\n", error.c_str());
      status_ = kExitUsage;
    }
    report_failed_servers();
    client_.close();
  }

  bool wanted(const std::string& exposed) {
    if (options_.servers.empty()) return true;
    auto route = client_.gateway().catalog().tools.find(exposed);
    return route && selected(route->server);
  }

  bool selected(const std::string& server) const {
    const auto& names = options_.servers;
    return names.empty() || std::find(names.begin(), names.end(), server) != names.end();
  }

  // A server is fine when it is ready and its list came back.
  void report_failed_servers() {
    Gateway& gateway = client_.gateway();
    // Named on the command line, so worth a word; not a failure.
    for (const auto& server : gateway.config().servers)
      if (server.disabled && !options_.servers.empty() && selected(server.name))
        std::fprintf(stderr, "mcpbraid tools: server %s: disabled in the config\n",
                     server.name.c_str());
    for (auto& backend : gateway.backends()) {
      if (!selected(backend->name())) continue;
      std::string why;
      if (backend->state() != BackendState::ready)
        why = std::string(to_string(backend->state())) +
              (backend->last_error().empty() ? "" : ": " + backend->last_error());
      else if (const std::string& e = gateway.lists().error(*backend, ListKind::tools); !e.empty())
        why = "tools/list failed: " + e;
      if (why.empty()) {
        report_unlisted(*backend);
        continue;
      }
      std::fprintf(stderr, "mcpbraid tools: server %s: no tools (%s)\n", backend->name().c_str(),
                   why.c_str());
      if (status_ == 0) status_ = kExitFailed;
    }
  }

  // Not a failure, but a client would not see them either: say why.
  void report_unlisted(const Backend& backend) {
    ListSync& lists = client_.gateway().lists();
    const auto& items = lists.items(backend, ListKind::tools);
    if (!items) return;
    std::size_t unlisted = 0;
    for (std::size_t i = 0; i < items->size(); ++i)
      if (!lists.shown(backend, ListKind::tools, i)) ++unlisted;
    if (unlisted == 0) return;
    const char* why = backend.config().expose == Expose::search
                          ? "expose: search; gateway_search_tools finds them"
                          : "their names are kept by other servers";
    std::fprintf(stderr, "mcpbraid tools: server %s: %zu of its %zu tools are not listed (%s)\n",
                 backend.name().c_str(), unlisted, items->size(), why);
  }

  const ToolsOptions& options_;
  GatewayClient client_;
  int status_ = 0;
};

}  // namespace

void setup_tools(CLI::App& app, ToolsOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "Config file (default: $MCPBRAID_CONFIG, else "
                 "$XDG_CONFIG_HOME/mcpbraid/config.json, else ~/.config/mcpbraid/config.json)");
  app.add_flag("--json", options.json, "Print the whole tools/list result as JSON");
  app.add_option("SERVER", options.servers,
                 "Only these servers' tools (default: every tool, the gateway's own included)");
}

int run_tools(const ToolsOptions& options) {
  std::string path = resolve_config_path(options.config_path);
  Config config;
  try {
    config = load_config(path);
  } catch (const ConfigError& e) {
    return fail(e.what());
  }
  for (const auto& warning : config.warnings)
    trace::warn("config.warning").kv("file", path).kv("warning", warning);
  if (std::string name = unknown_server(config, options.servers); !name.empty())
    return fail("no server \"" + name + "\" in " + path + " (servers: " + server_list(config) +
                ")");
  ToolsCommand command(std::move(config), options);
  return command.run();
}

}  // namespace mcpbraid::cli
