// The harness itself: a gateway in front of one fake server answers the
// handshake, lists and a call, with no process and no sleep.
#include <doctest/doctest.h>

#include <set>
#include <string>

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

// SEP-414: W3C trace context in params._meta.
TEST_CASE("trace context: the client's goes on as it is; none or an invalid one starts a trace") {
  Harness h(kOneServer, with_tools);
  h.initialize();
  h.request(0, "tools/list");
  REQUIRE(h.take_answer(0));
  const std::string given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  json meta{{"traceparent", given}, {"tracestate", "vendor=1"}, {"baggage", "k=v"}};
  h.request(1, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}, {"_meta", meta}});
  h.request(2, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});  // fast path
  h.request(3, "tools/call",
            {{"name", "a__echo"},
             {"arguments", json::object()},
             {"_meta", {{"traceparent", "00-zz-bad-01"}, {"tracestate", "vendor=2"}}}});
  h.request(
      4, "tools/call",
      {{"name", "a__echo"}, {"arguments", json::object()}, {"_meta", {{"progressToken", 5}}}});
  auto calls = h.server("a").requests("tools/call");
  REQUIRE(calls.size() == 4);
  CHECK(calls[0]["params"]["_meta"] == meta);
  std::set<std::string> traces;
  for (int i : {1, 2, 3}) {
    INFO("call " << i);
    const json& m = calls[i]["params"]["_meta"];
    std::string tp = m.value("traceparent", "");
    REQUIRE(tp.size() == 55);
    CHECK(tp.substr(0, 3) == "00-");
    CHECK(tp.substr(52) == "-01");
    CHECK(tp != given);
    CHECK_FALSE(m.contains("tracestate"));  // an invalid parent's state goes with it
    traces.insert(tp.substr(3, 32));
  }
  CHECK(traces.size() == 3);  // one trace per request
  CHECK(calls[3]["params"]["_meta"].contains("progressToken"));
}
