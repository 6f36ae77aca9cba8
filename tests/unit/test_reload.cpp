// core/reload: what a reload does with each server, as plain values.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/health.hpp"
#include "core/reload.hpp"

using mcpbraid::adopt;
using mcpbraid::Config;
using mcpbraid::describe;
using mcpbraid::parse_config_text;
using mcpbraid::plan_reload;
using mcpbraid::ReloadPlan;
using Names = std::vector<std::string>;
using nlohmann::json;

namespace {

Config parse(const std::string& text) {
  return parse_config_text(text, "test.json", [](const std::string&) { return std::nullopt; });
}

const char* kBase = R"({"mcpServers": {
  "a": {"command": "srv-a"},
  "b": {"command": "srv-b", "args": ["1"]},
  "c": {"command": "srv-c"},
  "d": {"command": "srv-d", "disabled": true}}})";

}  // namespace

TEST_CASE("reload plan: every server in exactly one list, by what changed") {
  Config before = parse(kBase);
  Config after = parse(R"({"mcpServers": {
    "a": {"command": "srv-a"},
    "b": {"command": "srv-b", "args": ["2"]},
    "c": {"command": "srv-c", "failsafe": {"timeout": "5s"}},
    "d": {"command": "srv-d"},
    "e": {"url": "http://127.0.0.1:1/mcp"}}})");
  ReloadPlan plan = plan_reload(before, after);
  CHECK(plan.added == Names{"d", "e"});  // d was disabled: enabling it starts it
  CHECK(plan.removed.empty());
  CHECK(plan.restarted == Names{"b"});
  CHECK(plan.updated == Names{"c"});
  CHECK(plan.unchanged == Names{"a"});
  CHECK(describe(plan) == "2 added (d e), 1 restarted (b), 1 updated (c)");

  ReloadPlan back = plan_reload(after, before);
  CHECK(back.removed == Names{"d", "e"});
  CHECK(back.restarted == Names{"b"});
  CHECK(back.updated == Names{"c"});
}

TEST_CASE("reload plan: what restarts and what is applied in place") {
  auto kind = [](const char* server_b) {
    Config before = parse(R"({"mcpServers": {"b": {"command": "x", "env": {"K": "1"}}}})");
    Config after = parse(std::string(R"({"mcpServers": {"b": )") + server_b + "}}");
    ReloadPlan p = plan_reload(before, after);
    if (!p.restarted.empty()) return std::string("restart");
    if (!p.updated.empty()) return std::string("update");
    if (!p.unchanged.empty()) return std::string("none");
    return std::string("?");
  };
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}})") == "none");
  CHECK(kind(R"({"command": "y", "env": {"K": "1"}})") == "restart");
  CHECK(kind(R"({"command": "x", "env": {"K": "2"}})") == "restart");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "cwd": "/tmp"})") == "restart");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "args": ["-v"]})") == "restart");
  CHECK(kind(R"({"url": "http://127.0.0.1:9/mcp"})") == "restart");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "tools": {"deny": ["rm"]}})") == "update");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "prefix": "bee"})") == "update");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "expose": "search"})") == "update");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "restart": {"max_restarts": 9}})") == "update");
  CHECK(kind(R"({"command": "x", "env": {"K": "1"}, "failsafe": {"max_in_flight": 2}})") ==
        "update");
}

TEST_CASE("reload plan: a server that only moved in the file is unchanged") {
  Config before = parse(R"({"mcpServers": {"a": {"command": "a"}, "b": {"command": "b"}}})");
  Config after = parse(R"({"mcpServers": {"b": {"command": "b"}, "a": {"command": "a"}}})");
  ReloadPlan plan = plan_reload(before, after);
  CHECK(plan.unchanged == Names{"a", "b"});
  CHECK(plan.empty());
  CHECK(describe(plan) == "no change");
}

TEST_CASE("reload: adopt keeps what cannot change while running") {
  Config before = parse(R"({"mcpServers": {"a": {"command": "a"}}})");
  Config after = parse(R"({"separator": "--", "max_name_length": 20, "max_line": "1MiB",
                          "mcpServers": {"a": {"command": "a"}}})");
  std::vector<std::string> keys;
  Config adopted = adopt(before, after, &keys);
  CHECK(keys == Names{"separator", "max_name_length", "max_line"});
  CHECK(adopted.separator == before.separator);
  CHECK(adopted.max_name_length == before.max_name_length);
  CHECK(adopted.max_line == before.max_line);
  CHECK(adopted.servers[0].max_line == before.max_line);
  // So the server itself is not restarted for the top-level max_line.
  CHECK(plan_reload(before, adopted).unchanged == Names{"a"});
  keys.clear();
  adopt(before, before, &keys);
  CHECK(keys.empty());
}

TEST_CASE("health: config.last_reload in JSON, the table, and back") {
  mcpbraid::health::Snapshot s;
  s.pid = 7;
  s.config = "/etc/x.json";
  json none = mcpbraid::health::to_json(s);
  CHECK(none["config"] == json{{"path", "/etc/x.json"}, {"last_reload", nullptr}});
  CHECK(none["mcpbraid"]["config"] == "/etc/x.json");  // kept for older readers
  CHECK_FALSE(mcpbraid::health::snapshot_from_json(none).last_reload);

  s.last_reload = mcpbraid::health::ReloadStatus{false, "2026-12-02T01:00:00Z",
                                                 "x.json: mcpServers.a.command: expected", ""};
  json failed = mcpbraid::health::to_json(s);
  CHECK(failed["config"]["last_reload"] ==
        json{{"ok", false},
             {"at", "2026-12-02T01:00:00Z"},
             {"error", "x.json: mcpServers.a.command: expected"}});
  CHECK(mcpbraid::health::render_table(s, false).find(
            "last reload failed: x.json: mcpServers.a.command: expected\n") != std::string::npos);
  auto back = mcpbraid::health::snapshot_from_json(failed).last_reload;
  REQUIRE(back);
  CHECK_FALSE(back->ok);
  CHECK(back->error == "x.json: mcpServers.a.command: expected");

  s.last_reload = mcpbraid::health::ReloadStatus{true, "2026-12-02T01:00:01Z", "", "1 added (b)"};
  json ok = mcpbraid::health::to_json(s);
  CHECK(ok["config"]["last_reload"]["ok"] == true);
  CHECK(ok["config"]["last_reload"]["error"] == nullptr);
  CHECK(ok["config"]["last_reload"]["changes"] == "1 added (b)");
  CHECK(mcpbraid::health::render_table(s, false).find("last reload") == std::string::npos);
}
