// Lists and the handshake (backends/list_sync.cpp, backends/handshake.cpp,
// backends/router.cpp, backends/dispatch.cpp): the merged list, learning the
// names on demand, list_changed coalesced, the bounded wait for initialize
// and the late join, a server that refuses initialize, duplicate ids.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

const char* kTwo = R"({"mcpServers": {"a": {"command": "fake"}, "b": {"command": "fake"}}})";

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

std::vector<std::string> tool_names(Harness& h) {
  h.request("names", "tools/list");
  auto list = h.take_answer("names");
  REQUIRE(list);
  std::vector<std::string> names;
  for (const auto& t : (*list)["result"]["tools"]) names.push_back(t["name"]);
  return names;
}

json initialize_params() {
  return {{"protocolVersion", "2025-11-25"},
          {"capabilities", json::object()},
          {"clientInfo", {{"name", "harness"}, {"version", "1"}}}};
}

// A server that holds initialize (the test answers it, or not).
std::optional<json> hold_initialize(FakeServer& s, const json& request) {
  if (request.value("method", "") == "initialize") return std::nullopt;
  return s.default_answer(request);
}

}  // namespace

TEST_CASE("lists: two servers' tools merged with their prefixes, servers in name order") {
  // Written b first: servers are taken in the order of their names.
  Harness h(R"({"mcpServers": {"b": {"command": "fake"}, "a": {"command": "fake"}}})",
            [](FakeServer& s) {
              if (s.name == "a")
                s.tools = json::array({tool("zeta", true), tool("alpha")});
              else
                s.tools = json::array({tool("echo")});
            });
  h.initialize();
  h.request(1, "tools/list");
  auto list = h.take_answer(1);
  REQUIRE(list);
  const json& tools = (*list)["result"]["tools"];
  REQUIRE(tools.size() == 5);
  CHECK(tools[0]["name"] == "a__zeta");  // each server's own order is kept
  CHECK(tools[0]["annotations"] == json{{"readOnlyHint", true}});
  CHECK(tools[0]["inputSchema"] == json{{"type", "object"}});
  CHECK(tools[1]["name"] == "a__alpha");
  CHECK(tools[2]["name"] == "b__echo");
  CHECK(tools[3]["name"] == "gateway_list_servers");
  CHECK(tools[4]["name"] == "gateway_health");
  CHECK_FALSE((*list)["result"].contains("nextCursor"));

  // Cached: a second list asks no server.
  h.request(2, "tools/list");
  REQUIRE(h.take_answer(2));
  CHECK(h.server("a").requests("tools/list").size() == 1);
  CHECK(h.server("b").requests("tools/list").size() == 1);
}

TEST_CASE("lists: a call with no initialize and no tools/list learns the names, then routes") {
  Harness h(kTwo, [](FakeServer& s) { s.tools = json::array({tool("echo")}); });
  h.request(1, "tools/call", {{"name", "a__echo"}, {"arguments", {{"x", 1}}}});
  FakeServer& a = h.server("a");
  REQUIRE(a.received.size() == 4);
  CHECK(a.received[0]["method"] == "initialize");
  CHECK(a.received[0]["params"]["clientInfo"]["name"] == "mcpbraid");  // nobody else to name
  CHECK(a.received[0]["params"]["protocolVersion"] == "2025-11-25");
  CHECK(a.received[1]["method"] == "notifications/initialized");  // an implicit session
  CHECK(a.received[2]["method"] == "tools/list");
  CHECK(a.received[3]["method"] == "tools/call");
  json params = a.received[3]["params"];
  // A trace started for it (SEP-414): the only _meta it gets.
  CHECK(params["_meta"].size() == 1);
  CHECK(params["_meta"]["traceparent"].get<std::string>().size() == 55);
  params.erase("_meta");
  CHECK(params == json{{"name", "echo"}, {"arguments", {{"x", 1}}}});
  CHECK(h.server("b").requests("tools/list").size() == 1);
  CHECK(h.server("b").requests("tools/call").empty());

  CHECK_FALSE(h.take_answer(1));
  a.reply(a.received[3]["id"], text_result("piped"));
  h.pump();
  auto answer = h.take_answer(1);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "piped");
  // An unknown name is refused once the lists are known.
  h.request(2, "tools/call", {{"name", "a__nope"}, {"arguments", json::object()}});
  auto unknown = h.take_answer(2);
  REQUIRE(unknown);
  CHECK((*unknown)["error"] == json{{"code", -32602}, {"message", "Unknown tool: a__nope"}});
}

TEST_CASE("lists: list_changed invalidates the cache; the client hears it once, coalesced") {
  Harness h(kTwo, [](FakeServer& s) { s.tools = json::array({tool("echo")}); });
  h.initialize();
  CHECK(tool_names(h) ==
        std::vector<std::string>{"a__echo", "b__echo", "gateway_list_servers", "gateway_health"});
  FakeServer& a = h.server("a");
  FakeServer& b = h.server("b");
  h.take_all();

  a.tools.push_back(tool("dynamic"));
  json changed{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}};
  a.say(changed);
  b.say(changed);
  a.say(changed);
  h.advance(5ms);
  CHECK(h.take_all().empty());
  h.advance(5ms);  // the 10 ms coalescing window
  auto heard = h.take_all();
  REQUIRE(heard.size() == 1);
  CHECK(heard[0] == json{{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}});
  h.advance(100ms);
  CHECK(h.take_all().empty());

  CHECK(tool_names(h) == std::vector<std::string>{"a__echo", "a__dynamic", "b__echo",
                                                  "gateway_list_servers", "gateway_health"});
  CHECK(a.requests("tools/list").size() == 2);
  CHECK(b.requests("tools/list").size() == 2);
  h.request(3, "tools/call", {{"name", "a__dynamic"}, {"arguments", json::object()}});
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["params"]["name"] == "dynamic");
}

TEST_CASE("handshake: a slow server does not hold initialize; it joins late with list_changed") {
  Harness h(R"({"initialize_timeout": 300,
    "mcpServers": {"a": {"command": "fake"}, "slow": {"command": "fake"}}})",
            [](FakeServer& s) {
              s.tools = json::array({tool("echo")});
              if (s.name == "slow") s.on_request = hold_initialize;
            });
  h.request("init", "initialize", initialize_params());
  FakeServer& slow = h.server("slow");
  REQUIRE(slow.requests("initialize").size() == 1);
  h.advance(295ms);
  CHECK_FALSE(h.take_answer("init"));
  h.advance(5ms);
  auto init = h.take_answer("init");
  REQUIRE(init);
  const json& caps = (*init)["result"]["capabilities"];
  CHECK(caps["tools"] == json{{"listChanged", true}});
  // What the slow one may bring is announced up front.
  CHECK(caps.contains("prompts"));
  CHECK(caps["resources"] == json{{"listChanged", true}, {"subscribe", true}});
  h.notify("notifications/initialized");
  CHECK(h.server("a").notifications("notifications/initialized").size() == 1);
  CHECK(slow.notifications("notifications/initialized").empty());
  CHECK(tool_names(h) ==
        std::vector<std::string>{"a__echo", "gateway_list_servers", "gateway_health"});
  h.take_all();

  // Ready at last: told initialized, and the client told its lists changed.
  slow.reply(slow.requests("initialize")[0]["id"],
             *slow.default_answer(slow.requests("initialize")[0]));
  h.pump();
  CHECK(slow.notifications("notifications/initialized").size() == 1);
  h.advance(10ms);
  auto heard = h.take_method("notifications/tools/list_changed");
  CHECK(heard.size() == 1);
  CHECK(tool_names(h) == std::vector<std::string>{"a__echo", "slow__echo", "gateway_list_servers",
                                                  "gateway_health"});
  h.request(1, "tools/call", {{"name", "slow__echo"}, {"arguments", json::object()}});
  CHECK(slow.requests("tools/call").size() == 1);
}

TEST_CASE("handshake: a server that answers initialize with an error is failed, not restarted") {
  Harness h(kTwo, [](FakeServer& s) {
    s.tools = json::array({tool("echo")});
    if (s.name == "b") s.on_request = hold_initialize;
  });
  h.request("init", "initialize", initialize_params());
  CHECK_FALSE(h.take_answer("init"));  // waits for b
  FakeServer& b = h.server("b");
  b.reply_error(b.requests("initialize")[0]["id"], -32603, "boom");
  h.pump();
  REQUIRE(h.take_answer("init"));
  h.notify("notifications/initialized");
  Backend& backend = *h.gateway().find_backend("b");
  CHECK(backend.state() == BackendState::failed);
  CHECK(b.stopped);
  CHECK(b.notifications("notifications/initialized").empty());
  CHECK(tool_names(h) ==
        std::vector<std::string>{"a__echo", "gateway_list_servers", "gateway_health"});
  h.request(1, "tools/call", {{"name", "b__echo"}, {"arguments", json::object()}});
  auto answer = h.take_answer(1);
  REQUIRE(answer);
  CHECK((*answer)["error"]["code"] == -32602);
  h.advance(30000ms, 500ms);
  CHECK(h.world().spawns("b") == 1);
  CHECK(backend.state() == BackendState::failed);
  // The reason stays the refusal, not how the stopped server ended.
  CHECK(backend.last_error() == "initialize failed: boom");
}

TEST_CASE("dispatch: a duplicate request id is refused while the first is open") {
  Harness h(kTwo, [](FakeServer& s) { s.tools = json::array({tool("echo")}); });
  h.initialize();
  h.request("list", "tools/list");
  REQUIRE(h.take_answer("list"));
  FakeServer& a = h.server("a");
  h.request(7, "tools/call", {{"name", "a__echo"}, {"arguments", {{"n", 1}}}});
  h.request(7, "tools/call", {{"name", "a__echo"}, {"arguments", {{"n", 2}}}});
  h.request(7, "ping");
  h.request("s", "tools/call", {{"name", "a__echo"}, {"arguments", {{"n", 3}}}});
  h.request("s", "tools/call", {{"name", "a__echo"}, {"arguments", {{"n", 4}}}});
  auto refusals = h.take_all();
  REQUIRE(refusals.size() == 3);
  const json in_use{{"code", -32600}, {"message", "Invalid Request: id 7 is already in use"}};
  CHECK(refusals[0] == json{{"jsonrpc", "2.0"}, {"id", 7}, {"error", in_use}});
  CHECK(refusals[1] == json{{"jsonrpc", "2.0"}, {"id", 7}, {"error", in_use}});
  CHECK(refusals[2]["error"] ==
        json{{"code", -32600}, {"message", "Invalid Request: id \"s\" is already in use"}});
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 2);
  CHECK(calls[0]["params"]["arguments"] == json{{"n", 1}});
  CHECK(calls[1]["params"]["arguments"] == json{{"n", 3}});

  // The first is answered once; then the id is free again.
  a.reply(calls[0]["id"], text_result("first"));
  h.pump();
  auto first = h.take_all();
  REQUIRE(first.size() == 1);
  CHECK(tool_text(first[0]) == "first");
  h.request(7, "ping");
  auto pong = h.take_answer(7);
  REQUIRE(pong);
  CHECK(pong->value("result", json()) == json::object());
}
