// Tasks (core/task_table): the ids the client sees in place of the
// backends', what a lost task is reported as, and the fields read from
// tasks messages.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/list_merge.hpp"
#include "core/task_table.hpp"

using nlohmann::json;
namespace tasks = mcpbraid::tasks;

TEST_CASE("two backends' equal task ids get different ids of ours, each routed back") {
  tasks::TaskTable table("run-");
  std::string a = table.adopt(0, "1", 1);
  std::string b = table.adopt(1, "1", 1);
  CHECK(a == "run-1");
  CHECK(b == "run-2");
  REQUIRE(table.find(a));
  CHECK(table.find(a)->backend == 0);
  CHECK(table.find(a)->theirs == "1");
  CHECK(table.find(b)->backend == 1);
  CHECK(table.find(b)->theirs == "1");
  // The same task again (a status notification, a tasks/get) keeps its id.
  CHECK(table.adopt(0, "1", 1) == a);
  CHECK(table.ours_for(1, "1") == b);
  CHECK_FALSE(table.ours_for(2, "1"));
  CHECK_FALSE(table.find("run-3"));
  CHECK(table.size() == 2);
}

TEST_CASE("the same id from a later start of the backend is another task") {
  tasks::TaskTable table;
  std::string before = table.adopt(0, "t", 1);
  std::string after = table.adopt(0, "t", 2);
  CHECK(before != after);
  CHECK(table.find(before)->serial == 1);
  CHECK(table.find(after)->serial == 2);
  CHECK(table.ours_for(0, "t") == after);
  // Both stay listed for that backend, oldest first.
  CHECK(table.of_backend(0) == std::vector<std::string>{before, after});
  CHECK(table.of_backend(1).empty());
}

TEST_CASE("the table keeps at most its bound, the oldest go first") {
  tasks::TaskTable table("", 3);
  for (int i = 0; i < 5; ++i) table.adopt(0, "t" + std::to_string(i), 1);
  CHECK(table.size() == 3);
  CHECK_FALSE(table.find("1"));
  CHECK_FALSE(table.find("2"));
  CHECK(table.find("3"));
  CHECK_FALSE(table.ours_for(0, "t0"));
  CHECK(table.ours_for(0, "t4") == "5");
}

TEST_CASE("a lost task is reported failed, with the reason and the times the SDK requires") {
  tasks::TaskRoute route{0, "abc", 1, 0, json::object()};
  route.last = {
      {"taskId", "x-1"},      {"status", "working"}, {"createdAt", "2026-12-03T10:00:00Z"},
      {"lastUpdatedAt", "t"}, {"ttl", 300000},       {"pollInterval", 1000}};
  json task = tasks::lost_task(route, "x-1", "server a restarted", "2026-12-03T10:05:00.000Z");
  CHECK(task == json{{"taskId", "x-1"},
                     {"status", "failed"},
                     {"statusMessage", "server a restarted"},
                     {"createdAt", "2026-12-03T10:00:00Z"},
                     {"lastUpdatedAt", "2026-12-03T10:05:00.000Z"},
                     {"ttl", 300000}});
  // Nothing seen: the times are now, ttl null (unlimited, as the spec allows).
  tasks::TaskRoute unseen{0, "abc", 1, 0, json::object()};
  json bare = tasks::lost_task(unseen, "x-2", "gone", "NOW");
  CHECK(bare["createdAt"] == "NOW");
  CHECK(bare["lastUpdatedAt"] == "NOW");
  CHECK(bare.contains("ttl"));
  CHECK(bare["ttl"].is_null());
  // An ended task keeps its status: a terminal status never changes.
  tasks::TaskRoute done{
      0, "abc", 1, 0, {{"taskId", "x-4"}, {"status", "completed"}, {"lastUpdatedAt", "t1"}}};
  json d = tasks::lost_task(done, "x-4", "gone", "NOW");
  CHECK(d["status"] == "completed");
  CHECK(d["lastUpdatedAt"] == "t1");
  CHECK_FALSE(d.contains("statusMessage"));
  // A cancelled task stays cancelled.
  tasks::TaskRoute cancelled{
      0, "abc", 1, 0, {{"status", "cancelled"}, {"lastUpdatedAt", "then"}, {"ttl", 5}}};
  json c = tasks::lost_task(cancelled, "x-3", "gone", "NOW");
  CHECK(c["status"] == "cancelled");
  CHECK(c["lastUpdatedAt"] == "then");
}

TEST_CASE("task fields are read only where they have the schema's types") {
  CHECK(tasks::task_augmented(json{{"name", "t"}, {"task", {{"ttl", 1000}}}}));
  CHECK(tasks::task_augmented(json{{"task", json::object()}}));
  CHECK_FALSE(tasks::task_augmented(json{{"task", true}}));
  CHECK_FALSE(tasks::task_augmented(json{{"name", "t"}}));
  CHECK_FALSE(tasks::task_augmented(json::array()));

  CHECK(tasks::task_id(json{{"taskId", "a"}}) == "a");
  CHECK(tasks::task_id(json{{"taskId", 5}}).empty());
  CHECK(tasks::task_id(json("a")).empty());

  json created = {{"task", {{"taskId", "a"}, {"status", "working"}}}};
  REQUIRE(tasks::created_task(created));
  CHECK((*tasks::created_task(created))["status"] == "working");
  json plain = {{"content", json::array()}};
  CHECK_FALSE(tasks::created_task(plain));
  json no_id = {{"task", {{"status", "working"}}}};
  CHECK_FALSE(tasks::created_task(no_id));

  json result = {{"content", json::array()},
                 {"_meta", {{"io.modelcontextprotocol/related-task", {{"taskId", "a"}}}}}};
  json* related = tasks::related_task(result);
  REQUIRE(related);
  *related = "ours";
  CHECK(result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == "ours");
  json bad = {{"_meta", {{"io.modelcontextprotocol/related-task", {{"taskId", 1}}}}}};
  CHECK_FALSE(tasks::related_task(bad));
  json none = {{"_meta", json::object()}};
  CHECK_FALSE(tasks::related_task(none));
}

TEST_CASE("capabilities: task-augmented calls, list and cancel") {
  json caps = {{"tasks",
                {{"list", json::object()},
                 {"cancel", json::object()},
                 {"requests", {{"tools", {{"call", json::object()}}}}}}}};
  CHECK(tasks::tool_calls(caps));
  CHECK(tasks::offers(caps, "list"));
  CHECK(tasks::offers(caps, "cancel"));
  json none = {{"tools", json::object()}};
  CHECK_FALSE(tasks::tool_calls(none));
  CHECK_FALSE(tasks::offers(none, "list"));
  CHECK_FALSE(tasks::tool_calls(json{{"tasks", {{"requests", {{"tools", true}}}}}}));
  CHECK(tasks::terminal("completed"));
  CHECK(tasks::terminal("failed"));
  CHECK(tasks::terminal("cancelled"));
  CHECK_FALSE(tasks::terminal("working"));
  CHECK_FALSE(tasks::terminal("input_required"));
}

TEST_CASE("times are RFC 3339 UTC with milliseconds") {
  CHECK(tasks::iso_time(0) == "1970-01-01T00:00:00.000Z");
  CHECK(tasks::iso_time(1796292000123) == "2026-12-03T10:00:00.123Z");
}

TEST_CASE("tools that run only as tasks are listed when their server takes task calls") {
  mcpbraid::ServerConfig server;
  server.name = "every";
  server.prefix = "every";
  std::vector<json> items = {
      {{"name", "echo"}, {"execution", {{"taskSupport", "forbidden"}}}},
      {{"name", "research"}, {"execution", {{"taskSupport", "required"}}}},
      {{"name", "maybe"}, {"execution", {{"taskSupport", "optional"}}}},
  };
  auto names = [](const mcpbraid::ExposedList& list) {
    std::vector<std::string> out;
    for (const auto& item : list.items) out.push_back(item["name"].get<std::string>());
    return out;
  };
  mcpbraid::Catalog with("__");
  auto shown = mcpbraid::expose_list(mcpbraid::ListKind::tools, server, items, with, nullptr,
                                     /*task_calls=*/true);
  CHECK(names(shown) == std::vector<std::string>{"every__echo", "every__research", "every__maybe"});
  CHECK(with.tools.find("every__research"));
  // A server that takes no task calls: nobody could call it, so it is left out.
  mcpbraid::Catalog without("__");
  auto hidden = mcpbraid::expose_list(mcpbraid::ListKind::tools, server, items, without, nullptr,
                                      /*task_calls=*/false);
  CHECK(names(hidden) == std::vector<std::string>{"every__echo", "every__maybe"});
  CHECK_FALSE(without.tools.find("every__research"));
}
