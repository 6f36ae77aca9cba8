// The circuit breaker (core/failsafe.hpp CircuitBreaker, admitted in
// core/call_policy.cpp): failure_threshold failures in a row open it; while
// open a call is refused at once, naming the circuit and when to retry;
// after reset_timeout one probe goes through and its outcome closes or
// re-opens it. A restart does not reset it (backends/supervisor.hpp).
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

const char* kConfig = R"({"mcpServers": {"a": {"command": "fake",
  "failsafe": {
    "timeout": 100,
    "retry": {"max_attempts": 1},
    "circuit_breaker": {"failure_threshold": 3, "success_threshold": 1,
                        "reset_timeout": 500, "half_open_max_requests": 1}},
  "restart": {"initial_backoff": 100, "max_backoff": 100, "max_restarts": 5,
              "window": 60000}}}})";

void with_tools_and_prompts(FakeServer& s) {
  s.tools = json::array({tool("echo")});
  s.prompts = json::array({{{"name", "plain"}}});
  s.capabilities = {{"tools", {{"listChanged", true}}}, {"prompts", {{"listChanged", true}}}};
}

json text_result(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}};
}

void listed(Harness& h) {
  h.initialize();
  h.request("tools", "tools/list");
  REQUIRE(h.take_answer("tools"));
  h.request("prompts", "prompts/list");
  REQUIRE(h.take_answer("prompts"));
}

void call_echo(Harness& h, const json& id) {
  h.request(id, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
}

// Three calls that time out, one after the other: the circuit opens at the third.
void open_circuit(Harness& h) {
  for (int i = 0; i < 3; ++i) {
    call_echo(h, "fail" + std::to_string(i));
    h.advance(100ms);
    auto answer = h.take_answer("fail" + std::to_string(i));
    REQUIRE(answer);
    CHECK(tool_text(*answer) ==
          "mcpbraid: server 'a' is unavailable: no answer within 100 ms (timeout)");
  }
}

CircuitState circuit(Harness& h) {
  return h.gateway().find_backend("a")->breaker().state(Clock::now());
}

const std::string kOpenReason =
    "circuit open (3 consecutive failures, last: no answer within 100 ms (timeout))";

}  // namespace

TEST_CASE("breaker: open after failure_threshold failures, refused at once, a probe closes it") {
  Harness h(kConfig, with_tools_and_prompts);
  listed(h);
  FakeServer& a = h.server("a");
  CHECK(circuit(h) == CircuitState::closed);
  open_circuit(h);
  CHECK(circuit(h) == CircuitState::open);
  REQUIRE(a.requests("tools/call").size() == 3);

  // Refused at once (no time passes), never sent.
  call_echo(h, 10);
  auto refused = h.take_answer(10);
  REQUIRE(refused);
  CHECK((*refused)["result"]["isError"] == true);
  CHECK(tool_text(*refused) ==
        "mcpbraid: server 'a' is unavailable: " + kOpenReason + "; retry in 500 ms");
  // Another method: a JSON-RPC error with the data a client can act on.
  h.request(11, "prompts/get", {{"name", "a__plain"}});
  auto error = h.take_answer(11);
  REQUIRE(error);
  CHECK((*error)["error"]["code"] == -32603);
  CHECK((*error)["error"]["message"] ==
        "mcpbraid: server 'a' is unavailable: " + kOpenReason + "; retry in 500 ms");
  CHECK((*error)["error"]["data"] ==
        json{{"server", "a"}, {"reason", kOpenReason}, {"retry_after_ms", 500}});
  CHECK(a.requests("tools/call").size() == 3);
  CHECK(a.requests("prompts/get").empty());

  // retry_after counts down.
  h.advance(200ms);
  call_echo(h, 12);
  auto later = h.take_answer(12);
  REQUIRE(later);
  CHECK(tool_text(*later) ==
        "mcpbraid: server 'a' is unavailable: " + kOpenReason + "; retry in 300 ms");
  h.advance(295ms);
  call_echo(h, 13);
  REQUIRE(h.take_answer(13));
  CHECK(a.requests("tools/call").size() == 3);

  // reset_timeout passed: one probe goes through, a second waits its turn.
  h.advance(5ms);
  CHECK(circuit(h) == CircuitState::half_open);
  call_echo(h, 20);
  auto calls = a.requests("tools/call");
  REQUIRE(calls.size() == 4);
  CHECK_FALSE(h.take_answer(20));
  call_echo(h, 21);
  auto second = h.take_answer(21);
  REQUIRE(second);
  CHECK(tool_text(*second) ==
        "mcpbraid: server 'a' is unavailable: " + kOpenReason + "; retry in 0 ms");
  CHECK(a.requests("tools/call").size() == 4);

  a.reply(calls[3]["id"], text_result("probe ok"));
  h.pump();
  auto probe = h.take_answer(20);
  REQUIRE(probe);
  CHECK(tool_text(*probe) == "probe ok");
  CHECK(circuit(h) == CircuitState::closed);  // success_threshold 1
  call_echo(h, 22);
  CHECK(a.requests("tools/call").size() == 5);
  CHECK_FALSE(h.take_answer(22));  // at the server, not refused
}

TEST_CASE("breaker: a failed probe opens the circuit again for a whole reset_timeout") {
  Harness h(kConfig, with_tools_and_prompts);
  listed(h);
  FakeServer& a = h.server("a");
  open_circuit(h);
  h.advance(500ms);
  call_echo(h, 30);
  REQUIRE(a.requests("tools/call").size() == 4);
  h.advance(100ms);  // the probe times out
  auto probe = h.take_answer(30);
  REQUIRE(probe);
  CHECK(tool_text(*probe) ==
        "mcpbraid: server 'a' is unavailable: no answer within 100 ms (timeout)");
  CHECK(circuit(h) == CircuitState::open);
  call_echo(h, 31);
  auto refused = h.take_answer(31);
  REQUIRE(refused);
  CHECK(tool_text(*refused) ==
        "mcpbraid: server 'a' is unavailable: circuit open (probe failed: no answer within "
        "100 ms (timeout)); retry in 500 ms");
  CHECK(a.requests("tools/call").size() == 4);
}

TEST_CASE("breaker: a restarted backend keeps its open circuit until a probe succeeds") {
  Harness h(kConfig, with_tools_and_prompts);
  listed(h);
  open_circuit(h);
  TimePoint opened = Clock::now();
  h.server("a").exit();
  h.pump();
  h.advance_until([&] { return h.world().spawns("a") == 2; }, 1000ms);
  REQUIRE(h.world().spawns("a") == 2);
  FakeServer& again = h.server("a");
  CHECK(again.requests("initialize").size() == 1);
  CHECK(h.gateway().find_backend("a")->state() == BackendState::ready);

  // Ready again, and still refused by the circuit (opened before the exit).
  CHECK(circuit(h) == CircuitState::open);
  call_echo(h, 40);
  auto refused = h.take_answer(40);
  REQUIRE(refused);
  auto left = std::chrono::duration_cast<Milliseconds>(opened + 500ms - Clock::now());
  CHECK(tool_text(*refused) == "mcpbraid: server 'a' is unavailable: " + kOpenReason +
                                   "; retry in " + std::to_string(left.count()) + " ms");
  CHECK(again.requests("tools/call").empty());

  // The probe after reset_timeout goes to the new spawn and closes it.
  h.advance(left);
  call_echo(h, 41);
  auto calls = again.requests("tools/call");
  REQUIRE(calls.size() == 1);
  again.reply(calls[0]["id"], text_result("back"));
  h.pump();
  auto answer = h.take_answer(41);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "back");
  CHECK(circuit(h) == CircuitState::closed);
}
