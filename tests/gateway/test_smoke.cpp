// The harness itself: a gateway in front of one fake server answers the
// handshake, lists and a call, with no process and no sleep.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;

namespace {

const char* kOneServer = R"({"mcpServers": {"a": {"command": "fake"}}})";

void with_tools(FakeServer& s) {
  s.tools = json::array({tool("echo"), tool("look", true)});
}

}  // namespace

TEST_CASE("harness: initialize, tools/list and a call through a fake server") {
  Harness h(kOneServer, with_tools);
  json init = h.initialize();
  CHECK(init["result"]["serverInfo"]["name"] == "mcpbraid");
  CHECK(h.server("a").requests("initialize").size() == 1);
  CHECK(h.server("a").notifications("notifications/initialized").size() == 1);

  h.request(1, "tools/list");
  auto list = h.take_answer(1);
  REQUIRE(list);
  auto& tools = (*list)["result"]["tools"];
  REQUIRE(tools.size() == 4);  // echo, look, and the gateway's two
  CHECK(tools[0]["name"] == "a__echo");
  CHECK(tools[1]["name"] == "a__look");

  h.request(2, "tools/call", {{"name", "a__echo"}, {"arguments", {{"x", 1}}}});
  auto calls = h.server("a").requests("tools/call");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["params"]["name"] == "echo");
  CHECK_FALSE(h.take_answer(2));  // held by the server
  h.server("a").reply(calls[0]["id"], {{"content", json::array()}, {"isError", false}});
  h.pump();
  auto answer = h.take_answer(2);
  REQUIRE(answer);
  CHECK((*answer)["result"]["isError"] == false);
  CHECK(h.gateway().calls().empty());
}
