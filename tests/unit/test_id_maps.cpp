// The ids the gateway substitutes: progress tokens given to backends, and
// the ids of backends' requests relayed to the client.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/call_table.hpp"
#include "core/id_maps.hpp"

using mcpbraid::CallHandle;
using mcpbraid::json;
using mcpbraid::ProgressMap;
using mcpbraid::UpstreamMap;
using mcpbraid::UpstreamRoute;

namespace {
std::vector<std::int64_t> ids_of(const std::vector<std::pair<std::int64_t, UpstreamRoute>>& all) {
  std::vector<std::int64_t> out;
  for (const auto& [id, route] : all) out.push_back(id);
  return out;
}
}  // namespace

TEST_CASE("progress tokens are fresh from 1 up and route back to the client's token") {
  ProgressMap map;
  CallHandle a{0, 1}, b{3, 7};
  CHECK(map.add(0, json("client-token"), a) == 1);
  CHECK(map.add(2, json(42), b) == 2);
  CHECK(map.size() == 2);

  const auto* first = map.find(1);
  REQUIRE(first != nullptr);
  CHECK(first->backend == 0);
  CHECK(first->client_token == json("client-token"));
  CHECK(first->call == a);
  const auto* second = map.find(2);
  REQUIRE(second != nullptr);
  CHECK(second->backend == 2);
  CHECK(second->client_token == json(42));
  CHECK(second->call == b);
  CHECK(map.find(0) == nullptr);
  CHECK(map.find(3) == nullptr);
}

TEST_CASE("an erased progress token is gone and never handed out again") {
  ProgressMap map;
  std::int64_t token = map.add(0, json(1), CallHandle{0, 1});
  map.erase(token);
  CHECK(map.find(token) == nullptr);
  CHECK(map.size() == 0);
  map.erase(token);  // twice is harmless
  map.erase(999);    // so is an unknown token
  // Late progress for the old token must not reach a newer call.
  CHECK(map.add(0, json(1), CallHandle{0, 2}) == token + 1);
}

TEST_CASE("upstream ids are fresh from 1 up; take returns the route once") {
  UpstreamMap map;
  CHECK(map.add(1, json(5), "sampling/createMessage") == 1);
  CHECK(map.add(0, json("x"), "roots/list") == 2);
  CHECK(map.size() == 2);

  auto route = map.take(1);
  REQUIRE(route.has_value());
  CHECK(route->backend == 1);
  CHECK(route->backend_id == json(5));
  CHECK(route->method == "sampling/createMessage");
  CHECK(map.size() == 1);
  CHECK_FALSE(map.take(1).has_value());  // a second answer is unknown
  CHECK_FALSE(map.take(77).has_value());
  CHECK_FALSE(map.find_by_backend(1, json(5)).has_value());
  CHECK(map.add(1, json(5), "sampling/createMessage") == 3);
}

TEST_CASE("a backend's id is found per backend, keeping its JSON type") {
  UpstreamMap map;
  std::int64_t number = map.add(0, json(5), "sampling/createMessage");
  std::int64_t text = map.add(0, json("5"), "elicitation/create");
  std::int64_t other = map.add(1, json(5), "roots/list");
  CHECK(map.find_by_backend(0, json(5)) == number);
  CHECK(map.find_by_backend(0, json("5")) == text);
  CHECK(map.find_by_backend(1, json(5)) == other);
  CHECK_FALSE(map.find_by_backend(1, json("5")).has_value());
  CHECK_FALSE(map.find_by_backend(2, json(5)).has_value());
  CHECK_FALSE(map.find_by_backend(0, json(6)).has_value());
  CHECK_FALSE(map.find_by_backend(0, json(nullptr)).has_value());
  // find does not remove.
  CHECK(map.size() == 3);
  CHECK(map.find_by_backend(0, json(5)) == number);
}

TEST_CASE("a backend id reused while still open names the oldest route first") {
  UpstreamMap map;
  std::int64_t first = map.add(0, json(9), "roots/list");
  std::int64_t second = map.add(0, json(9), "roots/list");
  CHECK(map.find_by_backend(0, json(9)) == first);
  REQUIRE(map.take(first).has_value());
  CHECK(map.find_by_backend(0, json(9)) == second);
  REQUIRE(map.take(second).has_value());
  CHECK_FALSE(map.find_by_backend(0, json(9)).has_value());
}

TEST_CASE("take_all(backend) removes that backend's routes, ordered by our id") {
  UpstreamMap map;
  for (int i = 0; i < 12; ++i) map.add(i % 3, json(i), "roots/list");  // ids 1..12
  auto taken = map.take_all(1);
  CHECK(ids_of(taken) == std::vector<std::int64_t>{2, 5, 8, 11});
  for (const auto& [id, route] : taken) CHECK(route.backend == 1);
  CHECK(taken.front().second.backend_id == json(1));
  CHECK(map.size() == 8);
  CHECK_FALSE(map.find_by_backend(1, json(4)).has_value());
  CHECK(map.find_by_backend(0, json(3)) == 4);
  CHECK(map.take_all(1).empty());
  CHECK(map.take_all(7).empty());
  CHECK(map.size() == 8);
}

TEST_CASE("take_all() with no backend removes every route, ordered by our id") {
  UpstreamMap map;
  map.add(2, json("a"), "elicitation/create");
  map.add(0, json("b"), "roots/list");
  map.add(1, json("c"), "sampling/createMessage");
  map.take(2);
  auto taken = map.take_all();
  CHECK(ids_of(taken) == std::vector<std::int64_t>{1, 3});
  CHECK(taken[0].second.method == "elicitation/create");
  CHECK(taken[1].second.backend == 1);
  CHECK(map.size() == 0);
  CHECK_FALSE(map.find_by_backend(2, json("a")).has_value());
  CHECK(map.take_all().empty());
  // Ids keep counting after a clear-out.
  CHECK(map.add(0, json(1), "roots/list") == 4);
}
