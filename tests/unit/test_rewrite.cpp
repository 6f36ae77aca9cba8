// Raw-byte rewrites of the fast path (core/rewrite): which tools/call lines
// may skip the DOM, the name spliced into params, and a response's id
// replaced without shifting a large body. A line wrongly accepted would be
// forwarded wrong; one wrongly refused only costs the full path.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/jsonrpc.hpp"
#include "core/rewrite.hpp"

using mcpbraid::json;
using mcpbraid::RawToolCall;
namespace rpc = mcpbraid::rpc;

namespace {

// Scans a copy of `line` in a heap block of exactly its size, so that
// AddressSanitizer sees a read past the end.
std::optional<RawToolCall> scan(std::string_view line, int max_depth = 128) {
  std::unique_ptr<char[]> exact(new char[line.size()]);
  if (!line.empty()) std::memcpy(exact.get(), line.data(), line.size());
  auto call = mcpbraid::scan_tool_call(std::string_view(exact.get(), line.size()), max_depth);
  // params points into the copy: re-point it into `line`, which the caller
  // keeps alive while it uses params.
  if (call) call->params = line.substr(call->params.data() - exact.get(), call->params.size());
  return call;
}

bool accepted(std::string_view line) {
  return scan(line).has_value();
}

// A tools/call with `id` and `params` as given (raw JSON text).
std::string call_line(std::string_view id, std::string_view params) {
  return std::string(R"({"jsonrpc":"2.0","id":)") + std::string(id) +
         R"(,"method":"tools/call","params":)" + std::string(params) + "}";
}

const char* kParams = R"({"name":"fs__read","arguments":{"path":"/tmp/a"}})";

}  // namespace

TEST_CASE("a plain tools/call with an integer id is located") {
  std::string line = call_line("42", kParams);
  auto call = scan(line);
  REQUIRE(call);
  CHECK(call->id == json(42));
  CHECK(call->key == "42");
  CHECK(call->key == rpc::id_key(call->id));
  CHECK(call->params == kParams);
  CHECK(call->name.of(call->params) == "\"fs__read\"");
  CHECK(call->name_text == "fs__read");
}

TEST_CASE("a plain string id is located, keyed apart from the same integer") {
  auto call = scan(call_line(R"("42")", kParams));
  REQUIRE(call);
  CHECK(call->id == json("42"));
  CHECK(call->key == "\"42\"");
  CHECK(call->key == rpc::id_key(call->id));
  auto negative = scan(call_line("-7", kParams));
  REQUIRE(negative);
  CHECK(negative->id == json(-7));
}

TEST_CASE("member order and whitespace do not matter") {
  std::string line =
      R"( { "params" : { "arguments" : {} , "name" : "t" } , "method" : "tools/call" ,)"
      R"( "id" : 1 , "jsonrpc" : "2.0" } )";
  auto call = scan(line);
  REQUIRE(call);
  CHECK(call->name_text == "t");
  CHECK(call->params == R"({ "arguments" : {} , "name" : "t" })");
  CHECK(call->name.of(call->params) == "\"t\"");
}

TEST_CASE("_meta below the top of params does not refuse the fast path") {
  CHECK(accepted(call_line("1", R"({"name":"t","arguments":{"_meta":{"progressToken":1}}})")));
}

TEST_CASE("a line that is not a valid JSON object takes the full path") {
  CHECK_FALSE(accepted(""));
  CHECK_FALSE(accepted("[1]"));
  CHECK_FALSE(accepted(call_line("1", kParams).substr(1)));
  CHECK_FALSE(accepted(call_line("1", kParams) + ","));
  CHECK_FALSE(accepted(call_line("1", R"({"name":"t","arguments":{"a":tru}})")));
  CHECK_FALSE(accepted(call_line("1", "{\"name\":\"t\xff\"}")));  // invalid UTF-8
}

TEST_CASE("nesting deeper than max_depth takes the full path") {
  std::string deep = call_line("1", R"({"name":"t","arguments":{"a":[[[1]]]}})");
  CHECK(scan(deep, 6));  // envelope, params, arguments, three arrays
  CHECK_FALSE(scan(deep, 5));
}

TEST_CASE("duplicate envelope members take the full path") {
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","id":1,"id":2,"method":"tools/call","params":)" +
                       std::string(kParams) + "}"));
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/call",)"
                       R"("params":{"name":"t"}})"));
}

TEST_CASE("a result or error member takes the full path") {
  std::string line = call_line("1", kParams);
  line.pop_back();
  CHECK_FALSE(accepted(line + R"(,"result":{}})"));
  CHECK_FALSE(accepted(line + R"(,"error":{"code":1,"message":"x"}})"));
}

TEST_CASE("absent params take the full path") {
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})"));
}

TEST_CASE("params that are not an object take the full path") {
  CHECK_FALSE(accepted(call_line("1", R"(["t"])")));
  CHECK_FALSE(accepted(call_line("1", R"("t")")));
  CHECK_FALSE(accepted(call_line("1", "null")));
  // The name of an object inside an array is not params.name.
  CHECK_FALSE(accepted(call_line("1", R"([{"name":"t"}])")));
}

TEST_CASE("jsonrpc other than the token \"2.0\" takes the full path") {
  std::string tail = R"(,"id":1,"method":"tools/call","params":{"name":"t"}})";
  CHECK_FALSE(accepted(R"({"jsonrpc":"1.0")" + tail));
  CHECK_FALSE(accepted(R"({"jsonrpc":2.0)" + tail));
  CHECK_FALSE(accepted(R"({"jsonrpc":"2\u002e0")" + tail));
  CHECK_FALSE(accepted(R"({"id":1,"method":"tools/call","params":{"name":"t"}})"));
}

TEST_CASE("a method other than the token \"tools/call\" takes the full path") {
  std::string head = R"({"jsonrpc":"2.0","id":1,"method":)";
  std::string tail = R"(,"params":{"name":"t"}})";
  CHECK(accepted(head + R"("tools/call")" + tail));
  CHECK_FALSE(accepted(head + R"("tools/list")" + tail));
  CHECK_FALSE(accepted(head + R"("prompts/get")" + tail));
  CHECK_FALSE(accepted(head + R"("tools\/call")" + tail));
  CHECK_FALSE(accepted(head + "1" + tail));
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","id":1,"params":{"name":"t"}})"));
}

TEST_CASE("an id that is not an integer or a plain string takes the full path") {
  for (const char* id : {"1.5", "1e3", "-1.0", "12345678901234567890", "null", "true", "{}", "[1]",
                         R"("a\"b")", R"("\u0031")"}) {
    CAPTURE(id);
    CHECK_FALSE(accepted(call_line(id, kParams)));
  }
  // No id at all is a notification.
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}})"));
}

TEST_CASE("a task-augmented call takes the full path (its answer names a task)") {
  CHECK_FALSE(accepted(call_line("1", R"({"name":"t","task":{"ttl":60000}})")));
  CHECK_FALSE(accepted(call_line("1", R"({"task":{},"name":"t"})")));
  // A "task" argument is the tool's own business.
  CHECK(accepted(call_line("1", R"({"name":"t","arguments":{"task":{}}})")));
}

TEST_CASE("_meta at the top of params takes the full path (its token is mapped)") {
  CHECK_FALSE(accepted(call_line("1", R"({"name":"t","_meta":{"progressToken":5}})")));
  CHECK_FALSE(accepted(call_line("1", R"({"_meta":{},"name":"t"})")));
}

TEST_CASE("a missing, empty, non-string or escaped name takes the full path") {
  CHECK_FALSE(accepted(call_line("1", R"({"arguments":{}})")));
  CHECK_FALSE(accepted(call_line("1", "{}")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":""})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":42})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":null})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":["t"]})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":"fs\u005f_read"})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":"a\"b"})")));
}

TEST_CASE("an escaped or repeated key in params takes the full path") {
  // An escaped key could spell "name" or "_meta".
  CHECK_FALSE(accepted(call_line("1", R"({"name":"t","\u005fmeta":{}})")));
  CHECK_FALSE(accepted(call_line("1", R"({"n\u0061me":"u","name":"t"})")));
  CHECK_FALSE(accepted(call_line("1", R"({"name":"t","name":"u"})")));
}

TEST_CASE("non-ASCII in the name is plain: located as is") {
  auto call = scan(call_line("1", "{\"name\":\"caf\xc3\xa9\"}"));
  REQUIRE(call);
  CHECK(call->name_text == "caf\xc3\xa9");
}

TEST_CASE("with_name splices the new name, JSON-encoded, and the rest is untouched") {
  std::string line = call_line("1", kParams);
  auto call = scan(line);
  REQUIRE(call);
  std::string params = mcpbraid::with_name(call->params, call->name, "read");
  CHECK(params == R"({"name":"read","arguments":{"path":"/tmp/a"}})");
  json parsed = json::parse(params);
  CHECK(parsed == json{{"name", "read"}, {"arguments", {{"path", "/tmp/a"}}}});
}

TEST_CASE("with_name escapes what a name needs and round-trips through a parser") {
  std::string line = call_line("1", R"({ "arguments" : [1,2] , "name" : "x" , "z" : null })");
  auto call = scan(line);
  REQUIRE(call);
  for (std::string name :
       {std::string("a\"b"), std::string("back\\slash"), std::string("tab\there"),
        std::string("nl\n"), std::string("caf\xc3\xa9"), std::string(1, '\0'), std::string("")}) {
    CAPTURE(name);
    std::string params = mcpbraid::with_name(call->params, call->name, name);
    json parsed = json::parse(params);
    CHECK(parsed["name"] == name);
    CHECK(parsed["arguments"] == json::array({1, 2}));
    CHECK(parsed["z"].is_null());
    CHECK(parsed.size() == 3);
  }
}

TEST_CASE("with_name replaces invalid UTF-8 rather than throwing") {
  std::string line = call_line("1", kParams);  // call->params points into it
  auto call = scan(line);
  REQUIRE(call);
  std::string params;
  CHECK_NOTHROW(params = mcpbraid::with_name(call->params, call->name, "bad\xff"));
  json parsed = json::parse(params);
  CHECK(parsed["name"] == "bad\xef\xbf\xbd");
}

namespace {

// A response line, its id span, and what it should become with `id_text`.
struct Response {
  std::string line;
  rpc::Span id;
};

Response response(std::string_view backend_id, std::size_t payload) {
  std::string head = R"({"jsonrpc":"2.0","id":)";
  Response r;
  r.line = head + std::string(backend_id) + R"(,"result":{"content":[{"type":"text","text":")" +
           std::string(payload, 'x') + "\"}]}}\n";
  r.id = rpc::Span{head.size(), head.size() + backend_id.size()};
  // Where the backend's reader (scan_envelope) would have found it.
  auto env = rpc::scan_envelope(r.line);
  REQUIRE(env);
  REQUIRE(env->id.begin == r.id.begin);
  REQUIRE(env->id.end == r.id.end);
  return r;
}

std::string expected(const Response& r, std::string_view id_text) {
  std::string line = r.line;
  line.replace(r.id.begin, r.id.end - r.id.begin, id_text);
  return line;
}

// What the writer sends: head, then body from body_offset.
std::string written(const mcpbraid::RewrittenLine& out) {
  REQUIRE(out.body_offset <= out.body.size());
  return out.head + out.body.substr(out.body_offset);
}

}  // namespace

TEST_CASE("a small response comes back as one line, whatever the id's length") {
  for (const char* id_text : {"1", "17", "123456", R"("a-string-id")"}) {
    CAPTURE(id_text);
    Response r = response("17", 100);
    std::string want = expected(r, id_text);
    auto out = mcpbraid::rewrite_response_id(r.line, r.id, id_text, 64 * 1024);
    CHECK(out.body.empty());
    CHECK(out.body_offset == 0);
    CHECK(out.head == want);
    CHECK(json::parse(out.head)["id"] == json::parse(id_text));
  }
}

TEST_CASE("a large response with an id of the same length is one line, rewritten in place") {
  Response r = response("17", 100 * 1024);
  auto out = mcpbraid::rewrite_response_id(r.line, r.id, "42", 64 * 1024);
  CHECK(out.body.empty());
  CHECK(out.head == expected(r, "42"));
}

TEST_CASE("a large response with a longer or shorter id is split: the body is not shifted") {
  for (const char* id_text : {"1", "123456", R"("client-request-7")"}) {
    CAPTURE(id_text);
    Response r = response("17", 100 * 1024);
    auto out = mcpbraid::rewrite_response_id(r.line, r.id, id_text, 64 * 1024);
    CHECK(out.head == R"({"jsonrpc":"2.0","id":)" + std::string(id_text));
    CHECK(out.body == r.line);  // the original bytes, untouched
    CHECK(out.body_offset == r.id.end);
    std::string line = written(out);
    CHECK(line == expected(r, id_text));
    CHECK(json::parse(line)["id"] == json::parse(id_text));
  }
}

TEST_CASE("the split starts at split_above bytes") {
  Response r = response("17", 1000);
  std::size_t size = r.line.size();
  auto below = mcpbraid::rewrite_response_id(r.line, r.id, "123", size + 1);
  CHECK(below.body.empty());
  CHECK(below.head == expected(r, "123"));
  auto at = mcpbraid::rewrite_response_id(r.line, r.id, "123", size);
  CHECK_FALSE(at.body.empty());
  CHECK(written(at) == expected(r, "123"));
}

TEST_CASE("the key of an accepted id is its token, equal to what id_key gives") {
  // The fast path keys a call by the id's token instead of dumping the id:
  // every id it accepts must give the same text as rpc::id_key.
  for (const char* id : {"0", "7", "-7", "123456789012345678", R"("")", R"("a b")", R"("é✓")",
                         R"("/path")", R"("1e3")", "\"del\x7f\""}) {
    CAPTURE(id);
    auto call = scan(call_line(id, kParams));
    REQUIRE(call);
    CHECK(call->key == id);
    CHECK(call->key == rpc::id_key(call->id));
  }
  // Tokens that dump differently go the full path.
  for (const char* id : {"-0", "1.0", "1e3", "01", R"("a\u0062")", R"("a\"b")"}) {
    CAPTURE(id);
    CHECK_FALSE(accepted(call_line(id, kParams)));
  }
}

TEST_CASE("append_json_string writes what dump writes") {
  for (std::string text :
       {std::string(""), std::string("tools/call"), std::string("fs__read"), std::string("a\"b"),
        std::string("back\\slash"), std::string("tab\t"), std::string("nul\0x", 5),
        std::string("del\x7f"), std::string("é✓ unicode"), std::string("bad \xff utf8"),
        std::string("cut \xe2\x9c")}) {
    CAPTURE(text);
    std::string out = "x";
    rpc::append_json_string(out, text);
    CHECK(out == "x" + json(text).dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

TEST_CASE("with_name splices a name that needs escaping as dump would") {
  std::string line = call_line("1", kParams);  // call->params points into it
  auto call = scan(line);
  REQUIRE(call);
  CHECK(mcpbraid::with_name(call->params, call->name, "read") ==
        R"({"name":"read","arguments":{"path":"/tmp/a"}})");
  CHECK(mcpbraid::with_name(call->params, call->name, "re\"ad") ==
        R"({"name":"re\"ad","arguments":{"path":"/tmp/a"}})");
}
