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

// ---- Toward a backend that speaks only 2026-07-28. ----

TEST_CASE("an initialize refusal naming 2026-07-28 marks a stateless backend") {
  json refusal{{"code", -32022},
               {"message", "Unsupported protocol version: 2025-06-18"},
               {"data", {{"supported", {"2026-07-28"}}, {"requested", "2025-06-18"}}}};
  CHECK(modern::offers_stateless(refusal));
  json other = refusal;
  other["data"]["supported"] = {"2027-01-01"};
  CHECK_FALSE(modern::offers_stateless(other));
  other = refusal;
  other["code"] = -32602;
  CHECK_FALSE(modern::offers_stateless(other));
  CHECK_FALSE(modern::offers_stateless({{"code", -32022}}));
  CHECK_FALSE(
      modern::offers_stateless({{"code", -32022}, {"data", {{"supported", "2026-07-28"}}}}));
  CHECK_FALSE(modern::offers_stateless("x"));
}

TEST_CASE("the envelope toward a backend") {
  json e = modern::backend_envelope({{"name", "c"}, {"version", "1"}}, {{"roots", json::object()}});
  CHECK(e == json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                  {"io.modelcontextprotocol/clientInfo", {{"name", "c"}, {"version", "1"}}},
                  {"io.modelcontextprotocol/clientCapabilities", {{"roots", json::object()}}}});
  // No client info known: ours; capabilities always an object.
  json ours = modern::backend_envelope(nullptr, nullptr);
  CHECK(ours["io.modelcontextprotocol/clientInfo"]["name"] == "mcpbraid");
  CHECK(ours["io.modelcontextprotocol/clientCapabilities"] == json::object());
}

TEST_CASE("a backend's discover result read as an initialize result") {
  json result{
      {"supportedVersions", {"2026-07-28"}},
      {"capabilities", {{"tools", {{"listChanged", true}}}}},
      {"instructions", "use it"},
      {"resultType", "complete"},
      {"_meta", {{"io.modelcontextprotocol/serverInfo", {{"name", "s"}, {"version", "2"}}}}}};
  auto read = modern::read_discover(result);
  CHECK(read.problem == "");
  CHECK(read.initialize_result == json{{"protocolVersion", "2026-07-28"},
                                       {"capabilities", {{"tools", {{"listChanged", true}}}}},
                                       {"serverInfo", {{"name", "s"}, {"version", "2"}}},
                                       {"instructions", "use it"}});
  json old = result;
  old["supportedVersions"] = {"2025-11-25"};
  CHECK(modern::read_discover(old).problem == "server/discover does not list 2026-07-28");
  json bare = result;
  bare.erase("capabilities");
  CHECK(modern::read_discover(bare).problem == "server/discover result has no capabilities object");
  CHECK(modern::read_discover(json::array()).problem == "server/discover result is not an object");
}

TEST_CASE("a modern backend's result as a legacy client sees it") {
  json r{{"content", json::array()},
         {"resultType", "complete"},
         {"ttlMs", 0},
         {"cacheScope", "private"},
         {"_meta", {{"io.modelcontextprotocol/serverInfo", {{"name", "s"}}}}}};
  modern::undecorate_result(r);
  CHECK(r == json{{"content", json::array()}});
  json kept{{"resultType", "complete"},
            {"_meta", {{"io.modelcontextprotocol/serverInfo", {{"name", "s"}}}, {"x", 1}}}};
  modern::undecorate_result(kept);
  CHECK(kept == json{{"_meta", {{"x", 1}}}});
  CHECK(modern::input_required({{"resultType", "input_required"}}));
  CHECK_FALSE(modern::input_required({{"resultType", "complete"}}));
  CHECK_FALSE(modern::input_required(json::array()));
  // The client gets a backend's input_required as it is, with our serverInfo.
  json asks{{"resultType", "input_required"}, {"inputRequests", json::object()}};
  modern::decorate_result(asks, "tools/call");
  CHECK(asks["resultType"] == "input_required");
  CHECK_FALSE(asks.contains("ttlMs"));
  CHECK(asks["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcpbraid");
}

TEST_CASE("resource-not-found from a modern backend is -32002 for a legacy client") {
  json e{{"code", -32602}, {"message", "Resource not found"}, {"data", {{"uri", "a://b"}}}};
  modern::legacy_error(e, "resources/read");
  CHECK(e["code"] == -32002);
  json plain{{"code", -32602}, {"message", "bad params"}};
  modern::legacy_error(plain, "resources/read");
  CHECK(plain["code"] == -32602);
  json other{{"code", -32602}, {"data", {{"uri", "a://b"}}}};
  modern::legacy_error(other, "tools/call");
  CHECK(other["code"] == -32602);
}

TEST_CASE("input capabilities: what a server's request needs, what an envelope declares") {
  using namespace mcpbraid::modern;
  CHECK(input_capability("roots/list") == kInputRoots);
  CHECK(input_capability("sampling/createMessage") == kInputSampling);
  CHECK(input_capability("elicitation/create") == kInputElicitation);
  CHECK(input_capability("tasks/get") == 0);
  CHECK(input_capability("ping") == 0);
  CHECK(input_capabilities(json::object()) == 0);
  CHECK(input_capabilities(json::array()) == 0);
  CHECK(input_capabilities(json{{"sampling", json::object()}, {"experimental", json::object()}}) ==
        kInputSampling);
  // Only an object declares a capability.
  CHECK(input_capabilities(json{{"elicitation", true}, {"roots", json::object()}}) == kInputRoots);
  CHECK(input_capabilities(json{{"elicitation", {{"form", json::object()}}},
                                {"sampling", json::object()},
                                {"roots", {{"listChanged", true}}}}) ==
        (kInputRoots | kInputSampling | kInputElicitation));
  CHECK(missing_capabilities_data(kInputElicitation) ==
        json::parse(R"({"requiredCapabilities":{"elicitation":{}}})"));
  CHECK(missing_capabilities_data(kInputRoots | kInputSampling) ==
        json::parse(R"({"requiredCapabilities":{"roots":{},"sampling":{}}})"));
}

TEST_CASE("log levels rank debug 1 to emergency 8, and back") {
  using namespace mcpbraid::modern;
  CHECK(log_rank("debug") == 1);
  CHECK(log_rank("warning") == 4);
  CHECK(log_rank("emergency") == 8);
  CHECK(log_rank("") == 0);
  CHECK(log_rank("Debug") == 0);
  CHECK(log_rank("warn") == 0);
  for (std::uint8_t r = 1; r <= 8; ++r) CHECK(log_rank(log_level_name(r)) == r);
  CHECK(log_level_name(0).empty());
  CHECK(log_level_name(9).empty());
}
