// Progress and deadlines (backends/calls.cpp, backends/relay.cpp,
// core/failsafe.hpp Deadline): a call's progressToken is replaced by one of
// ours at the backend and mapped back for the client; progress pushes the
// call's deadline out by `timeout`, never past `max_timeout`; progress that
// matches no call in flight is dropped.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

const char* kConfig = R"({
  "failsafe": {"timeout": 100, "max_timeout": 300, "retry": {"max_attempts": 1}},
  "mcpServers": {"a": {"command": "fake"}, "b": {"command": "fake"}}})";

void with_tools(FakeServer& s) {
  s.tools = json::array({tool("slow")});
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

void listed(Harness& h) {
  h.initialize();
  h.request("list", "tools/list");
  REQUIRE(h.take_answer("list"));
}

void call_slow(Harness& h, const json& id, const std::string& server, const json& token) {
  h.request(id, "tools/call",
            {{"name", server + "__slow"},
             {"arguments", {{"ms", 1000}}},
             {"_meta", {{"progressToken", token}}}});
}

json progress(const json& token, int n, int total) {
  return {{"jsonrpc", "2.0"},
          {"method", "notifications/progress"},
          {"params", {{"progressToken", token}, {"progress", n}, {"total", total}}}};
}

}  // namespace

TEST_CASE("progress: the backend gets a token of ours, the client its own back") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  FakeServer& b = h.server("b");
  call_slow(h, 1, "a", "tok-abc");
  call_slow(h, 2, "b", 7);
  REQUIRE(a.requests("tools/call").size() == 1);
  REQUIRE(b.requests("tools/call").size() == 1);
  json at_a = a.requests("tools/call")[0];
  json at_b = b.requests("tools/call")[0];
  json token_a = at_a["params"]["_meta"]["progressToken"];
  json token_b = at_b["params"]["_meta"]["progressToken"];
  CHECK(token_a.is_number_integer());
  CHECK(token_b.is_number_integer());
  CHECK(token_a != token_b);  // unique across backends
  CHECK(at_a["params"]["name"] == "slow");
  CHECK(at_a["params"]["arguments"] == json{{"ms", 1000}});

  a.say(progress(token_a, 1, 3));
  b.say(progress(token_b, 1, 2));
  a.say(progress(token_a, 2, 3));
  h.pump();
  auto got = h.take_method("notifications/progress");
  REQUIRE(got.size() == 3);
  CHECK(got[0]["params"] == json{{"progressToken", "tok-abc"}, {"progress", 1}, {"total", 3}});
  CHECK(got[1]["params"] == json{{"progressToken", 7}, {"progress", 1}, {"total", 2}});
  CHECK(got[1]["params"]["progressToken"].is_number_integer());  // the client's type kept
  CHECK(got[2]["params"] == json{{"progressToken", "tok-abc"}, {"progress", 2}, {"total", 3}});

  // Progress comes before the answer, in order.
  a.say(progress(token_a, 3, 3));
  a.reply(at_a["id"], text_result("slept"));
  h.pump();
  auto tail = h.take_all();
  REQUIRE(tail.size() == 2);
  CHECK(tail[0]["method"] == "notifications/progress");
  CHECK(tail[0]["params"]["progress"] == 3);
  CHECK(tail[1]["id"] == 1);
  CHECK(tool_text(tail[1]) == "slept");
}

TEST_CASE("progress: stray progress is dropped") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  FakeServer& b = h.server("b");
  call_slow(h, 1, "a", "mine");
  json at_a = a.requests("tools/call")[0];
  json token = at_a["params"]["_meta"]["progressToken"];

  b.say(progress(token, 1, 2));                    // a's token, from another backend
  a.say(progress(token.get<int>() + 1000, 1, 2));  // a token we never gave
  a.say(progress("mine", 1, 2));                   // the client's token is not ours
  h.pump();
  CHECK(h.take_all().empty());

  a.reply(at_a["id"], text_result("done"));
  h.pump();
  REQUIRE(h.take_answer(1));
  a.say(progress(token, 2, 2));  // after completion
  h.pump();
  CHECK(h.take_all().empty());
}

TEST_CASE("progress: it pushes the deadline out, and the call still succeeds") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  call_slow(h, 3, "a", "p");
  json at_a = a.requests("tools/call")[0];
  json token = at_a["params"]["_meta"]["progressToken"];
  // Progress every 80 ms keeps it alive past its 100 ms timeout.
  for (int i = 1; i <= 3; ++i) {
    h.advance(80ms);
    a.say(progress(token, i, 4));
    h.pump();
  }
  h.advance(40ms);  // 280 ms after the start
  CHECK(a.notifications("notifications/cancelled").empty());
  CHECK_FALSE(h.take_answer(3));
  a.reply(at_a["id"], text_result("finally"));
  h.pump();
  auto answer = h.take_answer(3);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "finally");
  CHECK(h.take_method("notifications/progress").size() == 3);
}

TEST_CASE("progress: without progress the timeout holds; with it, max_timeout is the limit") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");

  // A call whose progress stops: timeout after its last progress.
  call_slow(h, 4, "a", "q");
  json token = a.requests("tools/call")[0]["params"]["_meta"]["progressToken"];
  h.advance(50ms);
  a.say(progress(token, 1, 9));
  h.pump();
  h.advance(95ms);
  CHECK_FALSE(h.take_answer(4));
  h.advance(5ms);  // 100 ms after the progress
  auto stopped = h.take_answer(4);
  REQUIRE(stopped);
  CHECK(tool_text(*stopped) ==
        "mcpbraid: server 'a' is unavailable: no answer within 150 ms (timeout)");

  // A call with steady progress: answered at max_timeout (300 ms) all the same.
  call_slow(h, 5, "a", "r");
  json second = a.requests("tools/call")[1];
  json token2 = second["params"]["_meta"]["progressToken"];
  for (int i = 1; i <= 5; ++i) {
    h.advance(50ms);
    a.say(progress(token2, i, 9));
    h.pump();
  }
  h.advance(45ms);  // 295 ms
  CHECK_FALSE(h.take_answer(5));
  h.advance(5ms);
  auto limited = h.take_answer(5);
  REQUIRE(limited);
  CHECK(tool_text(*limited) ==
        "mcpbraid: server 'a' is unavailable: no answer within 300 ms (timeout)");
  auto cancelled = a.notifications("notifications/cancelled");
  REQUIRE(cancelled.size() == 2);
  CHECK(cancelled[1]["params"]["requestId"] == second["id"]);
  // Its token is gone with it: late progress is dropped.
  h.take_all();
  a.say(progress(token2, 6, 9));
  h.pump();
  CHECK(h.take_all().empty());
}
