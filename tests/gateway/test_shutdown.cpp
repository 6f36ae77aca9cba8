// Shutdown (backends/gateway.cpp on_client_eof, check_drained, finish): when
// the client closes stdin, what is in flight is still answered; once nothing
// is open every server is stopped and the loop ends.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

const char* kConfig = R"({
  "failsafe": {"timeout": 100,
               "retry": {"max_attempts": 3, "initial_backoff": 40, "max_backoff": 1000}},
  "mcpServers": {"a": {"command": "fake"}, "b": {"command": "fake"}}})";

void with_tools(FakeServer& s) {
  s.tools = json::array({tool("echo"), tool("look", /*read_only=*/true)});
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

void listed(Harness& h) {
  h.initialize();
  h.request("list", "tools/list");
  REQUIRE(h.take_answer("list"));
}

bool all_stopped(Harness& h) {
  for (const char* name : {"a", "b"})
    for (int spawn = 1; spawn <= h.world().spawns(name); ++spawn)
      if (!h.server(name, spawn).stopped) return false;
  return true;
}

}  // namespace

TEST_CASE("shutdown: on EOF the call in flight is answered, then the servers stop, then the loop") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(1, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  REQUIRE(a.requests("tools/call").size() == 1);

  h.close_input();
  h.advance(50ms);
  CHECK_FALSE(h.stopped());
  CHECK_FALSE(a.stopped);
  CHECK_FALSE(h.server("b").stopped);
  CHECK(h.gateway().calls().size() == 1);

  a.reply(a.requests("tools/call")[0]["id"], text_result("last words"));
  h.pump();
  auto all = h.take_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0]["id"] == 1);
  CHECK(tool_text(all[0]) == "last words");
  CHECK(all_stopped(h));
  CHECK(h.stopped());
}

TEST_CASE("shutdown: EOF with nothing open stops at once") {
  Harness h(kConfig, with_tools);
  listed(h);
  h.close_input();
  CHECK(all_stopped(h));
  CHECK(h.stopped());
  CHECK(h.take_all().empty());
}

TEST_CASE("shutdown: after EOF a failed call is answered, not retried, and the loop ends") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(2, "tools/call", {{"name", "a__look"}, {"arguments", json::object()}});
  h.close_input();
  h.advance(95ms);
  CHECK_FALSE(h.stopped());
  h.advance(5ms);  // the timeout: a read-only call, but nobody waits for a retry
  auto answer = h.take_answer(2);
  REQUIRE(answer);
  CHECK(tool_text(*answer) ==
        "mcpbraid: server 'a' is unavailable: no answer within 100 ms (timeout)");
  CHECK(a.requests("tools/call").size() == 1);
  CHECK(all_stopped(h));
  CHECK(h.stopped());
}

TEST_CASE("shutdown: a cancelled call does not hold it; servers' requests are refused") {
  Harness h(kConfig, with_tools);
  h.initialize({{"sampling", json::object()}});
  h.request("list", "tools/list");
  REQUIRE(h.take_answer("list"));
  FakeServer& a = h.server("a");
  h.request(3, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  h.notify("notifications/cancelled", {{"requestId", 3}});
  a.say({{"jsonrpc", "2.0"},
         {"id", "ask"},
         {"method", "sampling/createMessage"},
         {"params", {{"messages", json::array()}, {"maxTokens", 1}}}});
  h.pump();
  REQUIRE(h.take_method("sampling/createMessage").size() == 1);

  h.close_input();
  // Nobody is left to answer the server's question.
  std::vector<json> answered;
  for (const auto& m : a.received)
    if (m.value("id", json()) == "ask" && !m.contains("method")) answered.push_back(m);
  REQUIRE(answered.size() == 1);
  CHECK(answered[0]["error"] ==
        json{{"code", -32603}, {"message", "mcpbraid: the client closed the connection"}});
  CHECK(all_stopped(h));
  CHECK(h.stopped());
  CHECK(h.take_all().empty());  // no answer to the cancelled call
}
