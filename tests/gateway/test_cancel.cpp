// Cancellation (backends/calls.cpp CallRunner::cancel): the client's
// notifications/cancelled reaches the server under the id the server knows,
// and the client gets no answer (the spec wants none); between two attempts
// the call is just dropped; an id that is not in flight is ignored.
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

void call(Harness& h, const json& id, const std::string& name) {
  h.request(id, "tools/call", {{"name", name}, {"arguments", json::object()}});
}

}  // namespace

TEST_CASE("cancel: reaches the server under its own id, and the client gets no answer") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  call(h, 50, "a__echo");
  REQUIRE(a.requests("tools/call").size() == 1);
  json backend_id = a.requests("tools/call")[0]["id"];
  CHECK(backend_id != 50);

  h.notify("notifications/cancelled", {{"requestId", 50}, {"reason", "user pressed stop"}});
  auto cancelled = a.notifications("notifications/cancelled");
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0]["params"] == json{{"requestId", backend_id}, {"reason", "user pressed stop"}});
  CHECK(h.server("b").notifications("notifications/cancelled").empty());
  CHECK(h.gateway().calls().empty());

  // The server answers anyway: dropped.
  a.reply(backend_id, text_result("too late"));
  h.advance(1000ms, 50ms);
  CHECK(h.take_all().empty());

  // The id may be used again.
  call(h, 50, "a__echo");
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 2);
  a.reply(calls[1]["id"], text_result("again"));
  h.pump();
  auto answer = h.take_answer(50);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "again");
}

TEST_CASE("cancel: only the named request, string ids too") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  call(h, "keep", "a__echo");
  call(h, "c-1", "a__echo");
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 2);
  h.notify("notifications/cancelled", {{"requestId", "c-1"}});
  auto cancelled = a.notifications("notifications/cancelled");
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0]["params"] == json{{"requestId", calls[1]["id"]}});  // no reason given
  a.reply(calls[0]["id"], text_result("kept"));
  a.reply(calls[1]["id"], text_result("dropped"));
  h.pump();
  auto all = h.take_all();
  REQUIRE(all.size() == 1);
  CHECK(all[0]["id"] == "keep");
  CHECK(tool_text(all[0]) == "kept");
}

TEST_CASE("cancel: during a retry wait the call is dropped with nothing sent") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  call(h, 7, "a__look");
  h.advance(100ms);  // the first attempt times out; a retry waits its backoff
  REQUIRE(a.notifications("notifications/cancelled").size() == 1);  // the timeout's
  REQUIRE(h.gateway().calls().size() == 1);

  h.notify("notifications/cancelled", {{"requestId", 7}});
  CHECK(h.gateway().calls().empty());
  h.advance(1000ms, 10ms);
  CHECK(a.requests("tools/call").size() == 1);  // no second attempt
  CHECK(a.notifications("notifications/cancelled").size() == 1);
  CHECK(h.take_all().empty());
}

TEST_CASE("cancel: an id that is not in flight is ignored") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  call(h, 9, "a__echo");
  a.reply(a.requests("tools/call")[0]["id"], text_result("done"));
  h.pump();
  REQUIRE(h.take_answer(9));

  h.notify("notifications/cancelled", {{"requestId", 9}});  // already answered
  h.notify("notifications/cancelled", {{"requestId", 424242}});
  h.notify("notifications/cancelled", {{"requestId", "nope"}});
  h.notify("notifications/cancelled", json::object());
  CHECK(a.notifications("notifications/cancelled").empty());
  CHECK(h.server("b").notifications("notifications/cancelled").empty());
  CHECK(h.take_all().empty());

  call(h, 10, "a__echo");
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 2);
  a.reply(calls[1]["id"], text_result("fine"));
  h.pump();
  auto answer = h.take_answer(10);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "fine");
}
