// JSON-RPC envelope: classification, reply builders, serialization, framing.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/jsonrpc.hpp"

using mcpbraid::json;
using mcpbraid::LineSplitter;
namespace rpc = mcpbraid::rpc;

namespace {

using Piece = LineSplitter::Piece;

// Every piece the splitter yields for what has been appended so far: lines
// as they are, oversized ones as "<oversized SIZE: HEAD>".
std::vector<std::string> drain(LineSplitter& splitter) {
  std::vector<std::string> lines;
  std::string line;
  for (;;) {
    Piece piece = splitter.next(line);
    if (piece == Piece::none) return lines;
    if (piece == Piece::line)
      lines.push_back(line);
    else
      lines.push_back("<oversized " + std::to_string(splitter.oversized_size()) + ": " + line +
                      ">");
  }
}

}  // namespace

TEST_CASE("a request with a method and an id is classified as a request") {
  auto m = rpc::parse_message(R"({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}})");
  CHECK(m.kind == rpc::Kind::Request);
  CHECK(m.method == "tools/list");
  CHECK(m.body["id"] == 7);
  CHECK(m.error_code == 0);
}

TEST_CASE("string ids, id zero and negative ids are all valid request ids") {
  auto s = rpc::parse_message(R"({"jsonrpc":"2.0","id":"abc","method":"ping"})");
  CHECK(s.kind == rpc::Kind::Request);
  CHECK(s.body["id"] == "abc");
  auto zero = rpc::parse_message(R"({"jsonrpc":"2.0","id":0,"method":"ping"})");
  CHECK(zero.kind == rpc::Kind::Request);
  CHECK(zero.body["id"] == 0);
  auto negative = rpc::parse_message(R"({"jsonrpc":"2.0","id":-3,"method":"ping"})");
  CHECK(negative.kind == rpc::Kind::Request);
}

TEST_CASE("a method without an id is a notification") {
  auto m = rpc::parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  CHECK(m.kind == rpc::Kind::Notification);
  CHECK(m.method == "notifications/initialized");
}

TEST_CASE("an id with exactly one of result or error is a response") {
  auto ok = rpc::parse_message(R"({"jsonrpc":"2.0","id":1,"result":{}})");
  CHECK(ok.kind == rpc::Kind::Response);
  CHECK(ok.method.empty());
  auto err =
      rpc::parse_message(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"nope"}})");
  CHECK(err.kind == rpc::Kind::Response);
  CHECK(err.body["error"]["code"] == -32601);
  auto null_id = rpc::parse_message(
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})");
  CHECK(null_id.kind == rpc::Kind::Response);
}

TEST_CASE("text that is not JSON is a parse error with no body") {
  auto m = rpc::parse_message("{not json");
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.error_code == rpc::kParseError);
  CHECK(m.error_code == -32700);
  CHECK(m.error_text == "Parse error: invalid JSON");
  CHECK(m.body.is_null());
}

TEST_CASE("valid JSON that is not an object is an invalid request") {
  for (const char* line : {"[1,2]", "42", "\"hello\"", "null", "[]"}) {
    CAPTURE(line);
    auto m = rpc::parse_message(line);
    CHECK(m.kind == rpc::Kind::Invalid);
    CHECK(m.error_code == rpc::kInvalidRequest);
    CHECK(m.error_text == "Invalid Request: not a JSON object");
  }
}

TEST_CASE("a message without jsonrpc 2.0 is an invalid request that keeps its body") {
  auto missing = rpc::parse_message(R"({"id":1,"method":"ping"})");
  CHECK(missing.kind == rpc::Kind::Invalid);
  CHECK(missing.error_code == -32600);
  CHECK(missing.error_text == "Invalid Request: jsonrpc must be \"2.0\"");
  CHECK(missing.body["id"] == 1);
  auto wrong = rpc::parse_message(R"({"jsonrpc":"1.0","id":1,"method":"ping"})");
  CHECK(wrong.error_code == -32600);
  auto number = rpc::parse_message(R"({"jsonrpc":2.0,"id":1,"method":"ping"})");
  CHECK(number.kind == rpc::Kind::Invalid);
  CHECK(number.error_code == -32600);
}

TEST_CASE("a non-string method is an invalid request") {
  auto m = rpc::parse_message(R"({"jsonrpc":"2.0","id":1,"method":5})");
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.error_code == -32600);
  CHECK(m.error_text == "Invalid Request: method must be a string");
}

TEST_CASE("request ids that are not a string or an integer are invalid") {
  for (const char* id : {"null", "1.5", "true", "{}", "[1]"}) {
    CAPTURE(id);
    auto m =
        rpc::parse_message(std::string(R"({"jsonrpc":"2.0","method":"ping","id":)") + id + "}");
    CHECK(m.kind == rpc::Kind::Invalid);
    CHECK(m.error_code == -32600);
    CHECK(m.error_text == "Invalid Request: id must be a string or an integer");
  }
}

TEST_CASE("params must be structured: object or array accepted, scalars rejected") {
  CHECK(rpc::parse_message(R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"a":1}})").kind ==
        rpc::Kind::Request);
  CHECK(rpc::parse_message(R"({"jsonrpc":"2.0","id":1,"method":"m","params":[1]})").kind ==
        rpc::Kind::Request);
  auto m = rpc::parse_message(R"({"jsonrpc":"2.0","id":1,"method":"m","params":"x"})");
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.error_code == -32600);
  CHECK(m.error_text == "Invalid Request: params must be an object");
}

TEST_CASE("something that is neither a request nor a response is invalid") {
  const char* lines[] = {
      R"({"jsonrpc":"2.0","id":1})",                                             // no result/error
      R"({"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":""}})",  // both
      R"({"jsonrpc":"2.0","result":{}})",                                        // no id
      R"({"jsonrpc":"2.0"})",
  };
  for (const char* line : lines) {
    CAPTURE(line);
    auto m = rpc::parse_message(line);
    CHECK(m.kind == rpc::Kind::Invalid);
    CHECK(m.error_code == -32600);
    CHECK(m.error_text == "Invalid Request: neither a request nor a response");
  }
}

TEST_CASE("id_key keeps the JSON type of an id so 1 and \"1\" differ") {
  CHECK(rpc::id_key(json(1)) == "1");
  CHECK(rpc::id_key(json("1")) == "\"1\"");
  CHECK(rpc::id_key(json(1)) != rpc::id_key(json("1")));
}

TEST_CASE("make_result builds a response echoing the id") {
  CHECK(rpc::to_line(rpc::make_result(json("a"), json{{"ok", true}})) ==
        R"({"id":"a","jsonrpc":"2.0","result":{"ok":true}})"
        "\n");
}

TEST_CASE("make_error includes data only when given") {
  json plain = rpc::make_error(nullptr, rpc::kParseError, "Parse error");
  CHECK(rpc::to_line(plain) ==
        R"({"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"})"
        "\n");
  CHECK_FALSE(plain["error"].contains("data"));

  json with_data = rpc::make_error(json(4), rpc::kInternalError, "backend unavailable",
                                   json{{"server", "fs"}, {"retry_after_ms", 1500}});
  CHECK(with_data["id"] == 4);
  CHECK(with_data["error"]["code"] == -32603);
  CHECK(with_data["error"]["message"] == "backend unavailable");
  CHECK(with_data["error"]["data"] == json{{"server", "fs"}, {"retry_after_ms", 1500}});
}

TEST_CASE("error code constants have their JSON-RPC and MCP values") {
  CHECK(rpc::kParseError == -32700);
  CHECK(rpc::kInvalidRequest == -32600);
  CHECK(rpc::kMethodNotFound == -32601);
  CHECK(rpc::kInvalidParams == -32602);
  CHECK(rpc::kInternalError == -32603);
  CHECK(rpc::kResourceNotFound == -32002);
}

TEST_CASE("make_request and make_notification omit absent params") {
  CHECK(rpc::to_line(rpc::make_request(json(0), "ping")) ==
        R"({"id":0,"jsonrpc":"2.0","method":"ping"})"
        "\n");
  CHECK(rpc::to_line(rpc::make_request(json(2), "tools/call", json{{"name", "x"}})) ==
        R"({"id":2,"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}})"
        "\n");
  CHECK(rpc::to_line(rpc::make_notification("notifications/tools/list_changed")) ==
        R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})"
        "\n");
  CHECK(rpc::to_line(rpc::make_notification("notifications/cancelled", json{{"requestId", 3}})) ==
        R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}})"
        "\n");
}

TEST_CASE("a built request parses back as the same request") {
  auto m = rpc::parse_message(
      rpc::to_line(rpc::make_request(json("r1"), "resources/read", json{{"uri", "file:///a"}})));
  CHECK(m.kind == rpc::Kind::Request);
  CHECK(m.method == "resources/read");
  CHECK(m.body["id"] == "r1");
  CHECK(m.body["params"]["uri"] == "file:///a");
}

TEST_CASE("to_line is a single compact line ending in a newline, even for embedded newlines") {
  std::string line = rpc::to_line(json{{"text", "a\nb"}});
  CHECK(line == "{\"text\":\"a\\nb\"}\n");
  CHECK(line.find('\n') == line.size() - 1);
}

TEST_CASE("to_line replaces invalid UTF-8 instead of throwing") {
  json message{{"text", std::string("ok\xff")}};
  std::string line;
  CHECK_NOTHROW(line = rpc::to_line(message));
  CHECK(line == "{\"text\":\"ok\xEF\xBF\xBD\"}\n");
}

TEST_CASE("the splitter yields complete lines and strips CRLF endings") {
  LineSplitter splitter;
  splitter.append("one\r\ntwo\nthree\r\n");
  CHECK(drain(splitter) == std::vector<std::string>{"one", "two", "three"});
  CHECK(splitter.oversized() == 0);
}

TEST_CASE("the splitter skips blank lines, including bare CRLF") {
  LineSplitter splitter;
  splitter.append("\n\r\nfirst\n\n\n\r\nsecond\n");
  CHECK(drain(splitter) == std::vector<std::string>{"first", "second"});
}

TEST_CASE("the splitter keeps inner carriage returns and spaces") {
  LineSplitter splitter;
  splitter.append("a\rb \n  x\n");
  CHECK(drain(splitter) == std::vector<std::string>{"a\rb ", "  x"});
}

TEST_CASE("lines of only spaces and tabs count as blank") {
  LineSplitter splitter;
  splitter.append("  \n\t \r\n{}\n");
  CHECK(drain(splitter) == std::vector<std::string>{"{}"});
}

TEST_CASE("a line split across chunks is yielded once complete") {
  LineSplitter splitter;
  std::string line;
  splitter.append(R"({"jsonrpc":"2.0",)");
  CHECK_FALSE(splitter.next(line));
  splitter.append(R"("id":1,"method":"ping"})");
  CHECK_FALSE(splitter.next(line));
  splitter.append("\r");
  CHECK_FALSE(splitter.next(line));
  splitter.append("\nnext");
  REQUIRE(splitter.next(line));
  CHECK(line == R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  CHECK_FALSE(splitter.next(line));
  splitter.append("\n");
  REQUIRE(splitter.next(line));
  CHECK(line == "next");
}

TEST_CASE("feeding a stream one byte at a time gives the same lines") {
  const std::string stream = "alpha\r\n\nbeta\ngamma\r\n";
  LineSplitter splitter;
  std::vector<std::string> lines;
  std::string line;
  for (char c : stream) {
    splitter.append(std::string_view(&c, 1));
    while (splitter.next(line) == Piece::line) lines.push_back(line);
  }
  CHECK(lines == std::vector<std::string>{"alpha", "beta", "gamma"});
}

TEST_CASE("many lines through one splitter survive buffer compaction") {
  LineSplitter splitter;
  std::vector<std::string> lines;
  std::string line;
  for (int i = 0; i < 2000; ++i) {
    // Lines straddle chunk boundaries: each chunk ends mid-line.
    splitter.append(std::to_string(i) + "\nline-");
    while (splitter.next(line) == Piece::line) lines.push_back(line);
  }
  REQUIRE(lines.size() == 2000);
  CHECK(lines[0] == "0");
  CHECK(lines[1] == "line-1");
  CHECK(lines[1999] == "line-1999");
}

TEST_CASE("a complete line longer than the limit is reported with its size, in stream order") {
  LineSplitter splitter(8);
  splitter.append("short\n0123456789abc\nok\n12345678\n");
  CHECK(drain(splitter) ==
        std::vector<std::string>{"short", "<oversized 13: 0123456789abc>", "ok", "12345678"});
  CHECK(splitter.oversized() == 1);
}

TEST_CASE("an oversized line keeps only its head") {
  LineSplitter splitter(16);
  std::string big(LineSplitter::kOversizedHead * 3, 'x');
  splitter.append(big + "\nok\n");
  std::string line;
  REQUIRE(splitter.next(line) == Piece::oversized);
  CHECK(line.size() == LineSplitter::kOversizedHead);
  CHECK(splitter.oversized_size() == big.size());
  REQUIRE(splitter.next(line) == Piece::line);
  CHECK(line == "ok");
}

TEST_CASE("a line at exactly the limit with CRLF is kept") {
  LineSplitter splitter(4);
  splitter.append("abcd\r\n");
  CHECK(drain(splitter) == std::vector<std::string>{"abcd"});
  CHECK(splitter.oversized() == 0);
}

TEST_CASE("a line at exactly the limit is kept even when its CR and LF arrive separately") {
  // Framing must not depend on chunk boundaries: "abcd\r\n" in one chunk is kept.
  LineSplitter splitter(4);
  std::string line;
  splitter.append("abcd\r");
  CHECK(splitter.next(line) == Piece::none);
  splitter.append("\n");
  REQUIRE(splitter.next(line) == Piece::line);
  CHECK(line == "abcd");
  CHECK(splitter.oversized() == 0);
}

TEST_CASE("a runaway partial line is dropped as it comes and reported when its newline arrives") {
  LineSplitter splitter(8);
  std::string line;
  splitter.append("0123456789");
  CHECK(splitter.next(line) == Piece::none);
  splitter.append("more-of-the-same-line");
  CHECK(splitter.next(line) == Piece::none);
  splitter.append("tail\nok\n");
  REQUIRE(splitter.next(line) == Piece::oversized);
  CHECK(line == "0123456789more-of-the-same-linetail");
  CHECK(splitter.oversized_size() == 35);
  REQUIRE(splitter.next(line) == Piece::line);
  CHECK(line == "ok");
  CHECK(splitter.next(line) == Piece::none);
}

TEST_CASE("one runaway line is counted once however many chunks it spans") {
  LineSplitter splitter(8);
  std::string line;
  for (int i = 0; i < 5; ++i) {
    splitter.append("0123456789");  // each chunk alone exceeds the limit
    CHECK(splitter.next(line) == Piece::none);
  }
  splitter.append("\nok\n");
  REQUIRE(splitter.next(line) == Piece::oversized);
  CHECK(splitter.oversized_size() == 50);
  REQUIRE(splitter.next(line) == Piece::line);
  CHECK(line == "ok");
  CHECK(splitter.oversized() == 1);
}

TEST_CASE("take_tail returns the unterminated last line at end of stream") {
  LineSplitter splitter;
  splitter.append("first\nlast-without-newline\r");
  CHECK(drain(splitter) == std::vector<std::string>{"first"});
  std::string tail;
  REQUIRE(splitter.take_tail(tail) == Piece::line);
  CHECK(tail == "last-without-newline");
  CHECK(splitter.take_tail(tail) == Piece::none);
}

TEST_CASE("take_tail has nothing when the stream ended on a newline or a lone CR") {
  std::string tail;
  LineSplitter empty;
  CHECK(empty.take_tail(tail) == Piece::none);

  LineSplitter terminated;
  terminated.append("done\n");
  CHECK(drain(terminated) == std::vector<std::string>{"done"});
  CHECK(terminated.take_tail(tail) == Piece::none);

  LineSplitter lone_cr;
  lone_cr.append("done\n\r");
  CHECK(drain(lone_cr) == std::vector<std::string>{"done"});
  CHECK(lone_cr.take_tail(tail) == Piece::none);
}

TEST_CASE("take_tail reports an unterminated runaway line as oversized, not as a line") {
  LineSplitter splitter(4);
  splitter.append("0123456789");
  std::string line;
  CHECK(splitter.next(line) == Piece::none);
  splitter.append("xy");
  CHECK(splitter.next(line) == Piece::none);
  REQUIRE(splitter.take_tail(line) == Piece::oversized);
  CHECK(line == "0123456789xy");
  CHECK(splitter.oversized_size() == 12);
  CHECK(splitter.oversized() == 1);
  CHECK(splitter.take_tail(line) == Piece::none);
}

TEST_CASE("nesting is measured without recursion, skipping strings") {
  CHECK_FALSE(rpc::nesting_exceeds(R"({"a":[1]})", 2));
  CHECK(rpc::nesting_exceeds(R"({"a":[1]})", 1));
  CHECK_FALSE(rpc::nesting_exceeds(R"({"a":"[[[[[[\"[[["})", 1));
  std::string deep = std::string(300000, '[') + std::string(300000, ']');
  CHECK(rpc::nesting_exceeds(deep, 128));
  CHECK_FALSE(rpc::nesting_exceeds(deep, 300000));
}

TEST_CASE("a client line nested deeper than the limit is an invalid request that keeps its id") {
  std::string line = R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":)" +
                     std::string(300000, '[') + std::string(300000, ']') + "}";
  auto m = rpc::parse_message(line, 128);
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.error_code == rpc::kInvalidRequest);
  CHECK(m.error_text.find("nested deeper than 128") != std::string::npos);
  CHECK(m.id == 7);
  // The id may come after the deep part, and be a string.
  std::string after = R"({"params":[[[[[[[[]]]]]]]],"id":"x-1","method":"m","jsonrpc":"2.0"})";
  auto late = rpc::parse_message(after, 4);
  CHECK(late.kind == rpc::Kind::Invalid);
  CHECK(late.id == "x-1");
}

TEST_CASE("peek_id reads the id from the head of a cut line, or gives null") {
  CHECK(rpc::peek_id(R"({"jsonrpc":"2.0","id":42,"result":{"content":[{"text":"xxxx)") == 42);
  CHECK(rpc::peek_id(R"({"id":"a\"b","x":1)") == "a\"b");
  CHECK(rpc::peek_id(R"({"jsonrpc":"2.0","result":{"content":"xxxx)").is_null());
  CHECK(rpc::peek_id(R"({"id":1.5})").is_null());
  CHECK(rpc::peek_id(R"({"id":{"x":1}})").is_null());
  CHECK(rpc::peek_id("[1,2]").is_null());
  CHECK(rpc::peek_id("").is_null());
  CHECK(rpc::peek_id(R"({"id":12)").is_null());  // the number may go on: unreadable
}

TEST_CASE("an invalid message keeps a readable id to echo") {
  auto m = rpc::parse_message(R"({"jsonrpc":"1.0","id":"q","method":"ping"})");
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.id == "q");
  auto bad_id = rpc::parse_message(R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})");
  CHECK(bad_id.id.is_null());
}

TEST_CASE("a NUL byte makes a line invalid JSON, whatever follows it (found by fuzz_message)") {
  std::string line =
      std::string(R"({"jsonrpc":"2.0","id":1,"method":"ping"})") + '\0' + "{\"id\":2";
  auto m = rpc::parse_message(line);
  CHECK(m.kind == rpc::Kind::Invalid);
  CHECK(m.error_code == rpc::kParseError);
}
