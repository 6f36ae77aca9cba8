// Restarts (backends/supervisor.cpp, core/failsafe.hpp RestartPolicy): a
// server that exits is started again after a backoff; meanwhile its calls
// fail fast with the time left; past max_restarts within the window it is
// failed and leaves the lists. A restarted server's lists are fetched again
// and the client hears list_changed only when they changed.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

// A restart waits initial_backoff * 2^(n-1) jittered into [base/2, base];
// the backoff starts over once the server stayed up for twice max_backoff
// after initializing.
const char* kConfig = R"({"mcpServers": {
  "a": {"command": "fake",
        "restart": {"initial_backoff": 100, "max_backoff": 1000, "max_restarts": 2,
                    "window": 10000}},
  "b": {"command": "fake"}}})";

void configure(FakeServer& s) {
  s.tools = json::array({tool("echo")});
  if (s.name == "a") {
    s.prompts = json::array({{{"name", "plain"}}});
    s.capabilities = {{"tools", {{"listChanged", true}}}, {"prompts", {{"listChanged", true}}}};
  }
}

void listed(Harness& h) {
  h.initialize();
  h.request("tools", "tools/list");
  REQUIRE(h.take_answer("tools"));
  h.request("prompts", "prompts/list");
  REQUIRE(h.take_answer("prompts"));
}

std::vector<std::string> tool_names(Harness& h) {
  h.request("names", "tools/list");
  auto list = h.take_answer("names");
  REQUIRE(list);
  std::vector<std::string> names;
  for (const auto& t : (*list)["result"]["tools"]) names.push_back(t["name"]);
  return names;
}

Backend& backend_a(Harness& h) {
  return *h.gateway().find_backend("a");
}

// The server exits; the restart comes after the backoff (within [base/2,
// base]), to the millisecond. Returns the backoff.
Milliseconds exit_and_restart(Harness& h, Milliseconds base = 100ms) {
  int spawns = h.world().spawns("a");
  h.server("a").exit();
  REQUIRE(backend_a(h).state() == BackendState::backoff);
  Milliseconds delay = backend_a(h).restart_in(Clock::now());
  CHECK(delay >= base / 2);
  CHECK(delay <= base);
  Milliseconds took = h.advance_until([&] { return h.world().spawns("a") == spawns + 1; }, 2000ms);
  CHECK(took == delay);
  REQUIRE(h.world().spawns("a") == spawns + 1);
  return delay;
}

}  // namespace

TEST_CASE("restarts: an exited server is started again after the backoff; calls fail fast") {
  Harness h(kConfig, configure);
  listed(h);
  h.request(1, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  REQUIRE(h.server("a").requests("tools/call").size() == 1);

  h.server("a").exit("exited with status 1");
  h.pump();
  // The call in flight is answered at once.
  auto pending = h.take_answer(1);
  REQUIRE(pending);
  CHECK(tool_text(*pending) == "mcpbraid: server 'a' is unavailable: exited with status 1");
  REQUIRE(backend_a(h).state() == BackendState::backoff);
  Milliseconds delay = backend_a(h).restart_in(Clock::now());
  CHECK(delay >= 50ms);
  CHECK(delay <= 100ms);
  const std::string restarting = "restarting after exited with status 1";

  // Meanwhile: refused at once with the time left, the tools still listed.
  h.advance(20ms);
  Milliseconds left = delay - 20ms;
  h.request(2, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  auto refused = h.take_answer(2);
  REQUIRE(refused);
  CHECK(tool_text(*refused) == "mcpbraid: server 'a' is unavailable: " + restarting +
                                   "; retry in " + std::to_string(left.count()) + " ms");
  h.request(3, "prompts/get", {{"name", "a__plain"}});
  auto error = h.take_answer(3);
  REQUIRE(error);
  CHECK((*error)["error"]["code"] == -32603);
  CHECK((*error)["error"]["data"] ==
        json{{"server", "a"}, {"reason", restarting}, {"retry_after_ms", left.count()}});
  CHECK(tool_names(h) ==
        std::vector<std::string>{"a__echo", "b__echo", "gateway_list_servers", "gateway_health"});
  // The other server is not affected.
  h.request(4, "tools/call", {{"name", "b__echo"}, {"arguments", json::object()}});
  CHECK(h.server("b").requests("tools/call").size() == 1);
  CHECK(h.world().spawns("a") == 1);

  // Not a millisecond early.
  h.advance(left - 1ms, 1ms);
  CHECK(h.world().spawns("a") == 1);
  h.advance(1ms, 1ms);
  REQUIRE(h.world().spawns("a") == 2);
  FakeServer& again = h.server("a");
  CHECK(again.requests("initialize").size() == 1);
  CHECK(again.notifications("notifications/initialized").size() == 1);
  CHECK(again.requests("tools/list").size() == 1);  // its lists fetched again
  CHECK(backend_a(h).state() == BackendState::ready);
  CHECK(backend_a(h).restarts() == 1);

  h.request(5, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  auto calls = again.requests("tools/call");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["params"]["name"] == "echo");
  CHECK_FALSE(h.take_answer(5));
}

TEST_CASE("restarts: past max_restarts within the window the server is failed and delisted") {
  Harness h(kConfig, configure);
  listed(h);
  exit_and_restart(h);
  exit_and_restart(h, 200ms);  // initialized and exited at once: no reset
  h.advance(20ms);
  CHECK(h.take_method("notifications/tools/list_changed").empty());

  h.server("a").exit("exited with status 3");  // the third exit within 10 s
  CHECK(backend_a(h).state() == BackendState::failed);
  const std::string reason =
      "exited 3 times within 10000 ms (max_restarts 2); last: exited with status 3";
  CHECK(backend_a(h).last_error() == reason);
  h.advance(10ms);  // list_changed is coalesced for 10 ms
  CHECK(h.take_method("notifications/tools/list_changed").size() == 1);
  CHECK(tool_names(h) ==
        std::vector<std::string>{"b__echo", "gateway_list_servers", "gateway_health"});

  // A client that still knows the tool hears why it fails.
  h.request(6, "tools/call", {{"name", "a__echo"}, {"arguments", json::object()}});
  auto answer = h.take_answer(6);
  REQUIRE(answer);
  CHECK(tool_text(*answer) == "mcpbraid: server 'a' is unavailable: " + reason);
  h.advance(20000ms, 100ms);
  CHECK(h.world().spawns("a") == 3);
  CHECK(backend_a(h).state() == BackendState::failed);
}

TEST_CASE("restarts: exits spread wider than the window do not add up") {
  Harness h(R"({"mcpServers": {"a": {"command": "fake",
    "restart": {"initial_backoff": 100, "max_backoff": 100, "max_restarts": 1,
                "window": 1000}}}})",
            configure);
  listed(h);
  exit_and_restart(h);
  h.advance(1000ms, 50ms);  // the first exit leaves the window
  exit_and_restart(h);
  CHECK(backend_a(h).state() == BackendState::ready);
  h.server("a").exit();  // two exits within 1 s: past max_restarts 1
  CHECK(backend_a(h).state() == BackendState::failed);
}

TEST_CASE(
    "restarts: a crash right after each initialize doubles the backoff; 2*max_backoff up resets "
    "it") {
  Harness h(R"({"mcpServers": {"a": {"command": "fake",
    "restart": {"initial_backoff": 100, "max_backoff": 400, "max_restarts": 10,
                "window": 100000}}}})",
            configure);
  listed(h);
  exit_and_restart(h, 100ms);
  REQUIRE(backend_a(h).state() == BackendState::ready);
  exit_and_restart(h, 200ms);
  exit_and_restart(h, 400ms);
  exit_and_restart(h, 400ms);  // capped at max_backoff
  // Up for 799 ms after initializing: one short of 2 * max_backoff.
  h.advance(799ms, 50ms);
  exit_and_restart(h, 400ms);
  REQUIRE(backend_a(h).state() == BackendState::ready);
  h.advance(800ms, 50ms);
  exit_and_restart(h, 100ms);  // started over
  exit_and_restart(h, 200ms);
}

TEST_CASE("restarts: lists are fetched again; list_changed only when they changed") {
  // The third spawn of a has one more tool.
  Harness h(kConfig, [](FakeServer& s) {
    configure(s);
    if (s.name == "a" && s.spawn >= 3) s.tools.push_back(tool("added"));
  });
  // Every list fetched before, so that each has a before to compare with.
  listed(h);
  h.request("resources", "resources/list");
  REQUIRE(h.take_answer("resources"));
  h.request("templates", "resources/templates/list");
  REQUIRE(h.take_answer("templates"));
  h.take_all();

  exit_and_restart(h);
  CHECK(h.server("a").requests("tools/list").size() == 1);
  CHECK(h.server("a").requests("prompts/list").size() == 1);
  h.advance(50ms);
  CHECK(h.take_all().empty());  // the same lists: nothing to tell the client

  exit_and_restart(h, 200ms);  // up 50 ms, not 2 * max_backoff: the backoff grew
  h.advance(50ms);
  auto changed = h.take_all();
  REQUIRE(changed.size() == 1);
  CHECK(changed[0]["method"] == "notifications/tools/list_changed");
  CHECK(tool_names(h) == std::vector<std::string>{"a__echo", "a__added", "b__echo",
                                                  "gateway_list_servers", "gateway_health"});
  h.request(7, "tools/call", {{"name", "a__added"}, {"arguments", json::object()}});
  auto calls = h.server("a").requests("tools/call");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["params"]["name"] == "added");
}

TEST_CASE("restarts: a list the client never fetched is no news after a restart") {
  Harness h(kConfig, configure);
  listed(h);  // tools and prompts, never resources or templates
  h.take_all();
  exit_and_restart(h);
  h.advance(50ms);
  CHECK(h.take_all().empty());
}
