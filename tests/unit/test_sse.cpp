// The SSE parser (core/sse.hpp): the WHATWG "event stream interpretation"
// examples, line endings and BOMs split anywhere across feed() calls, id and
// retry rules, the max_event bound, end() in the middle of an event, and
// MCP-shaped streams as the TypeScript SDK's servers write them.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/sse.hpp"

using mcpbraid::sse::Event;
using mcpbraid::sse::Parser;

namespace {

struct Collector {
  std::vector<Event> events;
  Parser parser;
  explicit Collector(std::size_t max_event = 4 * 1024 * 1024)
      : parser([this](Event& e) { events.push_back(e); }, max_event) {}
};

// The events of `stream` fed in the pieces given (the stream then ends).
std::vector<Event> parse_pieces(const std::vector<std::string_view>& pieces) {
  Collector c;
  for (std::string_view p : pieces) c.parser.feed(p);
  c.parser.end();
  return c.events;
}

std::vector<Event> parse(std::string_view stream) {
  return parse_pieces({stream});
}

std::vector<Event> parse_bytewise(std::string_view stream) {
  Collector c;
  for (char ch : stream) c.parser.feed(std::string_view(&ch, 1));
  c.parser.end();
  return c.events;
}

bool same(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].type != b[i].type || a[i].data != b[i].data || a[i].id != b[i].id) return false;
  return true;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("sse: WHATWG example, three data lines join with newlines") {
  auto events = parse("data: YHOO\ndata: +2\ndata: 10\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "message");
  CHECK(events[0].data == "YHOO\n+2\n10");
  CHECK(events[0].id == "");
}

TEST_CASE("sse: WHATWG example, comment, ids and an unterminated last event") {
  Collector c;
  c.parser.feed(
      ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
      "data:  third event\n");
  REQUIRE(c.events.size() == 2);
  CHECK(c.events[0].data == "first event");
  CHECK(c.events[0].id == "1");
  CHECK(c.events[1].data == "second event");
  CHECK(c.events[1].id == "");  // a bare `id` resets the last event id
  CHECK(c.parser.last_event_id() == "");
  // The third event has no blank line yet; once it comes, one space is kept.
  c.parser.feed("\n");
  REQUIRE(c.events.size() == 3);
  CHECK(c.events[2].data == " third event");
}

TEST_CASE("sse: WHATWG example, `data` without a colon and a trailing `data:`") {
  Collector c;
  c.parser.feed("data\n\ndata\ndata\n\ndata:");
  c.parser.end();
  REQUIRE(c.events.size() == 2);
  CHECK(c.events[0].data == "");
  CHECK(c.events[1].data == "\n");
}

TEST_CASE("sse: WHATWG example, `data:test` and `data: test` are the same") {
  auto events = parse("data:test\n\ndata: test\n\n");
  REQUIRE(events.size() == 2);
  CHECK(events[0].data == "test");
  CHECK(events[1].data == "test");
  // Only one space is stripped, and only a space.
  events = parse("data:  two\n\ndata:\tx\n\ndata: a:b: c\n\n");
  REQUIRE(events.size() == 3);
  CHECK(events[0].data == " two");
  CHECK(events[1].data == "\tx");
  CHECK(events[2].data == "a:b: c");
}

TEST_CASE("sse: event types, reset after each dispatch") {
  auto events = parse(
      "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n"
      "data: plain\n\n"
      "event: lost\n\n"  // no data: nothing dispatched, the type is reset
      "data: after\n\n"
      "event:\ndata: empty type\n\n"
      "event: a\nevent: b\ndata: last wins\n\n");
  REQUIRE(events.size() == 7);
  CHECK(events[0].type == "add");
  CHECK(events[0].data == "73857293");
  CHECK(events[1].type == "remove");
  CHECK(events[1].data == "2153");
  CHECK(events[2].type == "add");
  CHECK(events[2].data == "113411");
  CHECK(events[3].type == "message");
  CHECK(events[4].type == "message");
  CHECK(events[4].data == "after");
  CHECK(events[5].type == "message");
  CHECK(events[6].type == "b");
}

TEST_CASE("sse: comments, unknown and misspelt fields change nothing") {
  auto events = parse(
      ":\n: keepalive\n:data: no\nData: no\ndata : no\nfoo: bar\nfoo\n \n"
      "data: yes\n:comment inside\nevent : no\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "message");
  CHECK(events[0].data == "yes");
}

TEST_CASE("sse: the last event id persists, an id with NUL is ignored") {
  Collector c;
  c.parser.feed("id: 7\ndata: a\n\ndata: b\n\n");
  CHECK(c.parser.last_event_id() == "7");
  c.parser.feed(std::string_view("id: 8\0x\ndata: c\n\n", 17));
  CHECK(c.parser.last_event_id() == "7");
  // An id takes effect at the blank line, with or without data.
  c.parser.feed("id: 9\n");
  CHECK(c.parser.last_event_id() == "7");
  c.parser.feed("\n");
  CHECK(c.parser.last_event_id() == "9");
  c.parser.feed("data: d\n\nid:\ndata: e\n\n");
  REQUIRE(c.events.size() == 5);
  CHECK(c.events[0].id == "7");
  CHECK(c.events[1].id == "7");
  CHECK(c.events[2].id == "7");
  CHECK(c.events[2].data == "c");
  CHECK(c.events[3].id == "9");
  CHECK(c.events[4].id == "");
  CHECK(c.parser.last_event_id() == "");
  // The id keeps any other bytes, a space past the first included.
  c.parser.feed("id:  x:y\xC3\xA9\ndata\n\n");
  REQUIRE(c.events.size() == 6);
  CHECK(c.events[5].id == " x:y\xC3\xA9");
}

TEST_CASE("sse: LF, CRLF and CR line endings give the same events") {
  const std::string lf =
      ": c\nevent: add\nid: 1\ndata: a\ndata:\ndata: b\n\ndata: c\n\nevent: x\n\ndata: d\n\n";
  auto want = parse(lf);
  REQUIRE(want.size() == 3);
  CHECK(want[0].type == "add");
  CHECK(want[0].data == "a\n\nb");
  CHECK(want[1].data == "c");
  CHECK(want[1].id == "1");
  CHECK(want[2].data == "d");
  CHECK(same(parse(replace_all(lf, "\n", "\r\n")), want));
  CHECK(same(parse(replace_all(lf, "\n", "\r")), want));
  // Mixed: "\r\r" and "\n\r" are two line endings, "\r\n" one.
  auto mixed = parse("data: a\r\n\rdata: b\n\rdata: c\r\r");
  REQUIRE(mixed.size() == 3);
  CHECK(mixed[0].data == "a");
  CHECK(mixed[1].data == "b");
  CHECK(mixed[2].data == "c");
  // "\n\r\n" is a blank line too (LF, then CRLF): one event, not two lines of data.
  auto lfcrlf = parse("data: a\n\r\ndata: b\n\n");
  REQUIRE(lfcrlf.size() == 2);
  CHECK(lfcrlf[0].data == "a");
}

TEST_CASE("sse: a CRLF split across feed() calls is one line ending") {
  const std::string stream = "data: a\r\ndata: b\r\n\r\nid: 3\r\ndata: c\r\n\r\n";
  auto want = parse(stream);
  REQUIRE(want.size() == 2);
  CHECK(want[0].data == "a\nb");
  CHECK(want[1].data == "c");
  CHECK(want[1].id == "3");
  // Every split into two feeds, and into three.
  std::string_view s = stream;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    CAPTURE(i);
    CHECK(same(parse_pieces({s.substr(0, i), s.substr(i)}), want));
    for (std::size_t j = i; j <= s.size(); ++j) {
      CAPTURE(j);
      CHECK(same(parse_pieces({s.substr(0, i), s.substr(i, j - i), s.substr(j)}), want));
    }
  }
  // A CR at the end of a feed, an empty feed, then the LF.
  CHECK(same(parse_pieces({"data: a\r", "", "\ndata: b\r", "", "\n\r", "\ndata: c\r\n\r\n"}),
             parse("data: a\ndata: b\n\ndata: c\n\n")));
  // A CR at the end of a feed followed by something else ends the line.
  auto events = parse_pieces({"data: a\r", "data: b\r", "\r"});
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "a\nb");
}

TEST_CASE("sse: a leading BOM is skipped, split anywhere, only at the start") {
  const std::string stream =
      "\xEF\xBB\xBF"
      "data: a\n\n";
  std::string_view s = stream;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    for (std::size_t j = i; j <= s.size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      auto events = parse_pieces({s.substr(0, i), s.substr(i, j - i), s.substr(j)});
      REQUIRE(events.size() == 1);
      CHECK(events[0].data == "a");
    }
  }
  CHECK(parse_bytewise(stream).size() == 1);
  // A second BOM belongs to the first line: the field is "\xEF\xBB\xBFdata".
  CHECK(parse("\xEF\xBB\xBF\xEF\xBB\xBF"
              "data: a\n\ndata: b\n\n")
            .size() == 1);
  // Not at the start: the field name has it.
  CHECK(parse("data: a\n\n\xEF\xBB\xBF"
              "data: b\n\n")
            .size() == 1);
  // A broken BOM is part of the first line, however it is split.
  for (std::string_view broken : {"\xEF\xBB"
                                  "data: x\n\ndata: y\n\n",
                                  "\xEF"
                                  "data: x\n\ndata: y\n\n",
                                  "\xEF\xBB\xEF\xBB\xBF"
                                  "data: x\n\ndata: y\n\n"}) {
    for (std::size_t i = 0; i <= broken.size(); ++i) {
      CAPTURE(i);
      auto events = parse_pieces({broken.substr(0, i), broken.substr(i)});
      REQUIRE(events.size() == 1);
      CHECK(events[0].data == "y");
    }
  }
  // A broken BOM that is a whole first line: "\xEF\xBB" then LF is an unknown field.
  auto events = parse("\xEF\xBB\ndata: z\n\n");
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == "z");
  // A lone partial BOM and end(): nothing, and the next stream may start with a BOM.
  Collector c;
  c.parser.feed("\xEF\xBB");
  c.parser.end();
  c.parser.feed("\xEF");
  c.parser.feed(
      "\xBB\xBF"
      "data: w\n\n");
  REQUIRE(c.events.size() == 1);
  CHECK(c.events[0].data == "w");
}

TEST_CASE("sse: one byte at a time gives the same events as all at once") {
  const std::string stream =
      "\xEF\xBB\xBF: hello\r\nretry: 2500\r\nevent: message\r\nid: 41\r\n"
      "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\r\n\r\n"
      "data: two\rdata: lines\r\r"
      "event: endpoint\ndata: /message?sessionId=abc\n\n"
      "id\ndata\n\n"
      "data: unterminated";
  auto whole = parse(stream);
  REQUIRE(whole.size() == 4);
  CHECK(whole[0].id == "41");
  CHECK(whole[1].data == "two\nlines");
  CHECK(whole[2].type == "endpoint");
  CHECK(whole[3].data == "");
  CHECK(whole[3].id == "");
  CHECK(same(parse_bytewise(stream), whole));
  Collector c;
  for (char ch : stream) c.parser.feed(std::string_view(&ch, 1));
  CHECK(c.parser.retry_ms() == 2500);
}

TEST_CASE("sse: retry only with ASCII digits, clamped past INT64_MAX") {
  Collector c;
  CHECK_FALSE(c.parser.retry_ms().has_value());
  auto retry_after = [&](std::string_view lines) {
    c.parser.feed(lines);
    return c.parser.retry_ms();
  };
  CHECK(retry_after("retry: 3000\n") == 3000);
  CHECK(retry_after("retry:0250\n") == 250);
  for (std::string_view bad :
       {"retry: 30a0\n", "retry: -1\n", "retry: +5\n", "retry: 1.5\n", "retry:\n", "retry\n",
        "retry:  10\n", "retry: 10 \n", "retry: \xD9\xA3\n"}) {
    CAPTURE(bad);
    CHECK(retry_after(bad) == 250);
  }
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  CHECK(retry_after("retry: 9223372036854775806\n") == kMax - 1);
  CHECK(retry_after("retry: 9223372036854775807\n") == kMax);
  CHECK(retry_after("retry: 1\n") == 1);
  CHECK(retry_after("retry: 9223372036854775808\n") == kMax);
  CHECK(retry_after("retry: 99999999999999999999999999999999999999\n") == kMax);
  // It takes effect at once, in an event that is never dispatched, and end() keeps it.
  CHECK(retry_after("data: x\nretry: 42\n") == 42);
  c.parser.end();
  CHECK(c.parser.retry_ms() == 42);
  CHECK(c.events.empty());
}

TEST_CASE("sse: an event over max_event is dropped and counted, the next one parsed") {
  Collector c(16);
  c.parser.feed("data: 0123456789abcdef\n\n");                   // exactly 16: kept
  c.parser.feed("data: 0123456789abcdefg\n\n");                  // 17: dropped
  c.parser.feed("data: 01234567\ndata: 0123456\n\n");            // 8 + '\n' + 7 = 16: kept
  c.parser.feed("data: 01234567\ndata: 01234567\ndata: x\n\n");  // 17 by its second line
  c.parser.feed("id: 5\nevent: big\ndata: 0123456789abcdefXYZ\ndata: more\n\n");
  c.parser.feed("data: next\n\n");
  REQUIRE(c.events.size() == 3);
  CHECK(c.events[0].data == "0123456789abcdef");
  CHECK(c.events[1].data == "01234567\n0123456");
  CHECK(c.events[2].data == "next");
  CHECK(c.events[2].type == "message");  // the big event's type did not leak
  CHECK(c.events[2].id == "5");          // its id took effect at its blank line
  CHECK(c.parser.oversized() == 3);
}

TEST_CASE("sse: an overlong line is not kept, however it is fed") {
  const std::size_t max_event = 16;
  const std::string huge(200 * 1024, 'x');
  for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{65536}, std::size_t{7}}) {
    CAPTURE(chunk);
    auto run = [&](const std::string& stream) {
      Collector c(max_event);
      for (std::size_t at = 0; at < stream.size(); at += chunk)
        c.parser.feed(std::string_view(stream).substr(at, chunk));
      c.parser.end();
      return c;
    };
    // A data line: dropped and counted; the event after it is fine.
    auto c = run("data: " + huge + "\r\n\r\ndata: ok\r\n\r\n");
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].data == "ok");
    CHECK(c.parser.oversized() == 1);
    // A comment or an unknown field: skipped as any other, nothing counted.
    c = run(":" + huge + "\ndata: ok\n\n" + huge + "\ndata: ok2\n\nfoo:" + huge + "\r\r");
    REQUIRE(c.events.size() == 2);
    CHECK(c.events[0].data == "ok");
    CHECK(c.events[1].data == "ok2");
    CHECK(c.parser.oversized() == 0);
    // An id or event line: its event is dropped, the last id stays.
    c = run("id: 1\n\nid: " + huge + "\ndata: a\n\nevent: " + huge + "\ndata: b\n\ndata: c\n\n");
    REQUIRE(c.events.size() == 1);
    CHECK(c.events[0].data == "c");
    CHECK(c.events[0].id == "1");
    CHECK(c.parser.oversized() == 2);
    // An overlong line cut by the stream's end: nothing, and no count.
    c = run("data: " + huge);
    CHECK(c.events.empty());
    CHECK(c.parser.oversized() == 0);
  }
  // A line just within max_event + 1 KiB is kept: an id of 1 KiB with max_event 16.
  Collector c(max_event);
  c.parser.feed("id: " + std::string(1024, 'i') + "\ndata: a\n\n");
  REQUIRE(c.events.size() == 1);
  CHECK(c.events[0].id.size() == 1024);
  CHECK(c.parser.oversized() == 0);
}

TEST_CASE("sse: end() discards the incomplete event and line, keeps id and retry") {
  Collector c;
  c.parser.feed("id: 1\nretry: 500\ndata: a\n\n");
  c.parser.feed("event: lost\nid: 2\ndata: partial\ndata: half a li");
  c.parser.end();
  CHECK(c.parser.last_event_id() == "1");  // the id of the discarded event never took effect
  CHECK(c.parser.retry_ms() == 500);
  c.parser.feed("ne\n\n");  // an unknown field "ne" in the new stream
  c.parser.feed("data: b\n\n");
  REQUIRE(c.events.size() == 2);
  CHECK(c.events[0].data == "a");
  CHECK(c.events[1].type == "message");
  CHECK(c.events[1].data == "b");
  CHECK(c.events[1].id == "1");
  // A too-big event cut by end() is discarded, not counted; the next is fine.
  Collector small(4);
  small.parser.feed("data: 123456");
  small.parser.end();
  small.parser.feed("data: 1234\n\n");
  small.parser.feed("data: 123456\n");
  small.parser.end();
  small.parser.feed("data: 12\n\n");
  REQUIRE(small.events.size() == 2);
  CHECK(small.events[0].data == "1234");
  CHECK(small.events[1].data == "12");
  CHECK(small.parser.oversized() == 0);
}

TEST_CASE("sse: MCP streams as the TypeScript SDK's servers write them") {
  Collector c;
  // The HTTP+SSE transport: the endpoint, then messages.
  c.parser.feed("event: endpoint\ndata: /message?sessionId=abc\n\n");
  c.parser.feed(
      "event: message\ndata: "
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n");
  // Streamable HTTP: a priming event (id, retry, empty data), keepalives, ids.
  c.parser.feed("id: 6f1c2d8e-0b9a-4c3e-9d7f-2a1b3c4d5e6f\nretry: 1000\ndata: \n\n");
  c.parser.feed(": keepalive\n\n");
  c.parser.feed(
      "event: message\nid: 0c7e9f1a-3b2d-4e5f-8a9b-1c2d3e4f5a6b\n"
      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
      "\"params\":{\"progressToken\":7,\"progress\":1,\"total\":3}}\n\n");
  REQUIRE(c.events.size() == 4);
  CHECK(c.events[0].type == "endpoint");
  CHECK(c.events[0].data == "/message?sessionId=abc");
  CHECK(c.events[1].type == "message");
  auto body = nlohmann::json::parse(c.events[1].data);
  CHECK(body["jsonrpc"] == "2.0");
  CHECK(body["id"] == 1);
  CHECK(body["result"]["tools"][0]["name"] == "echo");
  CHECK(c.events[2].type == "message");
  CHECK(c.events[2].data == "");
  CHECK(c.events[2].id == "6f1c2d8e-0b9a-4c3e-9d7f-2a1b3c4d5e6f");
  CHECK(c.parser.retry_ms() == 1000);
  CHECK(c.events[3].id == "0c7e9f1a-3b2d-4e5f-8a9b-1c2d3e4f5a6b");
  CHECK(nlohmann::json::parse(c.events[3].data)["params"]["progress"] == 1);
  CHECK(c.parser.last_event_id() == "0c7e9f1a-3b2d-4e5f-8a9b-1c2d3e4f5a6b");
}

TEST_CASE("sse: the callback may take the event's data") {
  std::vector<std::string> taken;
  Parser parser([&](Event& e) { taken.push_back(std::move(e.data)); });
  parser.feed("data: one\n\ndata: two\n\n");
  REQUIRE(taken.size() == 2);
  CHECK(taken[0] == "one");
  CHECK(taken[1] == "two");
}
