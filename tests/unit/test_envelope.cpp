// The envelope scanner (core/envelope): it must accept exactly the valid
// JSON objects (RFC 8259, strict UTF-8) and locate the top-level members the
// gateway routes by, because an accepted line is forwarded to the client
// with only its id rewritten. Accepting invalid JSON would forward garbage;
// rejecting valid JSON only costs the fast path.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/envelope.hpp"

namespace rpc = mcpbraid::rpc;

namespace {

// Scans a copy of `line` held in a heap block of exactly its size, so that
// AddressSanitizer reports any read past the end (a std::string would hide
// a one-byte over-read behind its terminator and spare capacity).
std::optional<rpc::Envelope> scan(std::string_view line) {
  std::unique_ptr<char[]> exact(new char[line.size()]);
  if (!line.empty()) std::memcpy(exact.get(), line.data(), line.size());
  return rpc::scan_envelope(std::string_view(exact.get(), line.size()));
}

bool accepted(std::string_view line) {
  return scan(line).has_value();
}

std::string text(const rpc::Span& span, std::string_view line) {
  return std::string(span.of(line));
}

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out += ' ';
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// `value` as the value of member "a" of an otherwise valid message.
std::string in_member(std::string_view value) {
  return std::string(R"({"jsonrpc":"2.0","id":1,"a":)") + std::string(value) + "}";
}

// `content` as the contents of a string value (quotes added).
std::string in_string(std::string_view content) {
  return in_member("\"" + std::string(content) + "\"");
}

// `bytes` inside a string of ASCII, after `before` plain bytes and followed
// by `after` plain bytes: the scanner skips plain ASCII 8 bytes at a time,
// so each offset modulo 8 meets a different code path.
std::string at_offset(std::string_view bytes, std::size_t before, std::size_t after) {
  return std::string(R"({"id":1,"a":")") + std::string(before, 'x') + std::string(bytes) +
         std::string(after, 'y') + "\"}";
}

// ---- the reference for the differential test ------------------------------

// Replaces the hex digits of every \uD800..\uDFFF escape with 0041 (same
// length, so offsets stay put). nlohmann rejects lone escaped surrogates and
// the scanner, by design, does not: after this both see the same thing.
std::string neutralize_surrogates(std::string s) {
  auto is_hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  for (std::size_t i = 0; i + 1 < s.size();) {
    if (s[i] != '\\') {
      ++i;
      continue;
    }
    if (s[i + 1] == 'u' && i + 5 < s.size() && is_hex(s[i + 2]) && is_hex(s[i + 3]) &&
        is_hex(s[i + 4]) && is_hex(s[i + 5])) {
      unsigned v = std::stoul(s.substr(i + 2, 4), nullptr, 16);
      if (v >= 0xD800 && v <= 0xDFFF) s.replace(i + 2, 4, "0041");
      i += 6;
    } else {
      i += 2;
    }
  }
  return s;
}

// Replaces the exponent digits of every number with zeros (same length).
// nlohmann rejects a number whose value overflows a double ("number
// overflow", e.g. 1e400) although RFC 8259 allows it; the scanner accepts
// it. Only digits change, so the grammar is what it was.
std::string neutralize_exponents(std::string s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (in_string) {
      if (s[i] == '\\')
        ++i;
      else if (s[i] == '"')
        in_string = false;
      continue;
    }
    if (s[i] == '"') {
      in_string = true;
    } else if ((s[i] == 'e' || s[i] == 'E') && i > 0 && digit(s[i - 1])) {
      std::size_t j = i + 1;
      if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
      for (; j < s.size() && digit(s[j]); ++j) s[j] = '0';
      i = j - 1;
    }
  }
  return s;
}

// The raw top-level keys of a line nlohmann has already accepted as an
// object, and whether one of them is written with an escape.
struct TopKeys {
  std::vector<std::string> keys;
  bool escaped = false;
};

TopKeys top_level_keys(std::string_view s) {
  TopKeys out;
  int depth = 0;
  char last = 0;  // last structural character outside strings
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      bool is_key = depth == 1 && (last == '{' || last == ',');
      std::size_t begin = ++i;
      bool escaped = false;
      while (s[i] != '"') {
        if (s[i] == '\\') escaped = true, ++i;
        ++i;
      }
      if (is_key) {
        out.keys.emplace_back(s.substr(begin, i - begin));
        out.escaped = out.escaped || escaped;
      }
      last = '"';
    } else if (c == '{' || c == '[') {
      ++depth, last = c;
    } else if (c == '}' || c == ']') {
      --depth, last = c;
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      last = c;
    }
  }
  return out;
}

const char* const kRouted[] = {"jsonrpc", "id", "method", "params", "result", "error"};

const rpc::Span& member(const rpc::Envelope& env, std::string_view key) {
  if (key == "jsonrpc") return env.jsonrpc;
  if (key == "id") return env.id;
  if (key == "method") return env.method;
  if (key == "params") return env.params;
  if (key == "result") return env.result;
  return env.error;
}

}  // namespace

TEST_SUITE_BEGIN("envelope");

// ---- spans -----------------------------------------------------------------

TEST_CASE("envelope: a compact response has its members located exactly") {
  std::string line =
      R"({"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->jsonrpc, line) == R"("2.0")");
  CHECK(text(env->id, line) == "42");
  CHECK(text(env->result, line) == R"({"content":[{"type":"text","text":"hi"}],"isError":false})");
  CHECK_FALSE(env->method.present());
  CHECK_FALSE(env->params.present());
  CHECK_FALSE(env->error.present());
  CHECK_FALSE(env->duplicate);
}

TEST_CASE("envelope: whitespace around every token stays out of the spans, members in any order") {
  std::string line =
      " \t{ \"result\" :\r\n [1, {\"id\": 9} , \"x\"]\t,\n \"id\"\t:\t\"abc\" , "
      "\"jsonrpc\" : \"2.0\"\r\n}\r\n";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->result, line) == R"([1, {"id": 9} , "x"])");
  CHECK(text(env->id, line) == R"("abc")");
  CHECK(text(env->jsonrpc, line) == R"("2.0")");
  CHECK_FALSE(env->method.present());
  CHECK_FALSE(env->params.present());
  CHECK_FALSE(env->error.present());
  CHECK_FALSE(env->duplicate);
}

TEST_CASE("envelope: a request's method, params and id; nested routed names stay nested") {
  std::string line =
      R"({"method":"tools/call","params":{"name":"x","arguments":{"id":1,"result":2,)"
      R"("error":3,"method":"m","jsonrpc":"1.0","params":[]}},"id":-7,"jsonrpc":"2.0"})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->method, line) == R"("tools/call")");
  CHECK(
      text(env->params, line) ==
      R"({"name":"x","arguments":{"id":1,"result":2,"error":3,"method":"m","jsonrpc":"1.0","params":[]}})");
  CHECK(text(env->id, line) == "-7");
  CHECK(text(env->jsonrpc, line) == R"("2.0")");
  CHECK_FALSE(env->result.present());
  CHECK_FALSE(env->error.present());
  CHECK_FALSE(env->duplicate);
}

TEST_CASE("envelope: a notification has no id even when its params hold ids and results") {
  std::string line = R"({"jsonrpc":"2.0","method":"notifications/progress",)"
                     R"("params":{"id":5,"result":{"id":6,"error":null},"list":[{"id":7}]}})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->method, line) == R"("notifications/progress")");
  CHECK(text(env->params, line) == R"({"id":5,"result":{"id":6,"error":null},"list":[{"id":7}]})");
  CHECK_FALSE(env->id.present());
  CHECK_FALSE(env->result.present());
  CHECK_FALSE(env->error.present());
  CHECK_FALSE(env->duplicate);
}

TEST_CASE("envelope: routed names inside string values are not members") {
  std::string line = R"({"method":"x","params":"\"id\":1,\"result\":2","note":"{\"error\":3}"})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->params, line) == R"("\"id\":1,\"result\":2")");
  CHECK_FALSE(env->id.present());
  CHECK_FALSE(env->result.present());
  CHECK_FALSE(env->error.present());
}

TEST_CASE("envelope: an error response with a null id") {
  std::string line =
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->id, line) == "null");
  CHECK(text(env->error, line) == R"({"code":-32700,"message":"Parse error"})");
  CHECK_FALSE(env->result.present());
}

TEST_CASE("envelope: every kind of value is spanned exactly") {
  const char* values[] = {"0",
                          "-0",
                          "-1.5e+10",
                          "1E-2",
                          "0.25",
                          "123456789012345678901234567890",
                          "true",
                          "false",
                          "null",
                          "\"\"",
                          "{}",
                          "[]",
                          "{ }",
                          "[ ]",
                          R"("a\"b\\c\u00e9\/\b\f\n\r\t")",
                          R"([[[]],{"a":{}}])",
                          "\"\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\""};
  for (const char* v : values) {
    for (const char* key : kRouted) {
      std::string line = std::string("{\"z\":0, \"") + key + "\" : " + v + " ,\"y\":1}";
      CAPTURE(line);
      auto env = scan(line);
      REQUIRE(env);
      CHECK(text(member(*env, key), line) == v);
    }
  }
}

TEST_CASE("envelope: an empty object is accepted with nothing present") {
  for (const char* line : {"{}", "{ }", " \r\n\t{\n}\n "}) {
    CAPTURE(line);
    auto env = scan(line);
    REQUIRE(env);
    for (const char* key : kRouted) CHECK_FALSE(member(*env, key).present());
    CHECK_FALSE(env->duplicate);
  }
}

TEST_CASE("envelope: a routed member given twice at the top level is flagged") {
  for (const char* key : kRouted) {
    CAPTURE(key);
    std::string k = key;
    std::string line = "{\"" + k + "\":1,\"other\":true,\"" + k + "\" : 2}";
    auto env = scan(line);
    REQUIRE(env);
    CHECK(env->duplicate);
    CHECK(text(member(*env, key), line) == "2");  // the last one, as nlohmann keeps
    // Three times is still a duplicate.
    auto thrice = scan("{\"" + k + "\":1,\"" + k + "\":2,\"" + k + "\":3}");
    REQUIRE(thrice);
    CHECK(thrice->duplicate);
  }
}

TEST_CASE("envelope: duplicates that do not matter are not flagged") {
  // Unrouted names, names that only look routed, and duplicates one level down.
  for (const char* line : {
           R"({"a":1,"a":2,"id":3})",
           R"({"id":1,"ids":2,"Id":3,"ID":4,"i":5,"id ":6," id":7,"idid":8})",
           R"({"params":{"id":1,"id":2},"id":3})",
           R"({"result":[{"id":1},{"id":2}],"id":3})",
           R"({"jsonrpc":"2.0","id":1,"method":"m","params":{},"result":{},"error":{}})",
       }) {
    CAPTURE(line);
    auto env = scan(line);
    REQUIRE(env);
    CHECK_FALSE(env->duplicate);
  }
  std::string line = R"({"id":1,"ids":2,"Id":3,"ID":4,"i":5,"id ":6," id":7,"idid":8})";
  CHECK(text(scan(line)->id, line) == "1");
}

TEST_CASE(
    "envelope: raw UTF-8 in top-level keys is fine; escaped top-level keys take the slow path") {
  std::string line = "{\"\xc3\xa9\":1,\"id\":2,\"\xf0\x9f\x98\x80\":3}";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->id, line) == "2");
  // An escaped key could spell a routed name, so it is not looked at.
  CHECK_FALSE(accepted(R"({"\u0069d":1})"));
  CHECK_FALSE(accepted(R"({"jsonrpc":"2.0","\u0069d":1,"result":{}})"));
  CHECK_FALSE(accepted(R"({"\u0061":1,"id":2})"));
  CHECK_FALSE(accepted(R"({"a\nb":1,"id":2})"));
  CHECK_FALSE(accepted(R"({"id":1,"\"":2})"));
  // Escaped keys further down are only validated.
  std::string nested = R"({"params":{"\u0069d":1,"a\"b":[{"\n":2}]},"id":3})";
  auto deep = scan(nested);
  REQUIRE(deep);
  CHECK(text(deep->id, nested) == "3");
  CHECK(text(deep->params, nested) == R"({"\u0069d":1,"a\"b":[{"\n":2}]})");
}

TEST_CASE("envelope: an escaped quote or backslash at every offset does not end a string") {
  for (const char* esc : {"\\\"", "\\\\", "\\u0022", "\\/"}) {
    for (std::size_t before = 0; before < 16; ++before) {
      for (std::size_t after : {0, 1, 7, 8, 9, 15}) {
        std::string value = "\"" + std::string(before, 'x') + esc + std::string(after, 'y') + "\"";
        std::string line = "{\"result\":" + value + ",\"id\":3}";
        CAPTURE(line);
        auto env = scan(line);
        REQUIRE(env);
        CHECK(text(env->result, line) == value);
        CHECK(text(env->id, line) == "3");
      }
    }
  }
}

// ---- rejection ---------------------------------------------------------------

TEST_CASE("envelope: only an object is an envelope") {
  for (const char* line : {"", " ", "\n", "[]", R"([{"id":1}])", R"("{\"id\":1}")", "42", "-1",
                           "true", "false", "null", "}", "{", "{{}}", "[{}]"}) {
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
  // The same values are fine as a member.
  for (const char* v : {"[]", R"([{"id":1}])", "\"x\"", "42", "true", "null"}) {
    CAPTURE(v);
    CHECK(accepted(in_member(v)));
  }
}

TEST_CASE("envelope: nothing but whitespace may follow the object") {
  for (const char* tail : {"x", "{}", ",", "]", "}", " 1", "\"\"", "//c", "/*c*/", "null", "\v",
                           "\f", "\xc2\xa0", "\xef\xbb\xbf", "\x1f", "\x7f", "\x80"}) {
    std::string line = std::string(R"({"id":1})") + tail;
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
  CHECK_FALSE(accepted(std::string(R"({"id":1})") + '\0'));
  CHECK_FALSE(accepted(std::string(R"({"id":1}  )") + '\0' + "\n"));
  CHECK_FALSE(accepted(std::string(1, '\0') + R"({"id":1})"));
  for (const char* head : {"\v", "\f", "x", ",", "\xc2\xa0"}) {
    std::string line = std::string(head) + R"({"id":1})";
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
  // A byte order mark is not JSON text (RFC 8259 8.1): the slow path decides.
  CHECK_FALSE(accepted("\xef\xbb\xbf{\"id\":1}"));
  for (const char* ws : {" ", "\t", "\n", "\r", "\r\n", " \t\r\n "}) {
    CHECK(accepted(std::string(ws) + R"({"id":1})" + ws));
  }
}

TEST_CASE("envelope: no proper prefix of a valid message is accepted") {
  const char* messages[] = {
      R"({"jsonrpc":"2.0","id":12,"result":{"content":[{"type":"text","text":"a\"b\\c\u00e9"}],"n":-1.5e+3,"t":true,"f":false,"z":null}})",
      R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"x","arguments":{"a":[1,2.0,3e1,{}]}},"id":"s-1"})",
      "{ \"id\" : 7 , \"result\" : [ \"\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\" , { } , [ ] , 0 ] }",
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found","data":"\ud83d\ude00"}})",
      R"({})",
  };
  for (const char* message : messages) {
    std::string line = message;
    CAPTURE(line);
    REQUIRE(accepted(line));
    for (std::size_t n = 0; n < line.size(); ++n) {
      std::string prefix = line.substr(0, n);
      CAPTURE(n);
      CHECK_FALSE(accepted(prefix));
      CHECK_FALSE(accepted(prefix + "\n"));
    }
  }
}

TEST_CASE("envelope: misspelled literals are rejected") {
  for (const char* v : {"tru",   "nul",       "fals", "True",  "TRUE",  "Null",     "NULL",
                        "False", "t",         "n",    "f",     "nulll", "truex",    "falsey",
                        "nil",   "undefined", "tRue", "nu ll", "true1", "null\"\"", "t\"rue\""}) {
    CAPTURE(v);
    CHECK_FALSE(accepted(in_member(v)));
  }
  // Truncated literals at the very end of the line.
  for (const char* line :
       {R"({"a":t)", R"({"a":tru)", R"({"a":nul)", R"({"a":fals)", R"({"a":true)"}) {
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
}

TEST_CASE("envelope: numbers outside the JSON grammar are rejected") {
  for (const char* v :
       {"01",       "00",        "-01",  "1.",    "0.",           "-1.", ".5",    "-.5",
        "-",        "--1",       "- 1",  "1e",    "1E",           "1e+", "1e-",   "1.e5",
        "1.5e",     "+1",        "+0",   "0x10",  "0X10",         "0b1", "1_000", "1,5",
        "1..2",     "1.2.3",     "1ee2", "1e2e3", "1e2.5",        "NaN", "-NaN",  "nan",
        "Infinity", "-Infinity", "inf",  "1 2",   "\xef\xbc\x91", "١",   "1f",    "1L",
        "1d",       "e5",        "E5",   "0e",    "-e1"}) {
    CAPTURE(v);
    CHECK_FALSE(accepted(in_member(v)));
  }
  // Valid by the grammar, including magnitudes a double cannot hold (1e999:
  // RFC 8259 allows them; nlohmann rejects them as "number overflow").
  for (const char* v :
       {"0", "-0", "1", "-1", "10", "1.5", "-0.0", "0e0", "0E+0", "1e-0", "-0.0e-0", "1E+2",
        "123456789012345678901234567890", "1e999", "-1e-999", "3.141592653589793238462643383279"}) {
    CAPTURE(v);
    CHECK(accepted(in_member(v)));
    CHECK(accepted("{\"a\":[" + std::string(v) + "," + v + "]}"));
  }
}

TEST_CASE("envelope: invalid escapes are rejected") {
  for (const char* s :
       {"\\x41",   "\\u12",      "\\u12G4",       "\\u",    "\\u1",   "\\u123", "\\uGGGG",
        "\\u 123", "\\U0041",    "\\a",           "\\0",    "\\'",    "\\v",    "\\e",
        "\\ ",     "\\\xc3\xa9", "\\u00\xc3\xa9", "\\\x01", "\\\\\\", "\\-"}) {
    CAPTURE(s);
    CHECK_FALSE(accepted(in_string(s)));
  }
  // An escape cut off by the end of the line.
  for (const char* line :
       {R"({"a":"\)", R"({"a":"\u)", R"({"a":"\u12)", R"({"a":"\u123)", R"({"a":"\u1234)"}) {
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
  for (const char* s :
       {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u00E9", "\\uabcd",
        "\\uABCD", "\\u0000", "\\uD83D\\uDE00", "\\uffff", "\\\\u12"}) {
    CAPTURE(s);
    CHECK(accepted(in_string(s)));
  }
}

TEST_CASE("envelope: escaped lone surrogates are accepted, by design") {
  // nlohmann rejects these; JavaScript and Python accept them, and so does
  // the scanner (the bytes are forwarded unchanged).
  for (const char* s : {"\\ud800", "\\udfff", "\\udc00\\ud800", "\\ud800x", "\\ud800\\u0041"}) {
    CAPTURE(s);
    CHECK(accepted(in_string(s)));
  }
}

TEST_CASE("envelope: raw control characters in strings are rejected at every offset") {
  for (int c = 0; c < 0x20; ++c) {
    std::string byte(1, static_cast<char>(c));
    CAPTURE(c);
    CHECK_FALSE(accepted(in_string(byte)));
    CHECK_FALSE(accepted("{\"a" + byte + "\":1}"));          // in a top-level key
    CHECK_FALSE(accepted("{\"p\":{\"a" + byte + "\":1}}"));  // in a nested key
    for (std::size_t before = 0; before < 16; ++before)
      for (std::size_t after : {0, 1, 6, 7, 8, 9, 16}) {
        CAPTURE(before);
        CAPTURE(after);
        CHECK_FALSE(accepted(at_offset(byte, before, after)));
      }
  }
  // DEL and every other printable ASCII byte is plain.
  for (int c = 0x20; c < 0x80; ++c) {
    if (c == '"' || c == '\\') continue;
    std::string byte(1, static_cast<char>(c));
    for (std::size_t before = 0; before < 16; ++before) {
      CAPTURE(c);
      CAPTURE(before);
      CHECK(accepted(at_offset(byte, before, 5)));
    }
  }
}

TEST_CASE("envelope: a quote at any offset ends the string") {
  for (std::size_t before = 0; before < 16; ++before) {
    for (std::size_t after : {0, 1, 7, 8, 9, 16}) {
      // at_offset closes the string itself, so an extra quote leaves 'y...' outside it.
      CAPTURE(before);
      CAPTURE(after);
      std::string line = at_offset("\"", before, after);
      CHECK_FALSE(accepted(line));
      std::string value = "\"" + std::string(before, 'x') + "\"";
      std::string good = "{\"id\":" + value + ",\"a\":\"" + std::string(after, 'y') + "\"}";
      auto env = scan(good);
      REQUIRE(env);
      CHECK(text(env->id, good) == value);
    }
  }
}

TEST_CASE("envelope: structural mistakes are rejected") {
  for (const char* line : {
           // missing colons and commas
           R"({"id" 1})",
           R"({"id":1 "result":2})",
           R"({"a":[1 2]})",
           R"({"a":{"b" 1}})",
           R"({"a":{"b":1 "c":2}})",
           R"({"a":[{} {}]})",
           R"({"a":"x" "b":"y"})",
           // doubled or misplaced separators
           R"({"id"::1})",
           R"({"id":,"a":1})",
           R"({:1})",
           R"({"id"})",
           R"({"id":})",
           R"({"a":[1,,2]})",
           R"({,"id":1})",
           R"({"a":[,1]})",
           R"({"id":1,,"a":2})",
           R"({"a";1})",
           R"({"a"=1})",
           // trailing commas
           R"({"id":1,})",
           R"({"a":[1,]})",
           R"({"a":{"b":1,}})",
           R"({"a":[[],]})",
           "{\"id\":1 , }",
           // quotes
           R"({'id':1})",
           R"({"id":'x'})",
           R"({"id":"a"b"})",
           R"({"a"b":1})",
           R"({"id":"abc})",
           R"({"id:1})",
           R"({"id":"a""b"})",
           // unquoted keys and values, comments
           R"({id:1})",
           R"({"id":abc})",
           R"({"a":[1]//c})",
           R"({/*c*/"id":1})",
           R"({"id":1/*c*/})",
           // mismatched brackets
           R"({"a":[1}})",
           R"({"a":{"b":1]})",
           R"({"a":[1])",
           R"({"a":{})",
           R"({"a":1]})",
           R"({"a":[[1]})",
           R"({"a":[1]]})",
           R"({"a":{"b":{}}}})",
           // non-string keys
           R"({1:2})",
           R"({null:2})",
           R"({["a"]:2})",
           R"({{}:2})",
       }) {
    CAPTURE(line);
    CHECK_FALSE(accepted(line));
  }
}

TEST_CASE("envelope: nesting beyond the limit is rejected, not a crash") {
  constexpr std::size_t kDeep = 100000;
  std::string open(kDeep, '[');
  std::string close(kDeep, ']');
  CHECK_FALSE(accepted("{\"a\":" + open));
  CHECK_FALSE(accepted("{\"a\":" + open + close + "}"));
  CHECK_FALSE(accepted(open + close));
  std::string objects;
  for (std::size_t i = 0; i < kDeep; ++i) objects += "{\"a\":";
  CHECK_FALSE(accepted(objects));
  CHECK_FALSE(accepted(objects + "1" + std::string(kDeep, '}')));
  std::string mixed;
  for (std::size_t i = 0; i < kDeep / 2; ++i) mixed += "[{\"id\":";
  CHECK_FALSE(accepted("{\"a\":" + mixed));
  // Nesting within the limit is fine, and the spans see through it.
  std::string deep = std::string(120, '[') + "{\"id\":1}" + std::string(120, ']');
  std::string line = "{\"result\":" + deep + ",\"id\":5}";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->result, line) == deep);
  CHECK(text(env->id, line) == "5");
}

TEST_CASE("envelope: the depth limit counts the top-level object as 1") {
  // {"a":[[1]]} nests 3 deep.
  CHECK(rpc::scan_envelope(R"({"a":[[1]]})", 3));
  CHECK_FALSE(rpc::scan_envelope(R"({"a":[[1]]})", 2));
  CHECK_FALSE(rpc::scan_envelope(R"({"a":1})", 0));
  std::string deep = std::string(200, '[') + std::string(200, ']');
  CHECK(rpc::scan_envelope("{\"result\":" + deep + "}", 201));
  CHECK_FALSE(rpc::scan_envelope("{\"result\":" + deep + "}", 200));
  // Siblings do not add up: depth is nesting, not count.
  std::string wide = "{\"a\":[" + std::string(5000, '[') + std::string(5000, ']') + "]}";
  CHECK_FALSE(rpc::scan_envelope(wide, 128));
  std::string siblings = "{\"a\":[";
  for (int i = 0; i < 5000; ++i) siblings += "[[1]],";
  siblings += "0]}";
  CHECK(rpc::scan_envelope(siblings, 4));
}

TEST_CASE("envelope: replace_span rewrites an id in place") {
  std::string line = R"({"jsonrpc":"2.0","id":12,"result":{}})";
  auto env = rpc::scan_envelope(line);
  REQUIRE(env);
  rpc::replace_span(line, env->id, R"("client-7")");
  CHECK(line == R"({"jsonrpc":"2.0","id":"client-7","result":{}})");
  CHECK(rpc::scan_envelope(line));
}

// ---- UTF-8 -----------------------------------------------------------------

TEST_CASE("envelope: well-formed UTF-8 is accepted at every offset") {
  const char* valid[] = {
      "\xc3\xa9",          // é
      "\xe2\x9c\x93",      // ✓
      "\xf0\x9f\x98\x80",  // 😀
      "\xf4\x8f\xbf\xbf",  // U+10FFFF
      "\xc2\x80",          // U+0080, the smallest 2-byte
      "\xdf\xbf",          // U+07FF
      "\xe0\xa0\x80",      // U+0800, the smallest 3-byte
      "\xed\x9f\xbf",      // U+D7FF, just below the surrogates
      "\xee\x80\x80",      // U+E000, just above them
      "\xef\xbf\xbf",      // U+FFFF
      "\xf0\x90\x80\x80",  // U+10000, the smallest 4-byte
      "\xc3\xa9\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80",
  };
  for (const char* seq : valid) {
    CAPTURE(hex(seq));
    for (std::size_t before = 0; before < 16; ++before) {
      for (std::size_t after : {0, 1, 4, 7, 8, 9, 16}) {
        CAPTURE(before);
        CAPTURE(after);
        std::string line = at_offset(seq, before, after);
        auto env = scan(line);
        REQUIRE(env);
        CHECK(text(env->id, line) == "1");
      }
    }
    CHECK(accepted("{\"" + std::string(seq) + "\":1}"));  // as a key
  }
}

TEST_CASE("envelope: ill-formed UTF-8 is rejected at every offset") {
  const char* invalid[] = {
      "\x80",
      "\xbf",
      "\x80\x80",      // lone continuation bytes
      "\xc3\xa9\xa9",  // a continuation too many
      "\xc0\x80",
      "\xc0\xaf",
      "\xc1\xbf",  // overlong 2-byte
      "\xe0\x80\x80",
      "\xe0\x9f\xbf",  // overlong 3-byte
      "\xf0\x80\x80\x80",
      "\xf0\x8f\xbf\xbf",  // overlong 4-byte
      "\xed\xa0\x80",
      "\xed\xbf\xbf",
      "\xed\xa0\xbd\xed\xb8\x80",  // encoded surrogates (CESU-8 too)
      "\xf4\x90\x80\x80",
      "\xf7\xbf\xbf\xbf",  // above U+10FFFF
      "\xf5\x80\x80\x80",
      "\xf8\x88\x80\x80\x80",
      "\xfc\x84\x80\x80\x80\x80",
      "\xfe",
      "\xff",
      "\xc3",
      "\xe2\x9c",
      "\xe2",
      "\xf0\x9f\x98",
      "\xf0\x9f",
      "\xf0",  // truncated, then ASCII or quote
      "\xc3\xc3\xa9",
      "\xe2\xe2\x9c\x93",
      "\xf0\x9f\xf0\x9f\x98\x80",  // truncated, then another lead
      "\xe2\x9c\x7f",
      "\xf0\x9f\x98\x20",
      "\xc3\xc0",  // bad continuation
  };
  for (const char* seq : invalid) {
    CAPTURE(hex(seq));
    for (std::size_t before = 0; before < 16; ++before) {
      for (std::size_t after : {0, 1, 4, 7, 8, 9, 16}) {
        CAPTURE(before);
        CAPTURE(after);
        CHECK_FALSE(accepted(at_offset(seq, before, after)));
      }
      // Cut off by the end of the line: no closing quote, no brace.
      std::string cut = std::string(R"({"id":1,"a":")") + std::string(before, 'x') + seq;
      CAPTURE(hex(cut));
      CHECK_FALSE(accepted(cut));
    }
    CHECK_FALSE(accepted("{\"" + std::string(seq) + "\":1}"));          // in a top-level key
    CHECK_FALSE(accepted("{\"p\":{\"" + std::string(seq) + "\":1}}"));  // in a nested key
  }
  // Every byte from 0x80 is invalid on its own, and 0xF5..0xFF is never valid.
  for (int c = 0x80; c <= 0xff; ++c) {
    std::string byte(1, static_cast<char>(c));
    CAPTURE(c);
    for (std::size_t before = 0; before < 16; ++before)
      CHECK_FALSE(accepted(at_offset(byte, before, 3)));
    if (c >= 0xf5) CHECK_FALSE(accepted(at_offset(byte + "\x80\x80\x80", 3, 3)));
    if (c == 0xc0 || c == 0xc1) CHECK_FALSE(accepted(at_offset(byte + "\x80", 3, 3)));
  }
  // Valid sequences cut off by the end of the line.
  for (const char* seq : {"\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9f\x98\x80"}) {
    std::string full = seq;
    for (std::size_t n = 1; n <= full.size(); ++n) {
      std::string line = std::string(R"({"id":1,"a":")") + "xxxxxxx" + full.substr(0, n);
      CAPTURE(hex(line));
      CHECK_FALSE(accepted(line));
    }
  }
  // Bytes above 0x7F outside strings.
  CHECK_FALSE(accepted("{\"a\":\xc3\xa9}"));
  CHECK_FALSE(accepted("{\"a\":1\xc2\xa0}"));
}

TEST_CASE("envelope: every 2-byte and 3-byte sequence agrees with the Unicode table") {
  // Exhaustive over the lead and first continuation byte (the second
  // continuation fixed to 0x80): well-formed per Unicode table 3-7.
  auto well_formed = [](unsigned a, unsigned b) {
    if (a >= 0xc2 && a <= 0xdf) return b >= 0x80 && b <= 0xbf;
    if (a == 0xe0) return b >= 0xa0 && b <= 0xbf;
    if ((a >= 0xe1 && a <= 0xec) || a == 0xee || a == 0xef) return b >= 0x80 && b <= 0xbf;
    if (a == 0xed) return b >= 0x80 && b <= 0x9f;
    if (a == 0xf0) return b >= 0x90 && b <= 0xbf;
    if (a >= 0xf1 && a <= 0xf3) return b >= 0x80 && b <= 0xbf;
    if (a == 0xf4) return b >= 0x80 && b <= 0x8f;
    return false;
  };
  for (unsigned a = 0x80; a <= 0xff; ++a) {
    for (unsigned b = 0x80; b <= 0xff; ++b) {
      std::string seq{static_cast<char>(a), static_cast<char>(b)};
      if (a >= 0xe0) seq += '\x80';
      if (a >= 0xf0) seq += '\x80';
      std::string line = at_offset(seq, a % 16, 2);
      if (accepted(line) != well_formed(a, b)) {
        CAPTURE(hex(seq));
        CHECK(accepted(line) == well_formed(a, b));
      }
    }
  }
}

// ---- differential test against nlohmann::json --------------------------------

TEST_CASE("envelope: random mutations are accepted exactly when nlohmann accepts an object") {
  const std::vector<std::string> seeds = {
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
      "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \\\"q\\\" \\\\ \\u00e9 \\/ "
      "\\ud83d\\ude00\"}],\"isError\":false}}",
      R"({"jsonrpc":"2.0","id":"req-7","method":"tools/call","params":{"name":"search","arguments":)"
      R"({"q":"a b","limit":10,"ratio":-1.5e-3,"flags":[true,false,null]}}})",
      R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":0,"progress":0.25,"total":1E2}})",
      R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":{"line":"\t\r\n\b\f"}}})",
      " { \"id\" : 12345678901234567 , \"result\" : [ 0 , -0 , 1.0e+10 , \"\" , { } , [ ] ] }\r\n",
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"\xc3\xbc\xf4\x8f\xbf\xbf\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}}],\"nextCursor\":"
      "\"abcdefghijklmnop\\u0041\"}}",
  };
  // Bytes that matter to a JSON scanner, drawn half the time.
  const std::string interesting =
      std::string("{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsnbu/x'") +
      std::string(
          "\x00\x01\x08\x0b\x0c\x1f\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2"
          "\xc3\xdf\xe0\xe2\xed\xef\xf0\xf4\xf5\xf8\xfe\xff",
          28);
  const char* fragments[] = {"\xc3",    "\xe2\x9c",    "\xf0\x9f\x98", "\xed\xa0\x80", "\xc3\xa9",
                             "\\u",     "\\ud800",     "\\udc00",      "true",         "null",
                             "\"id\":", "\"result\":", ",\"id\":1",    "\\\\"};

  std::mt19937 rng(20240611);  // fixed: the run is reproducible
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto random_byte = [&]() -> char {
    if (rng() % 2) return interesting[pick(interesting.size())];
    return static_cast<char>(rng() & 0xff);
  };

  constexpr int kPerSeed = 3000;
  int total = 0, accepted_count = 0, rejected_count = 0, surrogate_exclusions = 0,
      escaped_key_exclusions = 0, overflow_exclusions = 0, nul_exclusions = 0;
  std::vector<std::string> mismatches;
  for (const std::string& seed : seeds) {
    REQUIRE(accepted(seed));
    for (int round = 0; round < kPerSeed; ++round) {
      std::string s = seed;
      int edits = 1 + static_cast<int>(pick(3));
      for (int e = 0; e < edits; ++e) {
        std::size_t at = pick(s.size() + 1);
        switch (pick(6)) {
          case 0:
          case 1:  // replace a byte
            if (at < s.size()) s[at] = random_byte();
            break;
          case 2:  // insert a byte
            s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), random_byte());
            break;
          case 3:  // delete a byte
            if (at < s.size()) s.erase(at, 1);
            break;
          case 4:  // flip one bit
            if (at < s.size()) s[at] = static_cast<char>(s[at] ^ (1 << pick(8)));
            break;
          case 5:  // insert a fragment
            s.insert(at, fragments[pick(std::size(fragments))]);
            break;
        }
      }
      ++total;

      std::string reference = neutralize_surrogates(neutralize_exponents(s));
      bool expected = nlohmann::json::accept(reference);
      nlohmann::json parsed;
      if (expected) {
        parsed = nlohmann::json::parse(reference);
        expected = parsed.is_object();
      }
      // nlohmann takes a NUL byte for the end of the input and ignores what
      // follows ({"id":1}\0garbage is accepted); valid JSON never holds a
      // raw NUL, and the scanner rejects it.
      if (expected && s.find('\0') != std::string::npos) {
        expected = false;
        ++nul_exclusions;
      }
      TopKeys keys;
      if (expected) {
        keys = top_level_keys(reference);
        if (keys.escaped) {
          expected = false;  // by design: an escaped top-level key takes the slow path
          ++escaped_key_exclusions;
        }
      }
      if (reference != s && expected && !nlohmann::json::accept(s)) {
        if (nlohmann::json::accept(neutralize_exponents(s)))
          ++overflow_exclusions;
        else
          ++surrogate_exclusions;
      }

      auto env = scan(s);
      if (env.has_value() != expected) {
        mismatches.push_back(hex(s) + "  expected " + (expected ? "accept" : "reject") + ", got " +
                             (env ? "accept" : "reject"));
        continue;
      }
      if (!env) {
        ++rejected_count;
        continue;
      }
      ++accepted_count;
      // The spans hold what nlohmann reads for each routed member.
      bool duplicate = false;
      for (const char* key : kRouted) {
        int count = 0;
        for (const auto& k : keys.keys) count += k == key;
        duplicate = duplicate || count > 1;
        const rpc::Span& span = member(*env, key);
        if (count == 0) {
          if (span.present()) mismatches.push_back(hex(s) + "  span for absent " + key);
          continue;
        }
        std::string value(span.of(reference));
        if (!span.present() || !nlohmann::json::accept(value) ||
            nlohmann::json::parse(value) != parsed[key])
          mismatches.push_back(hex(s) + "  wrong span for " + key + ": " + std::string(span.of(s)));
      }
      if (duplicate != env->duplicate) mismatches.push_back(hex(s) + "  duplicate flag wrong");
    }
  }
  MESSAGE("mutations: " << total << ", accepted: " << accepted_count << ", rejected: "
                        << rejected_count << ", lone-surrogate exclusions: " << surrogate_exclusions
                        << ", escaped-key exclusions: " << escaped_key_exclusions
                        << ", double-overflow exclusions: " << overflow_exclusions
                        << ", trailing-NUL exclusions: " << nul_exclusions);
  for (std::size_t i = 0; i < mismatches.size() && i < 20; ++i) MESSAGE(mismatches[i]);
  CHECK(mismatches.empty());
  // Both sides of the comparison were exercised.
  CHECK(accepted_count > total / 20);
  CHECK(rejected_count > total / 2);
}

// ---- span_integer --------------------------------------------------------------

TEST_CASE("envelope: span_integer reads plain JSON integers") {
  CHECK(rpc::span_integer("0") == 0);
  CHECK(rpc::span_integer("42") == 42);
  CHECK(rpc::span_integer("-7") == -7);
  CHECK(rpc::span_integer("-0") == 0);
  CHECK(rpc::span_integer("1") == 1);
  CHECK(rpc::span_integer("100") == 100);
  CHECK(rpc::span_integer("999999999999999999") == 999999999999999999LL);    // 18 digits
  CHECK(rpc::span_integer("-999999999999999999") == -999999999999999999LL);  // 18 digits
}

TEST_CASE("envelope: span_integer rejects everything else") {
  for (const char* t : {"01",
                        "00",
                        "-01",
                        "-00",
                        "1.0",
                        "1.",
                        "1e3",
                        "1E3",
                        "",
                        "-",
                        "--1",
                        "+1",
                        " 1",
                        "1 ",
                        "\"1\"",
                        "null",
                        "true",
                        "0x1",
                        "1-",
                        "1a",
                        "a1",
                        "-a",
                        "1,2",
                        "1e+3",
                        "-1.5",
                        "1000000000000000000",      // 19 digits
                        "9223372036854775807",      // INT64_MAX: 19 digits, left to the parser
                        "-9223372036854775808",     // INT64_MIN
                        "9223372036854775808",      // would overflow
                        "99999999999999999999999",  // 23 digits
                        "\xef\xbc\x91"}) {
    CAPTURE(t);
    CHECK_FALSE(rpc::span_integer(t).has_value());
  }
  CHECK_FALSE(rpc::span_integer(std::string_view("1\0", 2)).has_value());
  // A string id spanned from a real line.
  std::string line = R"({"jsonrpc":"2.0","id":"1","result":{}})";
  auto env = scan(line);
  REQUIRE(env);
  CHECK_FALSE(rpc::span_integer(env->id.of(line)).has_value());
  std::string numeric = R"({"jsonrpc":"2.0","id" : 17 ,"result":{}})";
  auto num = scan(numeric);
  REQUIRE(num);
  CHECK(rpc::span_integer(num->id.of(numeric)) == 17);
}

// ---- a large line --------------------------------------------------------------

TEST_CASE("envelope: an 8 MiB string value is accepted with the right spans") {
  constexpr std::size_t kSize = 8u << 20;
  // Mostly plain ASCII, with escapes and multi-byte characters sprinkled in
  // at shifting offsets so the 8-byte fast path keeps stopping and resuming.
  const std::string chunk =
      "lorem ipsum dolor \\\"sit\\\" amet \xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80 \\u00e9\\n";
  std::string big;
  big.reserve(kSize + chunk.size());
  while (big.size() < kSize) {
    big += chunk;
    big.append(big.size() % 13, 'z');
  }
  std::string value = "\"" + big + "\"";
  const std::string head = R"({"jsonrpc":"2.0","result":)";
  const std::string inner = R"({"content":[{"type":"text","text":)";
  std::string result = inner + value + "}]}";
  std::string line = head + result + R"(,"id":123456})" + "\n";
  auto env = scan(line);
  REQUIRE(env);
  CHECK(text(env->id, line) == "123456");
  CHECK(text(env->jsonrpc, line) == R"("2.0")");
  CHECK(env->result.end - env->result.begin == result.size());
  CHECK(env->result.of(line) == std::string_view(result));
  CHECK(rpc::span_integer(env->id.of(line)) == 123456);
  CHECK(nlohmann::json::accept(line));

  // One bad byte anywhere in it is enough to reject the line.
  // (Each time a letter between two plain bytes is replaced, so that the
  // bad bytes cannot combine with their neighbours into something valid.)
  auto plain = [&](std::size_t i) { return big[i] >= 'a' && big[i] <= 'z'; };
  std::size_t middle = kSize / 2 + 1, last = big.size() - 2;
  while (!(plain(middle - 1) && plain(middle) && plain(middle + 1))) ++middle;
  while (!(plain(last - 1) && plain(last) && plain(last + 1))) --last;
  for (std::size_t where : {std::size_t{1}, middle, last}) {
    for (const char* bad : {"\x01", "\xff", "\xe2\x9c", "\x80", "\""}) {
      std::string broken = line;
      std::size_t at = head.size() + inner.size() + 1 + where;
      REQUIRE(plain(where));
      broken.replace(at, 1, bad);
      CAPTURE(where);
      CAPTURE(hex(bad));
      CHECK_FALSE(accepted(broken));
    }
  }
  // And cut short it is rejected too.
  CHECK_FALSE(accepted(line.substr(0, line.size() / 2)));
  CHECK_FALSE(accepted(line.substr(0, line.size() - 3)));
}

TEST_SUITE_END();
