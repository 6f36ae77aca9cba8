// Trace lines: per-component levels (--log-level / MCPBRAID_LOG), the level a
// backend's stderr line is relayed at, and what actually reaches stderr in
// text and JSON form (JSON lines stay valid JSON whatever bytes a backend
// writes). Lines are captured by pointing fd 2 at a temporary file.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/trace.hpp"

namespace trace = mcpbraid::trace;
using nlohmann::json;
using trace::Level;
using trace::LevelSpec;

namespace {

// Restores the defaults other tests of this binary rely on.
struct RestoreTrace {
  ~RestoreTrace() { trace::init(Level::info, trace::Format::text); }
};

// What `fn` writes to fd 2, split into lines.
std::vector<std::string> capture_stderr(const std::function<void()>& fn) {
  std::fflush(stderr);
  char path[] = "/tmp/mcpbraid-unit-trace-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  int saved = ::dup(2);
  REQUIRE(saved >= 0);
  REQUIRE(::dup2(fd, 2) == 2);
  try {
    fn();
  } catch (...) {
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    ::close(fd);
    ::unlink(path);
    throw;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ::unlink(path);
  return lines;
}

// The one JSON line `fn` writes, parsed; fails the test if it is not valid JSON.
json one_json_line(const std::function<void()>& fn) {
  trace::init(Level::info, trace::Format::json);
  auto lines = capture_stderr(fn);
  REQUIRE(lines.size() == 1);
  INFO("line: " << lines[0]);
  json doc;
  CHECK_NOTHROW(doc = json::parse(lines[0]));
  return doc;
}

LevelSpec spec_ok(const std::string& text) {
  std::string error;
  auto spec = trace::parse_level_spec(text, &error);
  INFO("spec '" << text << "': " << error);
  REQUIRE(spec.has_value());
  CHECK(error.empty());
  return *spec;
}

std::string spec_error(const std::string& text) {
  std::string error;
  auto spec = trace::parse_level_spec(text, &error);
  INFO("spec '" << text << "'");
  CHECK_FALSE(spec.has_value());
  return error;
}

using Components = std::vector<std::pair<std::string, Level>>;

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

// ============================================================ level specs

TEST_CASE("parse_level_spec: a bare level sets the base and no component") {
  for (auto [text, level] : std::vector<std::pair<std::string, Level>>{{"trace", Level::trace},
                                                                       {"debug", Level::debug},
                                                                       {"info", Level::info},
                                                                       {"warn", Level::warn},
                                                                       {"error", Level::error},
                                                                       {"off", Level::off}}) {
    INFO(text);
    LevelSpec spec = spec_ok(text);
    CHECK(spec.base == level);
    CHECK(spec.components.empty());
  }
}

TEST_CASE("parse_level_spec: 'warning' is an alias of warn, also for a component") {
  CHECK(trace::parse_level("warning") == Level::warn);
  LevelSpec spec = spec_ok("warning,stderr=warning");
  CHECK(spec.base == Level::warn);
  CHECK(spec.components == Components{{"stderr", Level::warn}});
}

TEST_CASE("parse_level_spec: 'info,backend=debug' gives base info and backend at debug") {
  LevelSpec spec = spec_ok("info,backend=debug");
  CHECK(spec.base == Level::info);
  CHECK(spec.components == Components{{"backend", Level::debug}});
}

TEST_CASE("parse_level_spec: a component alone keeps the base at info") {
  LevelSpec spec = spec_ok("backend=debug");
  CHECK(spec.base == Level::info);
  CHECK(spec.components == Components{{"backend", Level::debug}});
}

TEST_CASE("parse_level_spec: 'warn,stderr=off' and several components in order") {
  LevelSpec spec = spec_ok("warn,stderr=off");
  CHECK(spec.base == Level::warn);
  CHECK(spec.components == Components{{"stderr", Level::off}});

  spec = spec_ok("circuit=trace,error,request=debug,control=warn");
  CHECK(spec.base == Level::error);
  CHECK(spec.components ==
        Components{{"circuit", Level::trace}, {"request", Level::debug}, {"control", Level::warn}});
}

TEST_CASE("parse_level_spec: every listed component is accepted") {
  for (const auto& name : trace::components()) {
    INFO(name);
    LevelSpec spec = spec_ok(name + "=trace");
    CHECK(spec.components == Components{{name, Level::trace}});
  }
  // The components lines are filed under.
  for (const char* name : {"gateway", "client", "request", "backend", "circuit", "upstream",
                           "config", "control", "stderr"})
    CHECK(std::find(trace::components().begin(), trace::components().end(), name) !=
          trace::components().end());
}

TEST_CASE("parse_level_spec: an unknown level is an error naming it and the levels") {
  std::string error = spec_error("verbose");
  CHECK(error.find("'verbose'") != std::string::npos);
  CHECK(error.find("debug") != std::string::npos);
  CHECK(error.find("off") != std::string::npos);

  error = spec_error("info,backend=loud");
  CHECK(error.find("'loud'") != std::string::npos);

  error = spec_error("backend");  // a component without a level
  CHECK(error.find("'backend'") != std::string::npos);
}

TEST_CASE("parse_level_spec: an unknown component is an error naming it and the components") {
  std::string error = spec_error("info,database=debug");
  CHECK(error.find("'database'") != std::string::npos);
  CHECK(error.find("unknown component") != std::string::npos);
  for (const auto& name : trace::components()) {
    INFO(name);
    CHECK(error.find(name) != std::string::npos);
  }
  error = spec_error("=debug");
  CHECK(error.find("unknown component ''") != std::string::npos);
}

TEST_CASE("parse_level_spec: an empty spec or an empty item between commas is an error") {
  CHECK(spec_error("").find("unknown level ''") != std::string::npos);
  CHECK(spec_error("info,,backend=debug").find("unknown level ''") != std::string::npos);
}

TEST_CASE("parse_level_spec: a null error pointer is allowed") {
  CHECK_FALSE(trace::parse_level_spec("nope", nullptr).has_value());
  CHECK_FALSE(trace::parse_level_spec("nope=debug", nullptr).has_value());
  CHECK(trace::parse_level_spec("debug", nullptr).has_value());
}

TEST_CASE("parse_format: text and json only") {
  CHECK(trace::parse_format("text") == trace::Format::text);
  CHECK(trace::parse_format("json") == trace::Format::json);
  CHECK_FALSE(trace::parse_format("JSON").has_value());
  CHECK_FALSE(trace::parse_format("").has_value());
}

// ================================================================= enabled

TEST_CASE("enabled: a component's level applies to its events, the base to the others") {
  RestoreTrace restore;
  trace::init(spec_ok("info,backend=debug"), trace::Format::text);
  CHECK(trace::enabled(Level::debug, "backend.spawn"));
  CHECK(trace::enabled(Level::debug, "backend"));
  CHECK_FALSE(trace::enabled(Level::trace, "backend.spawn"));
  CHECK_FALSE(trace::enabled(Level::debug, "request.done"));
  CHECK(trace::enabled(Level::info, "request.done"));
  CHECK_FALSE(trace::enabled(Level::debug, "stderr"));
  // The component is the event up to the first '.', matched whole.
  CHECK_FALSE(trace::enabled(Level::debug, "backends.spawn"));
  CHECK_FALSE(trace::enabled(Level::debug, "back.end"));
  CHECK_FALSE(trace::enabled(Level::debug, "gateway.backend"));
  // An event of no known component, or none at all, goes by the base.
  CHECK_FALSE(trace::enabled(Level::debug, "mystery.event"));
  CHECK(trace::enabled(Level::info, "mystery.event"));
  CHECK_FALSE(trace::enabled(Level::debug));
  CHECK(trace::enabled(Level::warn));
}

TEST_CASE("enabled: 'warn,stderr=off' silences stderr lines whatever their level") {
  RestoreTrace restore;
  trace::init(spec_ok("warn,stderr=off"), trace::Format::text);
  CHECK_FALSE(trace::enabled(Level::error, "stderr"));
  CHECK_FALSE(trace::enabled(Level::warn, "stderr"));
  CHECK(trace::enabled(Level::warn, "gateway.start"));
  CHECK(trace::enabled(Level::error, "backend.exit"));
  CHECK_FALSE(trace::enabled(Level::info, "gateway.start"));
}

TEST_CASE("enabled: base off with one component on shows that component only") {
  RestoreTrace restore;
  trace::init(spec_ok("off,circuit=trace"), trace::Format::text);
  CHECK(trace::enabled(Level::trace, "circuit.open"));
  CHECK(trace::enabled(Level::error, "circuit.open"));
  CHECK_FALSE(trace::enabled(Level::error, "gateway.start"));
  CHECK_FALSE(trace::enabled(Level::error));
}

TEST_CASE("enabled: a component named twice takes the last level") {
  RestoreTrace restore;
  trace::init(spec_ok("backend=debug,backend=error"), trace::Format::text);
  CHECK_FALSE(trace::enabled(Level::warn, "backend.exit"));
  CHECK(trace::enabled(Level::error, "backend.exit"));
}

TEST_CASE("enabled: a line of level off is never written") {
  RestoreTrace restore;
  trace::init(Level::trace, trace::Format::text);
  CHECK_FALSE(trace::enabled(Level::off, "gateway.start"));
  CHECK(trace::enabled(Level::trace, "gateway.start"));
}

TEST_CASE("set_level: replaces the base and drops the components") {
  RestoreTrace restore;
  trace::init(spec_ok("error,backend=debug"), trace::Format::text);
  trace::set_level(Level::warn);
  CHECK_FALSE(trace::enabled(Level::debug, "backend.spawn"));
  CHECK(trace::enabled(Level::warn, "backend.spawn"));
  CHECK(trace::enabled(Level::warn, "gateway.start"));
}

TEST_CASE("lines written follow the component levels (a debug component under a warn base)") {
  RestoreTrace restore;
  trace::init(spec_ok("warn,backend=debug,stderr=off"), trace::Format::text);
  auto lines = capture_stderr([] {
    trace::debug("backend.spawn").kv("server", "everything").kv("pid", 42);
    trace::debug("gateway.start");
    trace::info("request.done");
    trace::warn("gateway.slow");
    trace::error("stderr").kv("line", "Error: boom");
  });
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("event=backend.spawn server=everything pid=42") != std::string::npos);
  CHECK(lines[0].find("debug") != std::string::npos);
  CHECK(lines[1].find("event=gateway.slow") != std::string::npos);
}

// ========================================================= stderr relaying

TEST_CASE("classify_stderr: lines that read like errors") {
  for (const char* line :
       {"Error: x", "error: cannot open /tmp/x", "npm ERR! code ENOENT",
        "Traceback (most recent call last):", "FATAL: out of memory",
        "panic: runtime error: index out of range", "ERROR something broke",
        "[error] connection lost", "Exception in thread \"main\"", "CRITICAL disk full",
        "level=error msg=\"oops\"", "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'x'"}) {
    INFO(line);
    CHECK(trace::classify_stderr(line) == Level::error);
  }
}

TEST_CASE("classify_stderr: lines that read like warnings") {
  for (const char* line : {"[WARN] slow", "warning: deprecated option", "WARNING: low disk",
                           "level=warn msg=retrying", "Warn - rate limited"}) {
    INFO(line);
    CHECK(trace::classify_stderr(line) == Level::warn);
  }
}

TEST_CASE("classify_stderr: an error word wins over a warning word") {
  CHECK(trace::classify_stderr("warning: error while flushing") == Level::error);
}

TEST_CASE("classify_stderr: ordinary chatter, and the words inside other words, are debug") {
  for (const char* line :
       {"0 errors", "terror", "Server running on stdio", "Starting default (STDIO) server...",
        "stderr is a terminal", "interrupted", "forewarned", "errno 0", "",
        "Knowledge Graph MCP Server"}) {
    INFO("[" << line << "]");
    CHECK(trace::classify_stderr(line) == Level::debug);
  }
}

// The message line of a Node crash ("TypeError: ...") or of a Python
// traceback ("ValueError: ...") shows at the default level.
TEST_CASE("classify_stderr: exception names ending in Error or Warning read as such") {
  CHECK(trace::classify_stderr("TypeError: Cannot read properties of undefined") == Level::error);
  CHECK(trace::classify_stderr("ValueError: invalid literal for int()") == Level::error);
  CHECK(trace::classify_stderr("(node:123) ExperimentalWarning: Fetch is experimental") ==
        Level::warn);
}

// ============================================================= line format

TEST_CASE("text lines: key=value, values with spaces or quotes quoted and escaped") {
  RestoreTrace restore;
  trace::init(Level::info, trace::Format::text);
  auto lines = capture_stderr([] {
    trace::info("backend.spawn")
        .kv("server", "everything")
        .kv("pid", 42)
        .kv("command", "node x.js")
        .kv("said", "a \"quoted\" word")
        .kv("empty", "")
        .kv("ok", true)
        .kv("latency_ms", 1.5);
  });
  REQUIRE(lines.size() == 1);
  const std::string& line = lines[0];
  CHECK(line.find(" info  event=backend.spawn server=everything pid=42 command=\"node x.js\" "
                  "said=\"a \\\"quoted\\\" word\" empty=\"\" ok=true latency_ms=1.500") !=
        std::string::npos);
}

TEST_CASE("JSON lines: ts, level, event and typed fields") {
  RestoreTrace restore;
  json doc = one_json_line([] {
    trace::warn("backend.timeout")
        .kv("server", "memory")
        .kv("request_id", std::int64_t{7})
        .kv("latency_ms", 60000.25)
        .kv("retry", false);
  });
  CHECK(doc["event"] == "backend.timeout");
  CHECK(doc["server"] == "memory");
  CHECK(doc["request_id"] == 7);
  CHECK(doc["latency_ms"] == 60000.25);
  CHECK(doc["retry"] == false);
  CHECK(doc["level"].get<std::string>().rfind("warn", 0) == 0);
  CHECK(doc["ts"].is_string());
  CHECK(doc["ts"].get<std::string>().back() == 'Z');
}

TEST_CASE("JSON lines: quotes, backslashes and control characters are escaped") {
  RestoreTrace restore;
  const std::string nasty = "a\"b\\c\nd\re\tf\x01g\x1fh\x7fi";
  json doc = one_json_line([&] { trace::error("stderr").kv("line", nasty); });
  CHECK(doc["line"] == nasty);
}

TEST_CASE("JSON lines: bytes that are not UTF-8 become U+FFFD, the line stays valid JSON") {
  RestoreTrace restore;
  json doc = one_json_line([] { trace::error("stderr").kv("line", "\xff\xfe"); });
  CHECK(doc["line"] == kReplacement + kReplacement);

  // A multibyte sequence cut short at the end of the line.
  doc = one_json_line([] { trace::error("stderr").kv("line", "ok \xE2\x9C"); });
  std::string value = doc["line"].get<std::string>();
  REQUIRE(value.rfind("ok ", 0) == 0);
  CHECK(value.size() > 3);
  for (std::size_t i = 3; i < value.size(); i += 3) CHECK(value.substr(i, 3) == kReplacement);

  // A lead byte followed by ASCII, and Latin-1 text.
  doc = one_json_line([] { trace::error("stderr").kv("line", "caf\xe9 au lait"); });
  CHECK(doc["line"] == "caf" + kReplacement + " au lait");
}

TEST_CASE("JSON lines: overlong forms, surrogates and code points past U+10FFFF are replaced") {
  RestoreTrace restore;
  for (const char* bad : {"\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\x80", "\xBF\xBF"}) {
    INFO("bytes: " << json(std::string(bad)).dump(-1, ' ', false, json::error_handler_t::replace));
    json doc =
        one_json_line([&] { trace::error("stderr").kv("line", std::string("<") + bad + ">"); });
    std::string value = doc["line"].get<std::string>();
    CHECK(value.front() == '<');
    CHECK(value.back() == '>');
    CHECK(value.find(kReplacement) != std::string::npos);
  }
}

// F5..FF followed by continuation bytes must not pass through raw.
TEST_CASE("JSON lines: lead bytes F5..FF are never UTF-8") {
  RestoreTrace restore;
  for (const char* bad : {"\xF5\x80\x80", "\xF8\x88\x80", "\xFF\x80\x80\x80"}) {
    json doc =
        one_json_line([&] { trace::error("stderr").kv("line", std::string("<") + bad + ">"); });
    if (doc.is_object())
      CHECK(doc["line"].get<std::string>().find(kReplacement) != std::string::npos);
  }
}

TEST_CASE("JSON lines: valid multibyte UTF-8 passes through unchanged") {
  RestoreTrace restore;
  const std::string text = "\xC3\xA9\xE2\x9C\x93\xF0\x9F\x98\x80";  // "é✓😀"
  json doc = one_json_line([&] { trace::info("stderr").kv("line", text).kv("server", "ü"); });
  CHECK(doc["line"] == text);
  CHECK(doc["server"] == "\xC3\xBC");
  // Also the last code points of each length, and U+FFFD itself.
  const std::string edges = "\x7F\xDF\xBF\xEF\xBF\xBF\xF4\x8F\xBF\xBF" + kReplacement;
  doc = one_json_line([&] { trace::info("stderr").kv("line", edges); });
  CHECK(doc["line"] == edges);
}

TEST_CASE("JSON lines: an event name with odd bytes is escaped too") {
  RestoreTrace restore;
  json doc = one_json_line([] { trace::info("weird\"event\xff"); });
  CHECK(doc["event"] == "weird\"event" + kReplacement);
}

TEST_CASE("a disabled line writes nothing") {
  RestoreTrace restore;
  trace::init(Level::error, trace::Format::json);
  auto lines = capture_stderr([] {
    trace::info("gateway.start").kv("line", "\xff");
    trace::warn("backend.slow");
  });
  CHECK(lines.empty());
}
