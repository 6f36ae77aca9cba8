// The 2026-07-28 revision toward the client (core/modern): the envelope's
// checks and their error codes, the shape of results, discover, and what the
// session takes from an envelope.
#include <doctest/doctest.h>

#include <string>

#include "core/client_session.hpp"
#include "core/jsonrpc.hpp"
#include "core/modern.hpp"

using mcpbraid::ClientSession;
using mcpbraid::json;
namespace modern = mcpbraid::modern;

namespace {

json envelope(json version = "2026-07-28") {
  return {{"_meta",
           {{"io.modelcontextprotocol/protocolVersion", version},
            {"io.modelcontextprotocol/clientInfo", {{"name", "c"}, {"version", "9"}}},
            {"io.modelcontextprotocol/clientCapabilities", {{"elicitation", json::object()}}},
            {"progressToken", 7}}}};
}

}  // namespace

TEST_CASE("a request is modern when its _meta names a protocol version") {
  CHECK(modern::is_modern({{"id", 1}, {"method", "tools/list"}, {"params", envelope()}}));
  CHECK(modern::is_modern({{"params", envelope(42)}}));  // a bad value: the envelope's error
  CHECK_FALSE(modern::is_modern({{"params", {{"_meta", {{"progressToken", 1}}}}}}));
  CHECK_FALSE(modern::is_modern({{"params", {{"_meta", "x"}}}}));
  CHECK_FALSE(modern::is_modern({{"method", "tools/list"}}));
}

TEST_CASE("a good envelope is read") {
  auto check = modern::read_envelope(envelope());
  REQUIRE(check.envelope);
  CHECK_FALSE(check.error);
  CHECK(check.envelope->client_info == json{{"name", "c"}, {"version", "9"}});
  CHECK(check.envelope->capabilities == json{{"elicitation", json::object()}});
  CHECK(check.envelope->log_level.empty());
  json p = envelope();
  p["_meta"]["io.modelcontextprotocol/logLevel"] = "warning";
  p["_meta"].erase("io.modelcontextprotocol/clientInfo");
  check = modern::read_envelope(p);
  REQUIRE(check.envelope);
  CHECK(check.envelope->log_level == "warning");
  CHECK(check.envelope->client_info.is_null());
}

TEST_CASE("a missing or malformed envelope field is -32602") {
  auto code_of = [](const json& params) {
    auto check = modern::read_envelope(params);
    REQUIRE(check.error);
    CHECK_FALSE(check.envelope);
    return check.error->code;
  };
  CHECK(code_of(json::object()) == -32602);
  CHECK(code_of(nullptr) == -32602);
  CHECK(code_of(envelope(7)) == -32602);
  CHECK(code_of(envelope("")) == -32602);
  json p = envelope();
  p["_meta"].erase("io.modelcontextprotocol/clientCapabilities");
  CHECK(code_of(p) == -32602);
  auto check = modern::read_envelope(p);
  CHECK(check.error->data["envelope"]["key"] == "io.modelcontextprotocol/clientCapabilities");
  p = envelope();
  p["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json::array();
  CHECK(code_of(p) == -32602);
  p = envelope();
  p["_meta"]["io.modelcontextprotocol/clientInfo"] = {{"name", "c"}};  // no version
  CHECK(code_of(p) == -32602);
  p = envelope();
  p["_meta"]["io.modelcontextprotocol/logLevel"] = "loud";
  CHECK(code_of(p) == -32602);
}

TEST_CASE("a version other than 2026-07-28 is -32022 with what we speak") {
  for (const char* version : {"1900-01-01", "2025-11-25", "2027-01-01"}) {
    auto check = modern::read_envelope(envelope(version));
    REQUIRE(check.error);
    CHECK(check.error->code == -32022);
    CHECK(check.error->data["requested"] == version);
    CHECK(check.error->data["supported"] ==
          json{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"});
  }
}

TEST_CASE("stripping the envelope keeps the other _meta keys") {
  json p = envelope();
  p["name"] = "t";
  modern::strip_envelope(p);
  CHECK(p == json{{"name", "t"}, {"_meta", {{"progressToken", 7}}}});
  p = envelope();
  p["_meta"].erase("progressToken");
  modern::strip_envelope(p);
  CHECK(p == json::object());  // an empty _meta goes
  json not_object = "x";
  modern::strip_envelope(not_object);
  CHECK(not_object == "x");
}

TEST_CASE("the removed methods") {
  for (const char* m : {"ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"})
    CHECK(modern::removed_method(m));
  for (const char* m : {"tools/call", "tools/list", "initialize", "server/discover"})
    CHECK_FALSE(modern::removed_method(m));
}

TEST_CASE("results get resultType, serverInfo, and cache fields where cacheable") {
  json call{{"content", json::array()}, {"_meta", {{"k", 1}}}};
  modern::decorate_result(call, "tools/call");
  CHECK(call["resultType"] == "complete");
  CHECK_FALSE(call.contains("ttlMs"));
  CHECK_FALSE(call.contains("cacheScope"));
  CHECK(call["_meta"]["k"] == 1);
  CHECK(call["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcpbraid");

  for (const char* m : {"tools/list", "prompts/list", "resources/list", "resources/templates/list",
                        "resources/read"}) {
    json list{{"items", json::array()}};
    modern::decorate_result(list, m);
    CHECK(list["ttlMs"] == 0);
    CHECK(list["cacheScope"] == "private");
  }
  // A backend's valid pair is kept; a half or invalid one is replaced.
  json read{{"contents", json::array()}, {"ttlMs", 5000}, {"cacheScope", "public"}};
  modern::decorate_result(read, "resources/read");
  CHECK(read["ttlMs"] == 5000);
  CHECK(read["cacheScope"] == "public");
  json half{{"contents", json::array()}, {"ttlMs", 5000}, {"cacheScope", "world"}};
  modern::decorate_result(half, "resources/read");
  CHECK(half["ttlMs"] == 0);
  CHECK(half["cacheScope"] == "private");
  json negative{{"ttlMs", -1}, {"cacheScope", "public"}};
  modern::decorate_result(negative, "tools/list");
  CHECK(negative["ttlMs"] == 0);

  json odd = "not an object";
  modern::decorate_result(odd, "completion/complete");
  CHECK(odd["resultType"] == "complete");
  json backend_says{{"resultType", "something"}};
  modern::decorate_result(backend_says, "tools/call");
  CHECK(backend_says["resultType"] == "complete");
}

TEST_CASE("resource-not-found becomes -32602; other codes stay") {
  CHECK(modern::error_code(-32002) == -32602);
  CHECK(modern::error_code(-32603) == -32603);
  CHECK(modern::error_code(-32601) == -32601);
  CHECK(modern::error_code(-32000) == -32000);
}

TEST_CASE("the discover result") {
  json caps{{"tools", {{"listChanged", true}}}};
  json r = modern::discover_result(caps, "## a\nuse it");
  CHECK(r["resultType"] == "complete");
  CHECK(r["supportedVersions"][0] == "2026-07-28");
  CHECK(r["supportedVersions"].size() == 5);
  CHECK(r["capabilities"] == caps);
  CHECK(r["instructions"] == "## a\nuse it");
  CHECK(r["ttlMs"] == 0);
  CHECK(r["cacheScope"] == "private");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"] == modern::server_info());
  CHECK_FALSE(modern::discover_result(caps, "").contains("instructions"));
}

TEST_CASE("the first envelope says what backends are told") {
  ClientSession s;
  CHECK_FALSE(s.modern_only());
  json caps{
      {"elicitation", json::object()}, {"sampling", json::object()}, {"experimental", {{"x", 1}}}};
  s.on_envelope({{"name", "v2"}, {"version", "2.4"}}, caps);
  CHECK(s.modern_only());
  CHECK(s.capabilities() == caps);
  CHECK(s.client_info() == json{{"name", "v2"}, {"version", "2.4"}});
  // A later envelope changes nothing.
  s.on_envelope({{"name", "other"}, {"version", "1"}}, {{"experimental", json::object()}});
  CHECK(s.client_info()["name"] == "v2");
  CHECK(s.capabilities() == caps);
  s.on_envelope(nullptr, "not an object");
  CHECK(s.capabilities() == caps);
}

TEST_CASE("an initialize wins over envelopes") {
  ClientSession s;
  s.on_envelope(nullptr, json::object());
  CHECK(s.client_info()["name"] == "mcpbraid");  // no clientInfo in the envelope
  REQUIRE(s.on_initialize({{"protocolVersion", "2025-06-18"},
                           {"capabilities", {{"sampling", json::object()}}},
                           {"clientInfo", {{"name", "legacy"}, {"version", "1"}}}}));
  CHECK_FALSE(s.modern_only());
  CHECK(s.capabilities() == json{{"sampling", json::object()}});
  CHECK(s.client_info()["name"] == "legacy");
  s.on_envelope({{"name", "late"}, {"version", "1"}}, json::object());
  CHECK(s.client_info()["name"] == "legacy");
}

TEST_CASE("multi round-trip: the methods, the input_required result, the retry's fields") {
  CHECK(modern::multi_round("tools/call"));
  CHECK(modern::multi_round("prompts/get"));
  CHECK(modern::multi_round("resources/read"));
  CHECK_FALSE(modern::multi_round("tools/list"));
  CHECK_FALSE(modern::multi_round("completion/complete"));

  json r = modern::input_required_result({{"i1", {{"method", "roots/list"}}}}, "S1");
  CHECK(r["resultType"] == "input_required");
  CHECK(r["inputRequests"]["i1"]["method"] == "roots/list");
  CHECK(r["requestState"] == "S1");
  CHECK(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcpbraid");
  CHECK_FALSE(r.contains("ttlMs"));

  json params{{"name", "t"},
              {"arguments", json::object()},
              {"requestState", "S1"},
              {"inputResponses", {{"i1", {{"roots", json::array()}}}}}};
  auto f = modern::take_retry_fields(params);
  CHECK(f.state == "S1");
  CHECK(f.responses == json{{"i1", {{"roots", json::array()}}}});
  CHECK(params == json{{"name", "t"}, {"arguments", json::object()}});
  json odd{{"requestState", 5}, {"inputResponses", "x"}};
  f = modern::take_retry_fields(odd);
  CHECK(f.state.empty());
  CHECK(f.responses == json::object());
  CHECK(odd == json::object());
}
