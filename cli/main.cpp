// mcpbraid: one stdio MCP server in front of many.
// main only wires, parses and dispatches; each subcommand has its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/call.hpp"
#include "cli/health.hpp"
#include "cli/import.hpp"
#include "cli/install.hpp"
#include "cli/reload.hpp"
#include "cli/restart.hpp"
#include "cli/serve.hpp"
#include "cli/tools.hpp"
#include "core/trace.hpp"

namespace {

constexpr const char* kDescription =
    "mcpbraid: a stdio MCP multiplexer. Reads JSON-RPC on stdin, runs the MCP servers of the\n"
    "config as child processes and presents them as one server on stdout. Tools and prompts\n"
    "appear as <server>__<name>. Diagnostics go to stderr.";

}  // namespace

int main(int argc, char** argv) {
  using namespace mcpbraid;
  // Before anything can log: spdlog's default logger writes to stdout, which
  // belongs to the protocol.
  trace::init(trace::Level::info, trace::Format::text);

  CLI::App app{kDescription, "mcpbraid"};
  app.set_version_flag("-V,--version", std::string("mcpbraid ") + MCPBRAID_VERSION);
  std::string log_level;
  std::string log_format = "text";
  app.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error or off, optionally per component: "
                 "\"info,backend=debug,stderr=off\" (default: $MCPBRAID_LOG, else info; "
                 "warn for health, tools and call)");
  app.add_option("--log-format", log_format, "Trace line format: text or json")
      ->check(CLI::IsMember({"text", "json"}));

  cli::ServeOptions serve;
  cli::setup_serve(app, serve);  // `mcpbraid -c cfg.json` serves, as `mcpbraid serve -c cfg.json`
  CLI::App* serve_cmd = app.add_subcommand("serve", "Run the gateway on stdin/stdout (default)");
  cli::setup_serve(*serve_cmd, serve);
  cli::HealthOptions health;
  CLI::App* health_cmd = app.add_subcommand(
      "health", "Show the health of running instances (or --probe a config's servers)");
  cli::setup_health(*health_cmd, health);
  cli::RestartOptions restart;
  CLI::App* restart_cmd = app.add_subcommand(
      "restart", "Restart one server of a running instance now (a failed one too)");
  cli::setup_restart(*restart_cmd, restart);
  cli::ReloadOptions reload;
  CLI::App* reload_cmd =
      app.add_subcommand("reload", "Make a running instance read its config again (as SIGHUP)");
  cli::setup_reload(*reload_cmd, reload);
  cli::ImportOptions import;
  CLI::App* import_cmd = app.add_subcommand(
      "import", "Print an editor's MCP servers as an mcpbraid config (or --write it)");
  cli::setup_import(*import_cmd, import);
  cli::InstallOptions install;
  CLI::App* install_cmd = app.add_subcommand(
      "install", "Add an entry that launches mcpbraid to an editor's config (--move its servers)");
  cli::setup_install(*install_cmd, install);
  cli::ToolsOptions tools;
  CLI::App* tools_cmd =
      app.add_subcommand("tools", "Start the config's servers, list every tool, stop them");
  cli::setup_tools(*tools_cmd, tools);
  cli::CallOptions call;
  CLI::App* call_cmd = app.add_subcommand("call", "Call one tool through the config's servers");
  cli::setup_call(*call_cmd, call);
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print to stdout by CLI11's convention; nothing
    // else runs then. Usage errors exit 2, like a bad config.
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  const char* source = "--log-level";
  if (log_level.empty()) {
    const char* env = std::getenv("MCPBRAID_LOG");
    source = "MCPBRAID_LOG";
    // Every subcommand but serve is a terminal command: its own trace
    // lines are noise there.
    bool terminal = false;
    for (const CLI::App* sub : app.get_subcommands()) terminal |= sub != serve_cmd;
    log_level = env && *env ? env : terminal ? "warn" : "info";
  }
  std::string error;
  auto levels = trace::parse_level_spec(log_level, &error);
  if (!levels) {
    std::fprintf(stderr, "mcpbraid: %s: %s\n", source, error.c_str());
    return 2;
  }
  trace::init(*levels, *trace::parse_format(log_format));
  if (health_cmd->parsed()) return cli::run_health(health);
  if (restart_cmd->parsed()) return cli::run_restart(restart);
  if (reload_cmd->parsed()) return cli::run_reload(reload);
  if (import_cmd->parsed()) return cli::run_import(import);
  if (install_cmd->parsed()) return cli::run_install(install);
  if (tools_cmd->parsed()) return cli::run_tools(tools);
  if (call_cmd->parsed()) return cli::run_call(call);
  return cli::run_serve(serve);
}
