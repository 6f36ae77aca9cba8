// Shape checks of backend messages: what is wrong is named, nothing throws.
#include <doctest/doctest.h>

#include "core/shape.hpp"

namespace shape = mcpbraid::shape;
using nlohmann::json;

TEST_CASE("error objects need an integer code and a string message") {
  CHECK_FALSE(shape::error_object(json{{"code", -32601}, {"message", "nope"}, {"data", 1}}));
  CHECK(shape::error_object("boom") == "error is a string, expected an object");
  CHECK(shape::error_object(json{{"message", "x"}}) == "error.code is missing");
  CHECK(shape::error_object(json{{"code", "1"}, {"message", "x"}}) ==
        "error.code is a string, expected an integer");
  CHECK(shape::error_object(json{{"code", 1.5}, {"message", "x"}}) ==
        "error.code is a number, expected an integer");
  CHECK(shape::error_object(json{{"code", 1}}) == "error.message is missing");
  CHECK(shape::error_object(json{{"code", 1}, {"message", nullptr}}) ==
        "error.message is null, expected a string");
}

TEST_CASE("initialize results: an object whose known members have their types") {
  CHECK(shape::initialize_result(nullptr) == "result is null, expected an object");
  CHECK(shape::initialize_result(json::array()) == "result is an array, expected an object");
  CHECK_FALSE(shape::initialize_result(json::object()));
  CHECK_FALSE(shape::initialize_result(json{{"protocolVersion", "2025-11-25"},
                                            {"capabilities", json::object()},
                                            {"serverInfo", {{"name", "x"}}},
                                            {"instructions", "hi"}}));
  CHECK(shape::initialize_result(json{{"capabilities", "all"}}) ==
        "result.capabilities is a string, expected an object");
  CHECK(shape::initialize_result(json{{"protocolVersion", 2025}}) ==
        "result.protocolVersion is a number, expected a string");
}

TEST_CASE("list pages and entries") {
  CHECK_FALSE(shape::list_page("tools", json{{"tools", json::array()}, {"nextCursor", nullptr}}));
  CHECK(shape::list_page("tools", json{{"tools", json::object()}}) ==
        "result.tools is an object, expected an array");
  CHECK(shape::list_page("tools", json{{"nextCursor", 5}}) ==
        "result.nextCursor is a number, expected a string");
  json tool{{"name", "t"}, {"inputSchema", {{"type", "object"}}}};
  CHECK_FALSE(shape::list_item("tools", tool));
  json task = tool;
  task["execution"] = {{"taskSupport", 1}};
  CHECK(shape::list_item("tools", task) == "execution.taskSupport is a number, expected a string");
  CHECK(shape::list_item("tools", json{{"inputSchema", json::object()}}) == "name is missing");
  CHECK(shape::list_item("tools", json{{"name", ""}}) == "name is empty");
  CHECK(shape::list_item("tools", json{{"name", "t"}, {"inputSchema", "x"}}) ==
        "inputSchema is a string, expected an object");
  CHECK(shape::list_item("tools", 42) == "entry is a number, expected an object");
  CHECK(shape::list_item("prompts", json{{"name", "p"}, {"arguments", "x"}}) ==
        "arguments is a string, expected an array");
  CHECK_FALSE(shape::list_item("resources", json{{"uri", "a://b"}}));
  CHECK(shape::list_item("resources", json{{"uri", 1}}) == "uri is a number, expected a string");
  CHECK(shape::list_item("resourceTemplates", json{{"uri", "a://b"}}) == "uriTemplate is missing");
}

TEST_CASE("notifications and server requests") {
  CHECK_FALSE(shape::notification("notifications/custom", json{{"jsonrpc", "2.0"}}));
  CHECK(shape::notification("notifications/custom", json{{"params", "x"}}) ==
        "params is a string, expected an object");
  CHECK(shape::notification("notifications/progress", json{{"params", json::object()}}) ==
        "params.progressToken is missing");
  CHECK(shape::notification("notifications/progress",
                            json{{"params", {{"progressToken", json::array()}}}}) ==
        "params.progressToken is an array, expected a string or an integer");
  CHECK_FALSE(shape::notification("notifications/progress",
                                  json{{"params", {{"progressToken", "t"}, {"progress", 1}}}}));
  CHECK(shape::notification("notifications/message", json{{"jsonrpc", "2.0"}}) ==
        "params is missing");
  CHECK(shape::notification("notifications/cancelled", json{{"params", {{"requestId", true}}}}) ==
        "params.requestId is true, expected a string or an integer");
  CHECK(shape::server_request("roots/list", json{{"params", json::array()}}) ==
        "params is an array, expected an object");
  CHECK_FALSE(shape::server_request("roots/list", json{{"id", 1}}));
}
