// Server -> client requests (backends/relay.cpp): relayed under ids of ours
// when the client declared the capability (else refused to the server with
// -32601), answers relayed back under the server's own id, withdrawn from
// the client with notifications/cancelled when the server exits.
#include <doctest/doctest.h>

#include "tests/gateway/harness.hpp"

using namespace mcpbraid;
using namespace mcpbraid::test;
using namespace std::chrono_literals;

namespace {

const char* kTwo = R"({"mcpServers": {"a": {"command": "fake"}, "b": {"command": "fake"}}})";

json sampling_request(const json& id, const std::string& prompt) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "sampling/createMessage"},
          {"params",
           {{"messages",
             json::array({{{"role", "user"}, {"content", {{"type", "text"}, {"text", prompt}}}}})},
            {"maxTokens", 100}}}};
}

// The responses a server received (lines with an id and no method).
std::vector<json> responses(const FakeServer& s) {
  std::vector<json> out;
  for (const auto& m : s.received)
    if (m.contains("id") && !m.contains("method")) out.push_back(m);
  return out;
}

}  // namespace

TEST_CASE("relay: a server's request reaches the client under our id, the answer goes back") {
  Harness h(kTwo);
  h.initialize({{"sampling", json::object()}});
  FakeServer& a = h.server("a");
  FakeServer& b = h.server("b");
  // Both use the same id for their own request.
  a.say(sampling_request("fx-1", "from a"));
  b.say(sampling_request("fx-1", "from b"));
  h.pump();
  auto asked = h.take_method("sampling/createMessage");
  REQUIRE(asked.size() == 2);
  CHECK(asked[0]["params"] == sampling_request("fx-1", "from a")["params"]);
  CHECK(asked[1]["params"] == sampling_request("fx-1", "from b")["params"]);
  CHECK(asked[0]["id"].is_number_integer());
  CHECK(asked[1]["id"].is_number_integer());
  CHECK(asked[0]["id"] != asked[1]["id"]);

  // Answered in reverse order: each answer reaches the server that asked.
  json result{{"role", "assistant"},
              {"model", "test-model"},
              {"content", {{"type", "text"}, {"text", "hi there"}}}};
  h.send({{"jsonrpc", "2.0"}, {"id", asked[1]["id"]}, {"result", result}});
  CHECK(responses(a).empty());
  REQUIRE(responses(b).size() == 1);
  CHECK(responses(b)[0] == json{{"jsonrpc", "2.0"}, {"id", "fx-1"}, {"result", result}});
  json rejected{{"code", -1}, {"message", "User rejected sampling request"}};
  h.send({{"jsonrpc", "2.0"}, {"id", asked[0]["id"]}, {"error", rejected}});
  REQUIRE(responses(a).size() == 1);
  CHECK(responses(a)[0] == json{{"jsonrpc", "2.0"}, {"id", "fx-1"}, {"error", rejected}});

  // A second answer to the same id, or to one never asked, goes nowhere.
  h.send({{"jsonrpc", "2.0"}, {"id", asked[0]["id"]}, {"result", result}});
  h.send({{"jsonrpc", "2.0"}, {"id", 987654}, {"result", json::object()}});
  CHECK(responses(a).size() == 1);
  CHECK(responses(b).size() == 1);
  CHECK(h.take_all().empty());

  // The next request gets a fresh id.
  a.say(sampling_request("fx-2", "again"));
  h.pump();
  auto next = h.take_method("sampling/createMessage");
  REQUIRE(next.size() == 1);
  CHECK(next[0]["id"] != asked[0]["id"]);
  CHECK(next[0]["id"] != asked[1]["id"]);
}

TEST_CASE("relay: without the client's capability the server gets -32601, the client nothing") {
  Harness h(kTwo);
  h.initialize({{"roots", json::object()}});
  FakeServer& a = h.server("a");
  a.say(sampling_request(5, "x"));
  a.say({{"jsonrpc", "2.0"},
         {"id", 6},
         {"method", "elicitation/create"},
         {"params", {{"message", "name?"}, {"requestedSchema", {{"type", "object"}}}}}});
  h.pump();
  auto refused = responses(a);
  REQUIRE(refused.size() == 2);
  CHECK(refused[0] ==
        json{{"jsonrpc", "2.0"},
             {"id", 5},
             {"error",
              {{"code", -32601}, {"message", "mcpbraid: the client does not support sampling"}}}});
  CHECK(refused[1]["id"] == 6);
  CHECK(refused[1]["error"] ==
        json{{"code", -32601}, {"message", "mcpbraid: the client does not support elicitation"}});
  CHECK(h.take_all().empty());

  // roots is declared: relayed.
  a.say({{"jsonrpc", "2.0"}, {"id", 7}, {"method", "roots/list"}, {"params", json::object()}});
  h.pump();
  auto asked = h.take_method("roots/list");
  REQUIRE(asked.size() == 1);
  h.send({{"jsonrpc", "2.0"}, {"id", asked[0]["id"]}, {"result", {{"roots", json::array()}}}});
  REQUIRE(responses(a).size() == 3);
  CHECK(responses(a)[2] ==
        json{{"jsonrpc", "2.0"}, {"id", 7}, {"result", {{"roots", json::array()}}}});
}

TEST_CASE("relay: a server's exit withdraws its requests from the client") {
  Harness h(kTwo);
  h.initialize({{"sampling", json::object()}});
  FakeServer& a = h.server("a");
  a.say(sampling_request("fx-1", "from a"));
  h.server("b").say(sampling_request("fx-1", "from b"));
  h.pump();
  auto asked = h.take_method("sampling/createMessage");
  REQUIRE(asked.size() == 2);
  json ours = asked[0]["id"];

  a.exit();
  h.pump();
  auto withdrawn = h.take_method("notifications/cancelled");
  REQUIRE(withdrawn.size() == 1);  // only a's request
  CHECK(withdrawn[0]["params"] == json{{"requestId", ours}, {"reason", "server a exited"}});

  // A late answer from the client is dropped, even once a is back.
  h.advance(2000ms, 20ms);
  REQUIRE(h.world().spawns("a") == 2);
  h.send({{"jsonrpc", "2.0"}, {"id", ours}, {"result", json::object()}});
  CHECK(responses(h.server("a")).empty());
  CHECK(responses(a).empty());
  // b's request is still open and answered.
  h.send({{"jsonrpc", "2.0"}, {"id", asked[1]["id"]}, {"result", json::object()}});
  CHECK(responses(h.server("b")).size() == 1);
}

TEST_CASE("relay: a server cancelling its own request tells the client under our id") {
  Harness h(kTwo);
  h.initialize({{"sampling", json::object()}});
  FakeServer& a = h.server("a");
  a.say(sampling_request("fx-9", "x"));
  h.pump();
  auto asked = h.take_method("sampling/createMessage");
  REQUIRE(asked.size() == 1);
  a.say({{"jsonrpc", "2.0"},
         {"method", "notifications/cancelled"},
         {"params", {{"requestId", "fx-9"}, {"reason", "took too long"}}}});
  h.pump();
  auto cancelled = h.take_method("notifications/cancelled");
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0]["params"] == json{{"requestId", asked[0]["id"]}, {"reason", "took too long"}});
  // The route is gone: the client's answer now goes nowhere.
  h.send({{"jsonrpc", "2.0"}, {"id", asked[0]["id"]}, {"result", json::object()}});
  CHECK(responses(a).empty());
}
