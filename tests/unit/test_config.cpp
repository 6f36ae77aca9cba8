// The configuration file: validation, messages, ${VAR} expansion, lookup order.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"

using mcpbraid::Config;
using mcpbraid::ConfigError;
using mcpbraid::EnvLookup;
using mcpbraid::Milliseconds;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

EnvLookup env_from(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const EnvLookup kNoEnv = env_from({});

// The message of the ConfigError that parse_config throws, or "(no error)".
std::string parse_error(const std::string& text, const EnvLookup& lookup = kNoEnv) {
  try {
    mcpbraid::parse_config(json::parse(text), "cfg.json", lookup);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

Config parse(const std::string& text, const EnvLookup& lookup = kNoEnv) {
  return mcpbraid::parse_config(json::parse(text), "cfg.json", lookup);
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("mcpbraid-unit-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& content) const {
    fs::path file = path_ / name;
    std::ofstream(file) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string load_error(const std::string& path) {
  try {
    mcpbraid::load_config(path, kNoEnv);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a minimal Claude Desktop config parses with defaults") {
  Config c = parse(R"({"mcpServers":{"fs":{"command":"npx","args":["-y","server-fs","/tmp"]}}})");
  CHECK(c.path == "cfg.json");
  REQUIRE(c.servers.size() == 1);
  CHECK(c.servers[0].name == "fs");
  CHECK(c.servers[0].command == "npx");
  CHECK(c.servers[0].args == std::vector<std::string>{"-y", "server-fs", "/tmp"});
  CHECK(c.servers[0].env.empty());
  CHECK(c.servers[0].cwd.empty());
  CHECK_FALSE(c.servers[0].disabled);
  CHECK(c.separator == "__");
  CHECK(c.initialize_timeout == Milliseconds(5000));
  CHECK(c.busy_poll == std::chrono::microseconds(50));
  CHECK(c.failsafe.timeout == Milliseconds(60000));
  CHECK(c.servers[0].failsafe.timeout == Milliseconds(60000));
  CHECK(c.warnings.empty());
}

TEST_CASE("servers come back sorted by name, disabled ones included") {
  Config c = parse(R"({"mcpServers":{
    "zeta":{"command":"z"},
    "alpha":{"command":"a","disabled":true},
    "mid":{"command":"m","disabled":false,"type":"stdio"}}})");
  REQUIRE(c.servers.size() == 3);
  CHECK(c.servers[0].name == "alpha");
  CHECK(c.servers[0].disabled);
  CHECK(c.servers[1].name == "mid");
  CHECK_FALSE(c.servers[1].disabled);
  CHECK(c.servers[2].name == "zeta");
}

TEST_CASE("env, cwd and timeouts are read from the file") {
  Config c = parse(R"({
    "separator": "-",
    "initialize_timeout": "2s",
    "failsafe": {"timeout": 90000},
    "mcpServers": {"gh": {"command": "gh-mcp", "cwd": "/srv",
                          "env": {"TOKEN": "t0k", "MODE": "ro"}}}})");
  CHECK(c.separator == "-");
  CHECK(c.initialize_timeout == Milliseconds(2000));
  CHECK(c.failsafe.timeout == Milliseconds(90000));
  CHECK(c.servers[0].failsafe.timeout == Milliseconds(90000));
  REQUIRE(c.servers.size() == 1);
  CHECK(c.servers[0].cwd == "/srv");
  using Env = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.servers[0].env == Env{{"MODE", "ro"}, {"TOKEN", "t0k"}});
}

TEST_CASE("a document that is not an object is refused") {
  CHECK(parse_error("[]") == "cfg.json: (top level): expected a JSON object, got array");
}

TEST_CASE("a config without mcpServers, or with the wrong type, is refused") {
  CHECK(parse_error("{}") == "cfg.json: mcpServers: missing (an object of server entries)");
  CHECK(parse_error(R"({"mcpServers":[]})") ==
        "cfg.json: mcpServers: expected an object of server entries, got array");
}

TEST_CASE("an empty mcpServers object is a valid config with no servers") {
  CHECK(parse(R"({"mcpServers":{}})").servers.empty());
}

TEST_CASE("a server without a command is refused with the key that is missing") {
  CHECK(parse_error(R"({"mcpServers":{"fs":{"args":[]}}})") ==
        "cfg.json: mcpServers.fs.command: missing (the program to run)");
}

TEST_CASE("an empty command, also after expansion, is refused") {
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":""}}})") ==
        "cfg.json: mcpServers.fs.command: must not be empty");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"${NOT_SET}"}}})") ==
        "cfg.json: mcpServers.fs.command: must not be empty");
}

TEST_CASE("a server entry that is not an object is refused") {
  CHECK(parse_error(R"({"mcpServers":{"fs":"npx server-fs"}})") ==
        "cfg.json: mcpServers.fs: expected an object, got string");
}

TEST_CASE("server names outside [A-Za-z0-9_-] are refused") {
  CHECK(parse_error(R"({"mcpServers":{"my server":{"command":"x"}}})") ==
        "cfg.json: mcpServers.my server: server names must match [A-Za-z0-9_-]+");
  CHECK(parse_error(R"({"mcpServers":{"a.b":{"command":"x"}}})") ==
        "cfg.json: mcpServers.a.b: server names must match [A-Za-z0-9_-]+");
  CHECK(parse_error(R"({"mcpServers":{"":{"command":"x"}}})") ==
        "cfg.json: mcpServers.: server names must match [A-Za-z0-9_-]+");
}

TEST_CASE("valid_server_name accepts letters, digits, '_' and '-' only") {
  CHECK(mcpbraid::valid_server_name("github"));
  CHECK(mcpbraid::valid_server_name("my-server_2"));
  CHECK_FALSE(mcpbraid::valid_server_name(""));
  CHECK_FALSE(mcpbraid::valid_server_name("a b"));
  CHECK_FALSE(mcpbraid::valid_server_name("a/b"));
  CHECK_FALSE(mcpbraid::valid_server_name("caf\xc3\xa9"));
}

TEST_CASE("a server name containing the separator is refused") {
  CHECK(parse_error(R"({"mcpServers":{"my__fs":{"command":"x"}}})") ==
        "cfg.json: mcpServers.my__fs: server name must not contain or end into the separator "
        "\"__\" (or give it a \"prefix\")");
  // With a custom separator the check follows it.
  CHECK(parse_error(R"({"separator":"-","mcpServers":{"my-fs":{"command":"x"}}})") ==
        "cfg.json: mcpServers.my-fs: server name must not contain or end into the separator \"-\" "
        "(or give it a \"prefix\")");
  CHECK(parse(R"({"separator":"-","mcpServers":{"my__fs":{"command":"x"}}})").servers.size() == 1);
}

TEST_CASE("a server name that runs into the separator is refused, so exposed names split once") {
  // "a_" + "__" + "b" and "a" + "__" + "_b" would both be "a___b".
  CHECK(parse_error(R"({"mcpServers":{"a_":{"command":"x"}}})") ==
        "cfg.json: mcpServers.a_: server name must not contain or end into the separator \"__\" "
        "(or give it a \"prefix\")");
  CHECK(parse(R"({"mcpServers":{"_a":{"command":"x"}}})").servers.size() == 1);
  CHECK(parse(R"({"separator":".","mcpServers":{"a_":{"command":"x"}}})").servers.size() == 1);
}

TEST_CASE("a separator must be 1 to 4 characters from _ - .") {
  const std::string expected =
      "cfg.json: separator: expected 1 to 4 characters from \"_\", \"-\", \".\"";
  CHECK(parse_error(R"({"separator":"","mcpServers":{}})") == expected);
  CHECK(parse_error(R"({"separator":"_____","mcpServers":{}})") == expected);
  CHECK(parse_error(R"({"separator":"::","mcpServers":{}})") == expected);
  CHECK(parse_error(R"({"separator":1,"mcpServers":{}})") ==
        "cfg.json: separator: expected a string, got number");
  CHECK(parse(R"({"separator":"._-","mcpServers":{}})").separator == "._-");
}

TEST_CASE("args must be an array of strings") {
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","args":"-y pkg"}}})") ==
        "cfg.json: mcpServers.s.args: expected an array of strings");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","args":["ok",3]}}})") ==
        "cfg.json: mcpServers.s.args[1]: expected a string, got number");
}

TEST_CASE("env must be an object of strings") {
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","env":["A=1"]}}})") ==
        "cfg.json: mcpServers.s.env: expected an object of strings");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","env":{"PORT":8080}}}})") ==
        "cfg.json: mcpServers.s.env.PORT: expected a string, got number");
}

TEST_CASE("cwd must be a string and disabled a boolean") {
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","cwd":["/tmp"]}}})") ==
        "cfg.json: mcpServers.s.cwd: expected a string, got array");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","disabled":"yes"}}})") ==
        "cfg.json: mcpServers.s.disabled: expected true or false");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","disabled":1}}})") ==
        "cfg.json: mcpServers.s.disabled: expected true or false");
}

TEST_CASE("inherit_env: true by default; a top-level default each server may override") {
  Config plain = parse(R"({"mcpServers":{"s":{"command":"x"}}})");
  CHECK(plain.inherit_env);
  CHECK(plain.servers[0].inherit_env);

  Config c = parse(R"({"inherit_env":false,"mcpServers":{
    "a":{"command":"x"},
    "b":{"command":"x","inherit_env":true},
    "c":{"command":"x","inherit_env":false}}})");
  CHECK_FALSE(c.inherit_env);
  CHECK_FALSE(c.servers[0].inherit_env);
  CHECK(c.servers[1].inherit_env);
  CHECK_FALSE(c.servers[2].inherit_env);
  CHECK(c.warnings.empty());

  Config one =
      parse(R"({"mcpServers":{"a":{"command":"x","inherit_env":false},"b":{"command":"x"}}})");
  CHECK_FALSE(one.servers[0].inherit_env);
  CHECK(one.servers[1].inherit_env);
}

TEST_CASE("inherit_env must be a boolean, at the top level and per server") {
  CHECK(parse_error(R"({"inherit_env":"no","mcpServers":{}})") ==
        "cfg.json: inherit_env: expected true or false");
  CHECK(parse_error(R"({"inherit_env":0,"mcpServers":{}})") ==
        "cfg.json: inherit_env: expected true or false");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","inherit_env":"false"}}})") ==
        "cfg.json: mcpServers.s.inherit_env: expected true or false");
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","inherit_env":null}}})") ==
        "cfg.json: mcpServers.s.inherit_env: expected true or false");
}

TEST_CASE("inherit_env on a remote server is accepted with a warning; the top-level one silently") {
  Config c = parse(R"({"mcpServers":{"r":{"url":"https://h/mcp","inherit_env":false}}})");
  CHECK(c.warnings == std::vector<std::string>{
                          "mcpServers.r.inherit_env: ignored: a remote server runs no process"});
  CHECK(parse_error(R"({"mcpServers":{"r":{"url":"https://h/mcp","inherit_env":1}}})") ==
        "cfg.json: mcpServers.r.inherit_env: expected true or false");
  CHECK(parse(R"({"inherit_env":false,"mcpServers":{"r":{"url":"https://h/mcp"}}})")
            .warnings.empty());
}

TEST_CASE("one server's env is expanded from our environment, never from another server's env") {
  EnvLookup env = env_from({{"TOKEN", "ours"}});
  Config c = parse(R"({"mcpServers":{
    "a":{"command":"x","env":{"TOKEN":"a-secret","ONLY_A":"1"}},
    "b":{"command":"x","env":{"GOT":"${TOKEN}","GOT_A":"${ONLY_A:-unset}"}}}})",
                   env);
  using Env = std::vector<std::pair<std::string, std::string>>;
  CHECK(c.servers[0].env == Env{{"ONLY_A", "1"}, {"TOKEN", "a-secret"}});
  CHECK(c.servers[1].env == Env{{"GOT", "ours"}, {"GOT_A", "unset"}});
}

TEST_CASE("a command that is not a string is refused") {
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":["npx"]}}})") ==
        "cfg.json: mcpServers.s.command: expected a string, got array");
}

TEST_CASE("busy_poll_us: an integer of microseconds from 0 to 10000") {
  CHECK(parse(R"({"busy_poll_us":0,"mcpServers":{}})").busy_poll == std::chrono::microseconds(0));
  CHECK(parse(R"({"busy_poll_us":200,"mcpServers":{}})").busy_poll ==
        std::chrono::microseconds(200));
  CHECK(parse(R"({"busy_poll_us":200,"mcpServers":{}})").warnings.empty());
  const std::string hint = ": expected an integer from 0 to 10000";
  CHECK(parse_error(R"({"busy_poll_us":-1,"mcpServers":{}})") == "cfg.json: busy_poll_us" + hint);
  CHECK(parse_error(R"({"busy_poll_us":10001,"mcpServers":{}})") ==
        "cfg.json: busy_poll_us" + hint);
  CHECK(parse_error(R"({"busy_poll_us":"50us","mcpServers":{}})") ==
        "cfg.json: busy_poll_us" + hint);
}

TEST_CASE("a remote type with a command is refused") {
  CHECK(parse_error(R"({"mcpServers":{"s":{"type":"sse","command":"x"}}})") ==
        "cfg.json: mcpServers.s.type: \"sse\" servers take a \"url\", not a \"command\"");
}

TEST_CASE("timeouts must be positive durations") {
  const std::string hint =
      ": expected a positive duration like \"250ms\", \"30s\", \"2m\" or milliseconds";
  CHECK(parse_error(R"({"failsafe":{"timeout":"0s"},"mcpServers":{}})") ==
        "cfg.json: failsafe.timeout" + hint);
  CHECK(parse_error(R"({"initialize_timeout":-5,"mcpServers":{}})") ==
        "cfg.json: initialize_timeout" + hint);
  CHECK(parse_error(R"({"initialize_timeout":"soon","mcpServers":{}})") ==
        "cfg.json: initialize_timeout" + hint);
}

TEST_CASE("unknown top-level and server keys become warnings, not errors") {
  Config c = parse(R"({"logLevel":"debug","$schema":"x",
                       "mcpServers":{"s":{"command":"x","autoApprove":[]}}})");
  CHECK(c.warnings == std::vector<std::string>{"$schema: unknown top-level key ignored",
                                               "logLevel: unknown top-level key ignored",
                                               "mcpServers.s.autoApprove: unknown key ignored"});
  CHECK(c.servers.size() == 1);
}

TEST_CASE("${VAR} expands from the injected environment") {
  auto env = env_from({{"HOME", "/home/ada"}, {"TOKEN", "s3cret"}});
  CHECK(mcpbraid::expand_env("${HOME}/data", env) == "/home/ada/data");
  CHECK(mcpbraid::expand_env("a${TOKEN}b${TOKEN}", env) == "as3cretbs3cret");
  CHECK(mcpbraid::expand_env("no variables", env) == "no variables");
  CHECK(mcpbraid::expand_env("", env) == "");
}

TEST_CASE("an unset ${VAR} expands to empty, ${VAR:-default} to the default") {
  auto env = env_from({{"SET", "value"}, {"EMPTY", ""}});
  CHECK(mcpbraid::expand_env("[${MISSING}]", env) == "[]");
  CHECK(mcpbraid::expand_env("${MISSING:-fallback}", env) == "fallback");
  CHECK(mcpbraid::expand_env("${SET:-fallback}", env) == "value");
  CHECK(mcpbraid::expand_env("${EMPTY:-fallback}", env) == "fallback");
  CHECK(mcpbraid::expand_env("[${EMPTY}]", env) == "[]");
  CHECK(mcpbraid::expand_env("${MISSING:-}", env) == "");
  CHECK(mcpbraid::expand_env("${MISSING:-a:-b}", env) == "a:-b");
}

TEST_CASE("dollar signs that do not open ${ are kept literally") {
  auto env = env_from({{"HOME", "/home/ada"}});
  CHECK(mcpbraid::expand_env("$HOME", env) == "$HOME");
  CHECK(mcpbraid::expand_env("cost: 5$", env) == "cost: 5$");
  CHECK(mcpbraid::expand_env("$$ {HOME}", env) == "$$ {HOME}");
}

TEST_CASE("an unterminated ${ is a config error") {
  CHECK_THROWS_WITH_AS(mcpbraid::expand_env("${HOME", kNoEnv), "unterminated \"${\" in \"${HOME\"",
                       ConfigError);
  CHECK(parse_error(R"({"mcpServers":{"s":{"command":"x","args":["${HOME"]}}})") ==
        "cfg.json: mcpServers.s: unterminated \"${\" in \"${HOME\"");
}

TEST_CASE("command, args, env values and cwd are expanded; env names are not") {
  auto env = env_from({{"BIN", "/opt/bin"}, {"TOKEN", "abc"}, {"WORK", "/work"}});
  Config c = parse(R"({"mcpServers":{"s":{
      "command":"${BIN}/server",
      "args":["--token=${TOKEN}","${UNSET:-dflt}"],
      "env":{"${TOKEN}":"${TOKEN}"},
      "cwd":"${WORK}/s"}}})",
                   env);
  REQUIRE(c.servers.size() == 1);
  const auto& s = c.servers[0];
  CHECK(s.command == "/opt/bin/server");
  CHECK(s.args == std::vector<std::string>{"--token=abc", "dflt"});
  REQUIRE(s.env.size() == 1);
  CHECK(s.env[0].first == "${TOKEN}");
  CHECK(s.env[0].second == "abc");
  CHECK(s.cwd == "/work/s");
}

TEST_CASE("parse_duration reads units and plain milliseconds") {
  CHECK(mcpbraid::parse_duration(json("250ms")) == Milliseconds(250));
  CHECK(mcpbraid::parse_duration(json("30s")) == Milliseconds(30000));
  CHECK(mcpbraid::parse_duration(json("2m")) == Milliseconds(120000));
  CHECK(mcpbraid::parse_duration(json("1h")) == Milliseconds(3600000));
  CHECK(mcpbraid::parse_duration(json("1500")) == Milliseconds(1500));
  CHECK(mcpbraid::parse_duration(json(1500)) == Milliseconds(1500));
  CHECK(mcpbraid::parse_duration(json(0)) == Milliseconds(0));
}

TEST_CASE("parse_duration rejects what it cannot read") {
  for (const json& bad : {json(-1), json(1.5), json("1.5s"), json(""), json("s"), json(" 5s"),
                          json("5 s"), json("5S"), json("5min"), json("-5s"), json("1234567890123"),
                          json(nullptr), json(true), json::array()}) {
    CAPTURE(bad.dump());
    CHECK_FALSE(mcpbraid::parse_duration(bad).has_value());
  }
}

TEST_CASE("load_config reads and validates a file") {
  TempDir dir;
  std::string path = dir.write("config.json", R"({"mcpServers":{"echo":{"command":"/bin/cat"}}})");
  Config c = mcpbraid::load_config(path, kNoEnv);
  CHECK(c.path == path);
  REQUIRE(c.servers.size() == 1);
  CHECK(c.servers[0].command == "/bin/cat");
}

TEST_CASE("load_config names the file when it cannot be read") {
  TempDir dir;
  std::string missing = (dir.path() / "nope.json").string();
  CHECK(load_error(missing) == missing + ": cannot read the config file");
}

TEST_CASE("load_config says a directory cannot be read, not that it is invalid JSON") {
  TempDir dir;
  std::string path = dir.path().string();
  CHECK(load_error(path) == path + ": cannot read the config file (it is a directory)");
}

TEST_CASE("load_config reports invalid JSON with the file name and position") {
  TempDir dir;
  std::string path = dir.write("bad.json", "{\n  \"mcpServers\": {,}\n}\n");
  std::string message = load_error(path);
  CHECK(message.rfind(path + ": invalid JSON: ", 0) == 0);
  CHECK(message.find("line 2") != std::string::npos);
}

TEST_CASE("load_config reports validation errors with the file name") {
  TempDir dir;
  std::string path = dir.write("nocmd.json", R"({"mcpServers":{"fs":{"args":[]}}})");
  CHECK(load_error(path) == path + ": mcpServers.fs.command: missing (the program to run)");
}

TEST_CASE("an empty config file is invalid JSON") {
  TempDir dir;
  std::string path = dir.write("empty.json", "");
  CHECK(load_error(path).rfind(path + ": invalid JSON: ", 0) == 0);
}

TEST_CASE("the --config flag wins over every environment variable") {
  auto env = env_from(
      {{"MCPBRAID_CONFIG", "/env.json"}, {"XDG_CONFIG_HOME", "/xdg"}, {"HOME", "/home/ada"}});
  CHECK(mcpbraid::resolve_config_path("flag.json", env) == "flag.json");
}

TEST_CASE("without a flag, $MCPBRAID_CONFIG then $XDG_CONFIG_HOME then ~/.config are used") {
  CHECK(mcpbraid::resolve_config_path("", env_from({{"MCPBRAID_CONFIG", "/env.json"},
                                                    {"XDG_CONFIG_HOME", "/xdg"},
                                                    {"HOME", "/home/ada"}})) == "/env.json");
  CHECK(mcpbraid::resolve_config_path(
            "", env_from({{"XDG_CONFIG_HOME", "/xdg"}, {"HOME", "/home/ada"}})) ==
        "/xdg/mcpbraid/config.json");
  CHECK(mcpbraid::resolve_config_path("", env_from({{"HOME", "/home/ada"}})) ==
        "/home/ada/.config/mcpbraid/config.json");
}

TEST_CASE("empty environment variables are skipped when resolving the config path") {
  CHECK(mcpbraid::resolve_config_path(
            "",
            env_from({{"MCPBRAID_CONFIG", ""}, {"XDG_CONFIG_HOME", ""}, {"HOME", "/home/ada"}})) ==
        "/home/ada/.config/mcpbraid/config.json");
  CHECK(mcpbraid::resolve_config_path(
            "", env_from({{"MCPBRAID_CONFIG", ""}, {"XDG_CONFIG_HOME", "/xdg"}})) ==
        "/xdg/mcpbraid/config.json");
}

TEST_CASE("limits: max_line, max_json_depth, max_output_queue default and parse") {
  Config d = parse(R"({"mcpServers":{"a":{"command":"x"}}})");
  CHECK(d.max_line == 64u * 1024 * 1024);
  CHECK(d.max_json_depth == 128);
  CHECK(d.max_output_queue == 16u * 1024 * 1024);
  CHECK(d.servers[0].max_line == d.max_line);
  Config c = parse(R"({"max_line":"1MiB","max_json_depth":32,"max_output_queue":65536,)"
                   R"("mcpServers":{"a":{"command":"x"}}})");
  CHECK(c.max_line == 1024u * 1024);
  CHECK(c.max_json_depth == 32);
  CHECK(c.max_output_queue == 65536u);
  CHECK(c.servers[0].max_line == 1024u * 1024);
  CHECK(c.servers[0].max_json_depth == 32);
  CHECK(c.warnings.empty());
}

TEST_CASE("limits: wrong types and out-of-range values are errors naming the key") {
  CHECK(parse_error(R"({"max_line":"64 MiB","mcpServers":{}})")
            .rfind("cfg.json: max_line: expected a size", 0) == 0);
  CHECK(parse_error(R"({"max_line":100,"mcpServers":{}})").rfind("cfg.json: max_line:", 0) == 0);
  CHECK(parse_error(R"({"max_line":"2GiB","mcpServers":{}})").rfind("cfg.json: max_line:", 0) == 0);
  CHECK(parse_error(R"({"max_line":-5,"mcpServers":{}})").rfind("cfg.json: max_line:", 0) == 0);
  CHECK(parse_error(R"({"max_output_queue":1.5,"mcpServers":{}})")
            .rfind("cfg.json: max_output_queue:", 0) == 0);
  CHECK(parse_error(R"({"max_json_depth":7,"mcpServers":{}})")
            .rfind("cfg.json: max_json_depth:", 0) == 0);
  CHECK(parse_error(R"({"max_json_depth":1025,"mcpServers":{}})")
            .rfind("cfg.json: max_json_depth:", 0) == 0);
  CHECK(parse_error(R"({"max_json_depth":"128","mcpServers":{}})")
            .rfind("cfg.json: max_json_depth:", 0) == 0);
}

TEST_CASE("parse_size: bytes or binary units") {
  CHECK(mcpbraid::parse_size(json(4096)) == 4096u);
  CHECK(mcpbraid::parse_size(json("512KiB")) == 512u * 1024);
  CHECK(mcpbraid::parse_size(json("512KB")) == 512u * 1024);
  CHECK(mcpbraid::parse_size(json("3GiB")) == 3ull << 30);
  CHECK(mcpbraid::parse_size(json("10B")) == 10u);
  CHECK(mcpbraid::parse_size(json("10")) == 10u);
  CHECK_FALSE(mcpbraid::parse_size(json("MiB")));
  CHECK_FALSE(mcpbraid::parse_size(json("1TiB")));
  // Found by fuzz_config: a shift that wraps around is no size.
  CHECK_FALSE(mcpbraid::parse_size(json("999999999999GiB")));
  CHECK_FALSE(mcpbraid::parse_size(json("17179869184GiB")));  // 2^64: wraps to 0
  CHECK(mcpbraid::parse_size(json("17179869183GiB")) == 17179869183ull << 30);
  CHECK_FALSE(mcpbraid::parse_size(json(-1)));
  CHECK_FALSE(mcpbraid::parse_size(json(true)));
}

TEST_CASE("parse_config_text: deep nesting and invalid JSON are config errors, not crashes") {
  std::string deep =
      R"({"x":)" + std::string(500000, '[') + std::string(500000, ']') + R"(,"mcpServers":{}})";
  try {
    mcpbraid::parse_config_text(deep, "deep.json", kNoEnv);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("deep.json: invalid JSON: nested deeper than") == 0);
  }
  try {
    mcpbraid::parse_config_text("{\"mcpServers\":", "cut.json", kNoEnv);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).rfind("cut.json: invalid JSON: ", 0) == 0);
  }
  // Found by fuzz_config: nlohmann stops at a NUL, so junk after one was accepted.
  std::string nul = std::string(R"({"mcpServers":{}})") + '\0' + " not json";
  CHECK_THROWS_AS(mcpbraid::parse_config_text(nul, "nul.json", kNoEnv), ConfigError);
  Config ok =
      mcpbraid::parse_config_text(R"({"mcpServers":{"a":{"command":"x"}}})", "ok.json", kNoEnv);
  CHECK(ok.servers.size() == 1);
}

// ---- Remote servers: type, url / serverUrl, headers; the `servers` alias ----

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;
using mcpbraid::TransportType;

// One server entry under mcpServers.s.
std::string one(const std::string& entry) {
  return R"({"mcpServers":{"s":)" + entry + "}}";
}

}  // namespace

TEST_CASE("remote: a pasted Claude Code http entry with a ${VAR} header loads") {
  Config c = parse(R"({"mcpServers":{"github":{"type":"http",
      "url":"https://api.githubcopilot.com/mcp/",
      "headers":{"Authorization":"Bearer ${GITHUB_TOKEN}"}}}})",
                   env_from({{"GITHUB_TOKEN", "ghp_s3cret"}}));
  REQUIRE(c.servers.size() == 1);
  const auto& s = c.servers[0];
  CHECK(s.name == "github");
  CHECK(s.type == TransportType::http);
  CHECK(s.url == "https://api.githubcopilot.com/mcp/");
  CHECK(s.headers == Headers{{"Authorization", "Bearer ghp_s3cret"}});
  CHECK(s.command.empty());
  CHECK(s.args.empty());
  CHECK(s.env.empty());
  CHECK(s.failsafe.timeout == Milliseconds(60000));
  CHECK(c.warnings.empty());
}

TEST_CASE("remote: sse, url without type, and Windsurf's serverUrl") {
  Config c = parse(R"({"mcpServers":{
      "linear":{"type":"sse","url":"https://mcp.linear.app/sse"},
      "docs":{"url":"https://docs.example.com/mcp"},
      "wind":{"serverUrl":"http://127.0.0.1:3001/mcp"}}})");
  REQUIRE(c.servers.size() == 3);
  CHECK(c.servers[0].name == "docs");
  CHECK(c.servers[0].type == TransportType::http_or_sse);
  CHECK(c.servers[0].url == "https://docs.example.com/mcp");
  CHECK(c.servers[0].headers.empty());
  CHECK(c.servers[1].name == "linear");
  CHECK(c.servers[1].type == TransportType::sse);
  CHECK(c.servers[1].url == "https://mcp.linear.app/sse");
  CHECK(c.servers[2].name == "wind");
  CHECK(c.servers[2].type == TransportType::http_or_sse);
  CHECK(c.servers[2].url == "http://127.0.0.1:3001/mcp");
  CHECK(c.warnings.empty());
}

TEST_CASE("remote: every accepted type value and what it means") {
  CHECK(parse(one(R"({"type":"http","url":"http://h/"})")).servers[0].type == TransportType::http);
  CHECK(parse(one(R"({"type":"streamable-http","url":"http://h/"})")).servers[0].type ==
        TransportType::http);
  CHECK(parse(one(R"({"type":"streamableHttp","url":"http://h/"})")).servers[0].type ==
        TransportType::http);
  CHECK(parse(one(R"({"type":"sse","url":"http://h/"})")).servers[0].type == TransportType::sse);
  CHECK(parse(one(R"({"type":"stdio","command":"x"})")).servers[0].type == TransportType::stdio);
  CHECK(parse(one(R"({"command":"x"})")).servers[0].type == TransportType::stdio);
  CHECK(std::string(mcpbraid::to_string(TransportType::http_or_sse)) == "http-or-sse");
}

TEST_CASE("remote: an unknown type is an error listing the accepted values") {
  const std::string expected =
      "; expected \"stdio\", \"http\" (also \"streamable-http\", \"streamableHttp\") or \"sse\"";
  CHECK(parse_error(one(R"({"type":"websocket","url":"wss://h/"})")) ==
        "cfg.json: mcpServers.s.type: unknown type \"websocket\"" + expected);
  CHECK(parse_error(one(R"({"type":"HTTP","url":"http://h/"})")) ==
        "cfg.json: mcpServers.s.type: unknown type \"HTTP\"" + expected);
  CHECK(parse_error(one(R"({"type":"","command":"x"})")) ==
        "cfg.json: mcpServers.s.type: unknown type \"\"" + expected);
  CHECK(parse_error(one(R"({"type":1,"url":"http://h/"})")) ==
        "cfg.json: mcpServers.s.type: expected a string, got number");
}

TEST_CASE("remote: type and the kind of entry must agree") {
  CHECK(parse_error(one(R"({"type":"stdio","url":"http://h/"})")) ==
        "cfg.json: mcpServers.s.type: \"stdio\" servers run a \"command\"; for \"url\" use "
        "\"http\" or \"sse\" (or leave \"type\" out)");
  CHECK(parse_error(one(R"({"type":"stdio","serverUrl":"http://h/"})")) ==
        "cfg.json: mcpServers.s.type: \"stdio\" servers run a \"command\"; for \"serverUrl\" use "
        "\"http\" or \"sse\" (or leave \"type\" out)");
  CHECK(parse_error(one(R"({"type":"http","command":"x"})")) ==
        "cfg.json: mcpServers.s.type: \"http\" servers take a \"url\", not a \"command\"");
  CHECK(parse_error(one(R"({"type":"streamableHttp","command":"x"})")) ==
        "cfg.json: mcpServers.s.type: \"streamableHttp\" servers take a \"url\", not a "
        "\"command\"");
  CHECK(parse_error(one(R"({"type":"http"})")) ==
        "cfg.json: mcpServers.s.url: missing (the server's http:// or https:// URL)");
  CHECK(parse_error(one(R"({"type":"sse","headers":{}})")) ==
        "cfg.json: mcpServers.s.url: missing (the server's http:// or https:// URL)");
}

TEST_CASE("remote: command with url, url with serverUrl, and neither are errors") {
  CHECK(parse_error(one(R"({"command":"x","url":"http://h/"})")) ==
        "cfg.json: mcpServers.s: has both \"command\" and \"url\"; a server is either a program "
        "to run or a remote URL");
  CHECK(parse_error(one(R"({"command":"x","serverUrl":"http://h/"})")) ==
        "cfg.json: mcpServers.s: has both \"command\" and \"serverUrl\"; a server is either a "
        "program to run or a remote URL");
  CHECK(parse_error(one(R"({"url":"http://h/","serverUrl":"http://h/"})")) ==
        "cfg.json: mcpServers.s.serverUrl: given together with \"url\" (it is an alias); give one");
  CHECK(parse_error(one("{}")) ==
        "cfg.json: mcpServers.s: needs \"command\" (a program to run) or \"url\" (a remote "
        "http:// or https:// server)");
  CHECK(parse_error(one(R"({"disabled":true})")) ==
        "cfg.json: mcpServers.s: needs \"command\" (a program to run) or \"url\" (a remote "
        "http:// or https:// server)");
  // An entry that is stdio-shaped keeps the old message.
  CHECK(parse_error(one(R"({"type":"stdio"})")) ==
        "cfg.json: mcpServers.s.command: missing (the program to run)");
  CHECK(parse_error(one(R"({"env":{}})")) ==
        "cfg.json: mcpServers.s.command: missing (the program to run)");
}

TEST_CASE("remote: url is ${VAR}-expanded and then must be an http(s) URL") {
  Config c = parse(one(R"({"url":"${BASE}/mcp?tenant=${TENANT:-main}"})"),
                   env_from({{"BASE", "https://mcp.example.com:8443"}}));
  CHECK(c.servers[0].url == "https://mcp.example.com:8443/mcp?tenant=main");
  const std::string key = "cfg.json: mcpServers.s.url: ";
  CHECK(parse_error(one(R"({"url":"ftp://h/"})")) ==
        key + "not an http:// or https:// URL: scheme must be http or https");
  CHECK(parse_error(one(R"({"url":"ws://localhost:3000/"})")) ==
        key + "not an http:// or https:// URL: scheme must be http or https");
  CHECK(parse_error(one(R"({"url":"localhost:3000/mcp"})")) ==
        key + "not an http:// or https:// URL: scheme must be http or https");
  CHECK(parse_error(one(R"({"url":"docs.example.com/mcp"})")) ==
        key + "not an http:// or https:// URL: missing scheme (expected http:// or https://)");
  CHECK(parse_error(one(R"({"url":"https:///mcp"})")) ==
        key + "not an http:// or https:// URL: missing host");
  CHECK(parse_error(one(R"({"url":"https://h:70000/mcp"})")) ==
        key + "not an http:// or https:// URL: bad port");
  CHECK(parse_error(one(R"({"url":"https://h/a b"})")) ==
        key + "not an http:// or https:// URL: contains a space or control character");
  CHECK(parse_error(one(R"({"url":"${HOST}/mcp"})")) ==
        key + "not an http:// or https:// URL: missing scheme (expected http:// or https://)");
  CHECK(parse_error(one(R"({"url":""})")) == key + "must not be empty");
  CHECK(parse_error(one(R"({"url":"${UNSET}"})")) == key + "must not be empty");
  CHECK(parse_error(one(R"({"url":"${BASE"})")) == key + "unterminated \"${\"");
  CHECK(parse_error(one(R"({"url":["https://h/"]})")) == key + "expected a string, got array");
  CHECK(parse_error(one(R"({"serverUrl":"mailto:a@b"})")) ==
        "cfg.json: mcpServers.s.serverUrl: not an http:// or https:// URL: scheme must be http or "
        "https");
}

TEST_CASE("remote: a URL's secrets are not echoed in its errors") {
  auto env = env_from({{"TOKEN", "tok-s3cret"}});
  for (const char* entry :
       {R"({"url":"https://user:tok-s3cret@h:0/"})", R"({"url":"https://h/${TOKEN} x"})",
        R"({"url":"ftp://h/?k=tok-s3cret"})", R"({"url":"https://h/?k=tok-s3cret&${X"})"}) {
    std::string message = parse_error(one(entry), env);
    CAPTURE(message);
    CHECK(message.rfind("cfg.json: mcpServers.s.url: ", 0) == 0);
    CHECK(message.find("s3cret") == std::string::npos);
  }
}

TEST_CASE("remote: stdio-only keys on a remote server are errors naming the key") {
  CHECK(
      parse_error(one(R"({"url":"http://h/","args":["--x"]})")) ==
      "cfg.json: mcpServers.s.args: only stdio servers (with \"command\") take \"args\"; this one "
      "is remote (\"url\")");
  CHECK(parse_error(one(R"({"type":"sse","url":"http://h/","env":{"A":"1"}})")) ==
        "cfg.json: mcpServers.s.env: only stdio servers (with \"command\") take \"env\"; this one "
        "is remote (\"url\")");
  CHECK(parse_error(one(R"({"serverUrl":"http://h/","cwd":"/tmp"})")) ==
        "cfg.json: mcpServers.s.cwd: only stdio servers (with \"command\") take \"cwd\"; this one "
        "is remote (\"serverUrl\")");
}

TEST_CASE("remote: disabled, failsafe and restart apply to remote servers too") {
  Config c = parse(one(R"({"url":"http://h/","disabled":true,"failsafe":{"timeout":"5s"},
                           "restart":{"max_restarts":3}})"));
  CHECK(c.servers[0].disabled);
  CHECK(c.servers[0].failsafe.timeout == Milliseconds(5000));
  CHECK(c.servers[0].restart.max_restarts == 3);
  CHECK(parse_error(one(R"({"url":"http://h/","disabled":"no"})")) ==
        "cfg.json: mcpServers.s.disabled: expected true or false");
}

TEST_CASE("headers: values are ${VAR}-expanded, names kept literally and in order") {
  Config c = parse(one(R"({"url":"https://h/mcp","headers":{
      "X-Api-Key":"${KEY}","Authorization":"Bearer ${TOKEN:-anon}",
      "X-Tab":"a\tb","X-Empty":"","x-custom_!#$%&'*+-.^`|~1":"v"}})"),
                   env_from({{"KEY", "k-123"}}));
  CHECK(c.servers[0].headers == Headers{{"Authorization", "Bearer anon"},
                                        {"X-Api-Key", "k-123"},
                                        {"X-Empty", ""},
                                        {"X-Tab", "a\tb"},
                                        {"x-custom_!#$%&'*+-.^`|~1", "v"}});
  CHECK(c.warnings.empty());
}

TEST_CASE("headers: wrong shapes and bad names are errors naming the key") {
  CHECK(parse_error(one(R"({"url":"http://h/","headers":["Authorization: x"]})")) ==
        "cfg.json: mcpServers.s.headers: expected an object of strings");
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-Port":8080}})")) ==
        "cfg.json: mcpServers.s.headers.X-Port: expected a string, got number");
  const std::string token = "...\" is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~ only)";
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X Api":"v"}})")) ==
        "cfg.json: mcpServers.s.headers: the header name \"X" + token);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-${NAME}":"v"}})"),
                    env_from({{"NAME", "Key"}})) ==
        "cfg.json: mcpServers.s.headers: the header name \"X-$" + token);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"":"v"}})")) ==
        "cfg.json: mcpServers.s.headers: a header name must not be empty");
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A\u0000":"v"}})")) ==
        "cfg.json: mcpServers.s.headers: the header name \"X-A" + token);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"Caf\u00e9":"v"}})")) ==
        "cfg.json: mcpServers.s.headers: the header name \"Caf" + token);
  CHECK(parse_error(
            one(R"({"url":"http://h/","headers":{"Authorization":"a","authorization":"b"}})")) ==
        "cfg.json: mcpServers.s.headers.authorization: given twice (header names are "
        "case-insensitive)");
}

TEST_CASE("headers: values with CR, LF, NUL or other control characters are refused") {
  const std::string hidden =
      ": the value contains CR, LF, NUL or another control character (not shown: header values "
      "are secret)";
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A":"v\r\nHost: evil"}})")) ==
        "cfg.json: mcpServers.s.headers.X-A" + hidden);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A":"v\u0000"}})")) ==
        "cfg.json: mcpServers.s.headers.X-A" + hidden);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A":"v\u007f"}})")) ==
        "cfg.json: mcpServers.s.headers.X-A" + hidden);
  // Also when the newline comes from the environment.
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A":"Bearer ${T}"}})"),
                    env_from({{"T", "abc\nX-Evil: 1"}})) ==
        "cfg.json: mcpServers.s.headers.X-A" + hidden);
  CHECK(parse_error(one(R"({"url":"http://h/","headers":{"X-A":"Bearer ${T"}})")) ==
        "cfg.json: mcpServers.s.headers.X-A: unterminated \"${\" in the value (not shown: header "
        "values are secret)");
}

TEST_CASE("headers: on a stdio server they are an error") {
  CHECK(parse_error(one(R"({"command":"x","headers":{"Authorization":"Bearer t"}})")) ==
        "cfg.json: mcpServers.s.headers: only remote servers (with \"url\") take headers; a stdio "
        "server gets its secrets through \"env\" (an error, so that they are not silently "
        "dropped)");
}

TEST_CASE("headers: no error text ever contains a header value") {
  const std::string secret = "hdr-s3cret-VALUE";
  auto env = env_from({{"SECRET", secret}, {"NL", secret + "\r\n"}});
  const std::vector<std::string> entries = {
      R"({"url":"http://h/","headers":{"X-A":"hdr-s3cret-VALUE\n"}})",
      R"({"url":"http://h/","headers":{"X-A":"${NL}"}})",
      R"({"url":"http://h/","headers":{"X-A":"hdr-s3cret-VALUE${"}})",
      R"({"url":"http://h/","headers":{"X-A":"hdr-s3cret-VALUE\u0001"}})",
      R"({"url":"http://h/","headers":{"Authorization: Bearer hdr-s3cret-VALUE":""}})",
      R"({"url":"http://h/","headers":{"X-A":"hdr-s3cret-VALUE","x-a":"hdr-s3cret-VALUE"}})",
      R"({"url":"http://h/","headers":{"X-A":"${SECRET}","Bad Name":"hdr-s3cret-VALUE"}})",
      R"({"url":"http://h/","headers":{"X-A":"hdr-s3cret-VALUE"},"args":[]})",
      R"({"url":"ftp://h/","headers":{"X-A":"hdr-s3cret-VALUE"}})",
      R"({"command":"x","headers":{"X-A":"hdr-s3cret-VALUE"}})",
      R"({"type":"stdio","url":"http://h/","headers":{"X-A":"${SECRET}"}})",
  };
  for (const auto& entry : entries) {
    std::string message = parse_error(one(entry), env);
    CAPTURE(entry);
    CAPTURE(message);
    CHECK(message.rfind("cfg.json: mcpServers.s", 0) == 0);
    CHECK(message.find("s3cret") == std::string::npos);
  }
}

TEST_CASE("servers: VS Code's top-level name for mcpServers") {
  Config c = parse(R"({
    "inputs": [{"type":"promptString","id":"token","password":true}],
    "servers": {
      "fs": {"type":"stdio","command":"npx","args":["-y","@modelcontextprotocol/server-filesystem","/tmp"],
             "envFile":"${workspaceFolder}/.env"},
      "gh": {"type":"http","url":"https://api.githubcopilot.com/mcp/"}}})");
  REQUIRE(c.servers.size() == 2);
  CHECK(c.servers[0].name == "fs");
  CHECK(c.servers[0].type == TransportType::stdio);
  CHECK(c.servers[0].command == "npx");
  CHECK(c.servers[0].args ==
        std::vector<std::string>{"-y", "@modelcontextprotocol/server-filesystem", "/tmp"});
  CHECK(c.servers[1].name == "gh");
  CHECK(c.servers[1].type == TransportType::http);
  CHECK(c.warnings == std::vector<std::string>{"inputs: unknown top-level key ignored",
                                               "servers.fs.envFile: unknown key ignored"});
}

TEST_CASE("servers: messages use the key the file uses; both keys are an error") {
  CHECK(parse_error(R"({"servers":{"s":{"url":"ftp://h/"}}})") ==
        "cfg.json: servers.s.url: not an http:// or https:// URL: scheme must be http or https");
  CHECK(parse_error(R"({"servers":{"s":{"command":"x","args":["${A"]}}})") ==
        "cfg.json: servers.s: unterminated \"${\" in \"${A\"");
  CHECK(parse_error(R"({"servers":{"a b":{"command":"x"}}})") ==
        "cfg.json: servers.a b: server names must match [A-Za-z0-9_-]+");
  CHECK(parse_error(R"({"servers":[]})") ==
        "cfg.json: servers: expected an object of server entries, got array");
  CHECK(parse_error(R"({"servers":{},"mcpServers":{}})") ==
        "cfg.json: servers: given together with \"mcpServers\" (VS Code's name for the same "
        "block); give one");
  CHECK(parse(R"({"servers":{}})").servers.empty());
  CHECK(parse_error(R"({"server":{}})") ==
        "cfg.json: mcpServers: missing (an object of server entries)");
}

TEST_CASE("remote: a Claude Code .mcp.json mixing stdio and remote servers loads") {
  TempDir dir;
  std::string path = dir.write(".mcp.json", R"({
  "mcpServers": {
    "fs": {"type": "stdio", "command": "npx",
           "args": ["-y", "@modelcontextprotocol/server-filesystem", "."], "env": {}},
    "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/",
               "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}},
    "linear": {"type": "sse", "url": "https://mcp.linear.app/sse"},
    "docs": {"url": "https://docs.example.com/mcp"}
  }
})");
  Config c = mcpbraid::load_config(path, env_from({{"GITHUB_TOKEN", "t"}}));
  REQUIRE(c.servers.size() == 4);
  CHECK(c.servers[0].type == TransportType::http_or_sse);
  CHECK(c.servers[1].type == TransportType::stdio);
  CHECK(c.servers[2].type == TransportType::http);
  CHECK(c.servers[2].headers == Headers{{"Authorization", "Bearer t"}});
  CHECK(c.servers[3].type == TransportType::sse);
  CHECK(c.warnings.empty());
}

TEST_CASE("max_connections: a remote server's connection limit, 16 by default") {
  CHECK(parse(one(R"({"url":"http://h/"})")).servers[0].max_connections == 16);
  CHECK(parse(one(R"({"url":"http://h/","max_connections":4})")).servers[0].max_connections == 4);
  CHECK(parse_error(one(R"({"url":"http://h/","max_connections":2})")) ==
        "cfg.json: mcpServers.s.max_connections: expected an integer from 3 to 256");
  CHECK(parse_error(one(R"({"url":"http://h/","max_connections":"8"})")) ==
        "cfg.json: mcpServers.s.max_connections: expected an integer from 3 to 256");
  CHECK(parse_error(one(R"({"command":"x","max_connections":2})")) ==
        "cfg.json: mcpServers.s.max_connections: only remote servers (with \"url\") have "
        "connections to limit");
}

TEST_CASE("context: defaults are prefix = name, no filters, expose all, 48-character names") {
  Config config = parse(R"({"mcpServers":{"fs":{"command":"x"}}})");
  REQUIRE(config.servers.size() == 1);
  const auto& fs = config.servers[0];
  CHECK(fs.prefix == "fs");
  CHECK(fs.tools.empty());
  CHECK(fs.prompts.empty());
  CHECK(fs.resources.empty());
  CHECK(fs.expose == mcpbraid::Expose::all);
  CHECK(fs.pinned.empty());
  CHECK(config.max_name_length == 48);
  CHECK(config.expose == mcpbraid::Expose::all);
  CHECK_FALSE(config.search_mode());
}

TEST_CASE("context: filters, prefix, expose and pinned are read") {
  Config config = parse(R"({"expose":"search","max_name_length":64,"mcpServers":{
    "fs":{"command":"x","prefix":"","tools":{"allow":["read_*"],"deny":["read_secret"]},
          "prompts":{"deny":["*"]},"resources":{"allow":["file:///docs/*"]},
          "pinned":["read_file"]},
    "git":{"command":"y","prefix":"g","expose":"all"}}})");
  REQUIRE(config.servers.size() == 2);
  const auto& fs = config.servers[0];
  CHECK(fs.prefix == "");
  REQUIRE(fs.tools.allow);
  CHECK(*fs.tools.allow == std::vector<std::string>{"read_*"});
  CHECK(fs.tools.deny == std::vector<std::string>{"read_secret"});
  CHECK_FALSE(fs.prompts.allow);
  CHECK(fs.prompts.deny == std::vector<std::string>{"*"});
  CHECK(fs.resources.allows("file:///docs/a"));
  CHECK_FALSE(fs.resources.allows("file:///etc/passwd"));
  CHECK(fs.expose == mcpbraid::Expose::search);  // the top-level default
  CHECK(fs.pinned == std::vector<std::string>{"read_file"});
  CHECK(config.servers[1].prefix == "g");
  CHECK(config.servers[1].expose == mcpbraid::Expose::all);
  CHECK(config.max_name_length == 64);
  CHECK(config.search_mode());
}

TEST_CASE("context: a server may expose search under a top-level all") {
  Config config = parse(R"({"mcpServers":{"fs":{"command":"x","expose":"search"}}})");
  CHECK(config.servers[0].expose == mcpbraid::Expose::search);
  CHECK(config.search_mode());
  // A disabled server does not turn search mode on.
  Config off = parse(R"({"mcpServers":{"fs":{"command":"x","expose":"search","disabled":true}}})");
  CHECK_FALSE(off.search_mode());
}

TEST_CASE("context: bad values are errors naming the key") {
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","tools":["a"]}}})") ==
        "cfg.json: mcpServers.fs.tools: expected an object like {\"allow\": [...], \"deny\": "
        "[...]}, got array");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","tools":{"allow":"a"}}}})") ==
        "cfg.json: mcpServers.fs.tools.allow: expected an array of glob patterns, got string");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","tools":{"deny":[1]}}}})") ==
        "cfg.json: mcpServers.fs.tools.deny[0]: expected a string, got number");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","prompts":{"deny":[""]}}}})") ==
        "cfg.json: mcpServers.fs.prompts.deny[0]: an empty pattern matches nothing");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","resources":{"allow":["a\\"]}}}})") ==
        "cfg.json: mcpServers.fs.resources.allow[0]: a trailing '\\' escapes nothing");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","tools":{"only":[]}}}})") ==
        "cfg.json: mcpServers.fs.tools.only: unknown key (a filter has \"allow\" and \"deny\")");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","prefix":"a b"}}})") ==
        "cfg.json: mcpServers.fs.prefix: expected [A-Za-z0-9_-]* (\"\" keeps the names unchanged)");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","prefix":7}}})") ==
        "cfg.json: mcpServers.fs.prefix: expected a string, got number");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","prefix":"my__fs"}}})") ==
        "cfg.json: mcpServers.fs.prefix: prefix must not contain or end into the separator "
        "\"__\"");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","expose":"some"}}})") ==
        "cfg.json: mcpServers.fs.expose: expected \"all\" or \"search\", got \"some\"");
  CHECK(parse_error(R"({"expose":true,"mcpServers":{}})") ==
        "cfg.json: expose: expected a string, got boolean");
  CHECK(parse_error(R"({"mcpServers":{"fs":{"command":"x","pinned":"a"}}})") ==
        "cfg.json: mcpServers.fs.pinned: expected an array of glob patterns, got string");
  CHECK(parse_error(R"({"max_name_length":15,"mcpServers":{}})") ==
        "cfg.json: max_name_length: expected an integer from 16 to 128");
  CHECK(parse_error(R"({"max_name_length":129,"mcpServers":{}})") ==
        "cfg.json: max_name_length: expected an integer from 16 to 128");
  CHECK(parse(R"({"max_name_length":16,"mcpServers":{}})").max_name_length == 16);
  CHECK(parse(R"({"max_name_length":128,"mcpServers":{}})").max_name_length == 128);
}

TEST_CASE("context: a prefix lifts the separator rule off the server name") {
  Config config = parse(R"({"mcpServers":{"my__fs":{"command":"x","prefix":"fs"}}})");
  CHECK(config.servers[0].prefix == "fs");
  CHECK(parse(R"({"mcpServers":{"a_":{"command":"x","prefix":""}}})").servers[0].prefix == "");
}

TEST_CASE("context: rank is the order of the file, not of names") {
  Config config = mcpbraid::parse_config_text(
      R"({"mcpServers":{"zeta":{"command":"x"},"alpha":{"command":"y"},"mid":{"command":"z"}}})",
      "cfg.json", kNoEnv);
  REQUIRE(config.servers.size() == 3);
  for (const auto& s : config.servers) {
    CAPTURE(s.name);
    int want = s.name == "zeta" ? 0 : s.name == "alpha" ? 1 : 2;
    CHECK(s.rank == want);
  }
}
