// Retries (backends/calls.cpp, core/call_policy.cpp): only a retry-safe call
// (a read-only or idempotent tool) that got no answer is sent again, after
// the backoff, under a new backend id, within max_attempts and the retry
// budget; the client gets exactly one answer whatever happened.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

// timeout 100 ms; attempt n waits initial_backoff * 2^(n-1), jittered into
// [base/2, base]; a high threshold keeps the breaker out of these tests.
const char* kConfig = R"({"mcpServers": {"a": {"command": "fake", "failsafe": {
  "timeout": 100,
  "retry": {"max_attempts": 3, "initial_backoff": 40, "max_backoff": 1000},
  "circuit_breaker": {"failure_threshold": 100}}}}})";

void with_tools(FakeServer& s) {
  s.tools = json::array({tool("echo"), tool("look", /*read_only=*/true)});
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

// Everything the client got that answers `id`.
std::vector<json> answers_to(std::vector<json> all, const json& id) {
  std::vector<json> out;
  for (auto& m : all)
    if (!m.contains("method") && m.value("id", json()) == id) out.push_back(std::move(m));
  return out;
}

void listed(Harness& h) {
  h.initialize();
  h.request("list", "tools/list");
  REQUIRE(h.take_answer("list"));
}

const std::string kTimeoutText =
    "mcpbraid: server 'a' is unavailable: no answer within 100 ms (timeout)";

}  // namespace

TEST_CASE("retries: a read-only tool without an answer is retried after the backoff, once") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(2, "tools/call", {{"name", "a__look"}, {"arguments", {{"q", 1}}}});
  REQUIRE(a.requests("tools/call").size() == 1);
  json first = a.requests("tools/call")[0];
  CHECK(first["params"]["name"] == "look");

  h.advance(95ms);
  CHECK(a.notifications("notifications/cancelled").empty());
  h.advance(5ms);  // the timeout: the attempt is withdrawn at the server
  auto cancelled = a.notifications("notifications/cancelled");
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0]["params"]["requestId"] == first["id"]);
  CHECK(cancelled[0]["params"]["reason"] == "mcpbraid: no answer within 100 ms");
  // Not sent again at once, and the client is not answered meanwhile.
  CHECK(a.requests("tools/call").size() == 1);
  CHECK_FALSE(h.take_answer(2));

  Milliseconds waited =
      h.advance_until([&] { return a.requests("tools/call").size() == 2; }, 1000ms);
  CHECK(waited >= 20ms);  // the first backoff: 40 ms jittered into [20, 40]
  CHECK(waited <= 40ms);
  REQUIRE(a.requests("tools/call").size() == 2);
  json second = a.requests("tools/call")[1];
  CHECK(second["id"] != first["id"]);  // a new request at the backend
  CHECK(second["params"] == first["params"]);
  CHECK_FALSE(h.take_answer(2));

  a.reply(second["id"], text_result("looked"));
  h.pump();
  auto got = answers_to(h.take_all(), 2);
  REQUIRE(got.size() == 1);
  CHECK(tool_text(got[0]) == "looked");
  CHECK_FALSE(got[0]["result"].contains("isError"));
  // A late answer to the first attempt is dropped.
  a.reply(first["id"], text_result("late"));
  h.pump();
  CHECK(h.take_all().empty());
  CHECK(a.requests("tools/call").size() == 2);
  CHECK(h.gateway().calls().empty());
}

TEST_CASE("retries: a tool that is not read-only is never retried; the timeout is the answer") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(3, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  REQUIRE(a.requests("tools/call").size() == 1);
  h.advance(95ms);
  CHECK_FALSE(h.take_answer(3));
  h.advance(5ms);
  auto answer = h.take_answer(3);
  REQUIRE(answer);
  CHECK((*answer)["result"]["isError"] == true);
  CHECK(tool_text(*answer) == kTimeoutText);
  CHECK(a.notifications("notifications/cancelled").size() == 1);
  h.advance(2000ms);
  CHECK(a.requests("tools/call").size() == 1);
  CHECK(h.take_all().empty());
}

TEST_CASE("retries: a bad answer is never retried, even for a read-only tool") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(4, "tools/call", {{"name", "a__look"}, {"arguments", json::object()}});
  REQUIRE(a.requests("tools/call").size() == 1);
  a.say({{"jsonrpc", "2.0"}, {"id", a.requests("tools/call")[0]["id"]}, {"result", {1, 2}}});
  h.pump();
  auto answer = h.take_answer(4);
  REQUIRE(answer);
  CHECK((*answer)["result"]["isError"] == true);
  CHECK(tool_text(*answer) ==
        "mcpbraid: server 'a' sent a bad answer: result is an array, expected an object");
  h.advance(2000ms);
  CHECK(a.requests("tools/call").size() == 1);
  CHECK(h.take_all().empty());
}

TEST_CASE("retries: past max_attempts the last failure is the answer") {
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  h.request(5, "tools/call", {{"name", "a__look"}, {"arguments", json::object()}});
  h.advance(100ms);  // attempt 1 times out
  Milliseconds first_backoff =
      h.advance_until([&] { return a.requests("tools/call").size() == 2; }, 1000ms);
  CHECK(first_backoff >= 20ms);
  CHECK(first_backoff <= 40ms);
  h.advance(100ms);  // attempt 2 times out
  CHECK_FALSE(h.take_answer(5));
  Milliseconds second_backoff =
      h.advance_until([&] { return a.requests("tools/call").size() == 3; }, 1000ms);
  CHECK(second_backoff >= 40ms);  // doubled: 80 ms jittered into [40, 80]
  CHECK(second_backoff <= 80ms);
  h.advance(95ms);
  CHECK_FALSE(h.take_answer(5));
  h.advance(5ms);  // attempt 3, the last, times out
  auto got = answers_to(h.take_all(), 5);
  REQUIRE(got.size() == 1);
  CHECK(tool_text(got[0]) == kTimeoutText);
  h.advance(2000ms);
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 3);
  CHECK(calls[0]["id"] != calls[1]["id"]);
  CHECK(calls[1]["id"] != calls[2]["id"]);
  CHECK(calls[0]["id"] != calls[2]["id"]);
  // Each attempt was withdrawn at the server under its own id.
  auto cancelled = a.notifications("notifications/cancelled");
  REQUIRE(cancelled.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(cancelled[i]["params"]["requestId"] == calls[i]["id"]);
  CHECK(h.gateway().calls().empty());
}

TEST_CASE("retries: the retry budget caps retries across calls") {
  // The budget holds 10 tokens; each call earns 0.2 (up to 10), each retry spends 1.
  Harness h(kConfig, with_tools);
  listed(h);
  FakeServer& a = h.server("a");
  for (int i = 0; i < 13; ++i)
    h.request(100 + i, "tools/call", {{"name", "a__look"}, {"arguments", {{"i", i}}}});
  REQUIRE(a.requests("tools/call").size() == 13);
  h.advance(100ms);  // all 13 time out together: 10 tokens, 10 retries
  auto at_once = h.take_all();
  REQUIRE(at_once.size() == 3);
  for (const auto& m : at_once) CHECK(tool_text(m) == kTimeoutText);
  h.advance(40ms);  // past every first backoff
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 23);
  CHECK(h.gateway().find_backend("a")->retry_budget().tokens() == doctest::Approx(0.0));
  for (std::size_t i = 13; i < calls.size(); ++i) a.reply(calls[i]["id"], text_result("ok"));
  h.pump();
  auto retried = h.take_all();
  CHECK(retried.size() == 10);
  for (const auto& m : retried) CHECK(tool_text(m) == "ok");
  CHECK(h.gateway().calls().empty());

  // The budget refills slowly: one more call earns 0.2, not enough for a retry.
  h.request(200, "tools/call", {{"name", "a__look"}, {"arguments", json::object()}});
  h.advance(100ms);
  auto answer = h.take_answer(200);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == kTimeoutText);
  h.advance(1000ms);
  CHECK(a.requests("tools/call").size() == 24);
}
