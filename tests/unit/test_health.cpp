// The health snapshot as plain values: its JSON form (an interface other
// mcpbraid versions read), the sick/exit-status rules, the 80-column table and
// the Prometheus text. Pure functions; nothing runs.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/health.hpp"

using mcpbraid::health::BackendStatus;
using mcpbraid::health::Snapshot;
using nlohmann::json;
namespace health = mcpbraid::health;

namespace {

// A busy, well backend with every optional field set.
BackendStatus busy_backend() {
  BackendStatus b;
  b.name = "everything";
  b.state = "ready";
  b.circuit = "closed";
  b.next_probe_ms = 0;
  b.healthy = true;
  b.successes = 1234;
  b.failures = 5;
  b.inherit_env = false;
  b.consecutive_failures = 1;
  b.p50_ms = 1.2;
  b.p95_ms = 8.5;
  b.p99_ms = 120.4;
  b.restarts = 2;
  b.pid = 4242;
  b.uptime_s = 11520.25;  // 3h12m
  b.tools = 13;
  b.in_flight = 3;
  b.last_error = "timed out after 60s";
  b.stderr_tail = {"Starting default (STDIO) server...", "Server running on stdio"};
  b.protocol = "2025-11-25";
  b.era = "handshake";
  return b;
}

// A backend that has never run: no pid, uptime, tools or latency.
BackendStatus fresh_backend(const std::string& name = "memory") {
  BackendStatus b;
  b.name = name;
  return b;
}

Snapshot snapshot_of(std::vector<BackendStatus> backends, std::int64_t pid = 31337) {
  Snapshot s;
  s.pid = pid;
  s.version = "0.4.0";
  s.config = "/home/me/.config/mcpbraid/config.json";
  s.uptime_s = 754.5;  // 12m34s
  s.backends = std::move(backends);
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Removes SGR sequences (ESC [ digits/semicolons m). Hand-written: std::regex
// trips g++ 12's -Wmaybe-uninitialized under ASan, and -Werror is on.
std::string strip_ansi(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == ';'))
        ++j;
      if (j < text.size() && text[j] == 'm') {
        i = j;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// Fails naming the line that is wider than 80 columns (ANSI codes excluded).
void check_fits_80(const std::string& table) {
  for (const auto& line : lines_of(strip_ansi(table))) {
    INFO("line (" << line.size() << " columns): [" << line << "]");
    CHECK(line.size() <= 80);
  }
}

// The first table line starting with `prefix`, "" if none.
std::string line_starting(const std::string& table, const std::string& prefix) {
  for (const auto& line : lines_of(table))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

const std::vector<std::string> kStates = {"starting", "ready", "backoff", "failed", "stopped"};
const std::vector<std::string> kCircuits = {"closed", "open", "half_open"};

}  // namespace

// ================================================================ JSON form

TEST_CASE("to_json: a backend's fields are snake_case with their values") {
  json j = health::to_json(busy_backend());
  CHECK(j["state"] == "ready");
  CHECK(j["circuit"] == "closed");
  CHECK(j["next_probe_ms"] == 0);
  CHECK(j["restart_in_ms"].is_null());
  CHECK(j["healthy"] == true);
  CHECK(j["successes"] == 1234);
  CHECK(j["failures"] == 5);
  CHECK(j["consecutive_failures"] == 1);
  CHECK(j["latency_ms"] == json{{"p50", 1.2}, {"p95", 8.5}, {"p99", 120.4}});
  CHECK(j["restarts"] == 2);
  CHECK(j["pid"] == 4242);
  CHECK(j["uptime_s"] == 11520.25);
  CHECK(j["tools"] == 13);
  CHECK(j["in_flight"] == 3);
  CHECK(j["last_error"] == "timed out after 60s");
  CHECK(j["protocol"] == "2025-11-25");
  CHECK(j["era"] == "handshake");
  CHECK(j["stderr_tail"] ==
        json::array({"Starting default (STDIO) server...", "Server running on stdio"}));
  // The name is the key in the snapshot's backends object, not a field.
  CHECK_FALSE(j.contains("name"));
  std::set<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.insert(key);
  CHECK(keys ==
        std::set<std::string>{
            "state",     "circuit",     "next_probe_ms",        "restart_in_ms", "healthy",
            "successes", "failures",    "consecutive_failures", "transport",     "origin",
            "session",   "inherit_env", "latency_ms",           "restarts",      "pid",
            "uptime_s",  "tools",       "tools_listed",         "hidden",        "collisions",
            "in_flight", "last_error",  "stderr_tail",          "protocol",      "era"});
}

TEST_CASE("to_json: optional fields of a backend that never ran are null, not absent") {
  json j = health::to_json(fresh_backend());
  for (const char* key :
       {"restart_in_ms", "pid", "uptime_s", "tools", "last_error", "protocol", "era"}) {
    INFO("key " << key);
    REQUIRE(j.contains(key));
    CHECK(j[key].is_null());
  }
  CHECK(j["state"] == "starting");
  CHECK(j["stderr_tail"] == json::array());
  CHECK(j["latency_ms"] == json{{"p50", 0.0}, {"p95", 0.0}, {"p99", 0.0}});
}

TEST_CASE("to_json: a backend in backoff carries restart_in_ms, an open circuit next_probe_ms") {
  BackendStatus b = fresh_backend("flaky");
  b.state = "backoff";
  b.circuit = "open";
  b.next_probe_ms = 12000;
  b.restart_in_ms = 1500;
  json j = health::to_json(b);
  CHECK(j["restart_in_ms"] == 1500);
  CHECK(j["next_probe_ms"] == 12000);
}

TEST_CASE("to_json: the snapshot has mcpbraid, healthy and backends keyed by name") {
  json j = health::to_json(snapshot_of({busy_backend(), fresh_backend()}));
  CHECK(j["mcpbraid"] == json{{"pid", 31337},
                              {"version", "0.4.0"},
                              {"config", "/home/me/.config/mcpbraid/config.json"},
                              {"uptime_s", 754.5},
                              {"internal_errors", 0}});
  CHECK(j["healthy"] == true);
  REQUIRE(j["backends"].is_object());
  CHECK(j["backends"].size() == 2);
  CHECK(j["backends"]["everything"]["tools"] == 13);
  CHECK(j["backends"]["memory"]["state"] == "starting");
}

TEST_CASE("to_json: the snapshot's healthy is false as soon as one backend is sick") {
  BackendStatus sick = fresh_backend("broken");
  sick.state = "failed";
  CHECK(health::to_json(snapshot_of({busy_backend(), sick}))["healthy"] == false);
  CHECK(health::to_json(snapshot_of({}))["healthy"] == true);
  CHECK(health::to_json(snapshot_of({}))["backends"] == json::object());
}

TEST_CASE("snapshot_from_json(to_json(x)) gives x back, also through text") {
  BackendStatus backoff = fresh_backend("zeta");
  backoff.state = "backoff";
  backoff.circuit = "half_open";
  backoff.next_probe_ms = 250;
  backoff.restart_in_ms = 4000;
  backoff.healthy = false;
  backoff.successes = std::numeric_limits<std::uint64_t>::max();
  backoff.failures = 1'000'000'000'000ULL;
  backoff.consecutive_failures = 7;
  backoff.last_error = "exited with status 3 \"quoted\" ✓";
  backoff.stderr_tail = {"line 1", "", "tab\there"};
  // Names in config order, which is sorted by name (to_json keys by name).
  Snapshot original = snapshot_of({busy_backend(), fresh_backend("memory"), backoff});

  for (bool through_text : {false, true}) {
    INFO("through text: " << through_text);
    json doc = health::to_json(original);
    if (through_text) doc = json::parse(doc.dump());
    Snapshot back = health::snapshot_from_json(doc);
    CHECK(back.pid == original.pid);
    CHECK(back.version == original.version);
    CHECK(back.config == original.config);
    CHECK(back.uptime_s == original.uptime_s);
    REQUIRE(back.backends.size() == original.backends.size());
    for (std::size_t i = 0; i < back.backends.size(); ++i) {
      const BackendStatus& a = original.backends[i];
      const BackendStatus& b = back.backends[i];
      INFO("backend " << a.name);
      CHECK(b.name == a.name);
      CHECK(b.state == a.state);
      CHECK(b.circuit == a.circuit);
      CHECK(b.next_probe_ms == a.next_probe_ms);
      CHECK(b.restart_in_ms == a.restart_in_ms);
      CHECK(b.healthy == a.healthy);
      CHECK(b.successes == a.successes);
      CHECK(b.failures == a.failures);
      CHECK(b.consecutive_failures == a.consecutive_failures);
      CHECK(b.p50_ms == a.p50_ms);
      CHECK(b.p95_ms == a.p95_ms);
      CHECK(b.p99_ms == a.p99_ms);
      CHECK(b.restarts == a.restarts);
      CHECK(b.pid == a.pid);
      CHECK(b.uptime_s == a.uptime_s);
      CHECK(b.inherit_env == a.inherit_env);
      CHECK(b.tools == a.tools);
      CHECK(b.in_flight == a.in_flight);
      CHECK(b.last_error == a.last_error);
      CHECK(b.stderr_tail == a.stderr_tail);
      CHECK(b.protocol == a.protocol);
      CHECK(b.era == a.era);
    }
    // And the same document again.
    CHECK(health::to_json(back) == health::to_json(original));
  }
}

TEST_CASE("to_json and the table: a remote server shows its origin and session, not a pid") {
  BackendStatus b = busy_backend();
  CHECK(health::to_json(b)["transport"] == "stdio");
  CHECK(health::to_json(b)["origin"].is_null());
  CHECK(health::to_json(b)["inherit_env"] == false);
  b.transport = "http";
  b.inherit_env.reset();
  b.origin = "https://mcp.example.com:443";
  b.session = "active";
  b.pid.reset();
  json j = health::to_json(b);
  CHECK(j["transport"] == "http");
  CHECK(j["origin"] == "https://mcp.example.com:443");
  CHECK(j["session"] == "active");
  CHECK(j["pid"].is_null());
  CHECK(j["inherit_env"].is_null());
  Snapshot back = health::snapshot_from_json(health::to_json(snapshot_of({b})));
  REQUIRE(back.backends.size() == 1);
  CHECK(back.backends[0].transport == "http");
  CHECK(back.backends[0].origin == "https://mcp.example.com:443");
  CHECK(back.backends[0].session == "active");
  std::string table = health::render_table(snapshot_of({b}), false);
  CHECK(table.find("https://mcp.example.com:443  session active") != std::string::npos);
  CHECK(table.find("pid -") == std::string::npos);
}

TEST_CASE("snapshot_from_json: fields a newer peer adds are ignored") {
  json doc = health::to_json(snapshot_of({busy_backend()}));
  doc["mcpbraid"]["hostname"] = "box";
  doc["schema"] = 2;
  doc["backends"]["everything"]["queue_depth"] = 17;
  doc["backends"]["everything"]["latency_ms"]["p999"] = 400.0;
  doc["backends"]["everything"]["transport"] = {{"kind", "stdio"}};
  Snapshot s = health::snapshot_from_json(doc);
  REQUIRE(s.backends.size() == 1);
  CHECK(s.backends[0].name == "everything");
  CHECK(s.backends[0].successes == 1234);
  CHECK(s.backends[0].p99_ms == 120.4);
}

TEST_CASE("snapshot_from_json: an older peer's missing optional fields take their defaults") {
  json doc = {{"mcpbraid", {{"pid", 7}}},
              {"backends",
               {{"old",
                 {{"state", "ready"},
                  {"circuit", "closed"},
                  {"healthy", true},
                  {"latency_ms", json::object()}}}}}};
  Snapshot s = health::snapshot_from_json(doc);
  CHECK(s.pid == 7);
  CHECK(s.version.empty());
  REQUIRE(s.backends.size() == 1);
  const BackendStatus& b = s.backends[0];
  CHECK(b.name == "old");
  CHECK(b.successes == 0);
  CHECK(b.p50_ms == 0.0);
  CHECK_FALSE(b.pid.has_value());
  CHECK_FALSE(b.tools.has_value());
  CHECK(b.last_error.empty());
  CHECK(b.stderr_tail.empty());
}

TEST_CASE("snapshot_from_json: a malformed document throws a json exception") {
  json good = health::to_json(snapshot_of({busy_backend()}));

  json no_mcpbraid = good;
  no_mcpbraid.erase("mcpbraid");
  json no_backends = good;
  no_backends.erase("backends");
  json no_state = good;
  no_state["backends"]["everything"].erase("state");
  json state_not_string = good;
  state_not_string["backends"]["everything"]["state"] = 3;
  json pid_not_number = good;
  pid_not_number["mcpbraid"]["pid"] = "31337";
  json successes_text = good;
  successes_text["backends"]["everything"]["successes"] = "many";
  json backend_not_object = good;
  backend_not_object["backends"]["everything"] = "ready";
  json no_latency = good;
  no_latency["backends"]["everything"].erase("latency_ms");

  CHECK_THROWS_AS(health::snapshot_from_json(no_mcpbraid), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(no_backends), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(no_state), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(state_not_string), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(pid_not_number), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(successes_text), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(backend_not_object), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(no_latency), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(json::array({1, 2})), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(json("health")), json::exception);
  CHECK_THROWS_AS(health::snapshot_from_json(json(nullptr)), json::exception);
}

// ====================================================== sick and exit status

TEST_CASE("sick: every state x circuit x healthy combination") {
  for (const auto& state : kStates)
    for (const auto& circuit : kCircuits)
      for (bool healthy : {true, false}) {
        BackendStatus b = fresh_backend();
        b.state = state;
        b.circuit = circuit;
        b.healthy = healthy;
        bool expected = !healthy || circuit != "closed" || state == "backoff" || state == "failed";
        INFO(state << " / " << circuit << " / " << (healthy ? "healthy" : "unhealthy"));
        CHECK(health::sick(b) == expected);
        CHECK(health::exit_status({snapshot_of({b})}) == (expected ? 1 : 0));
      }
}

TEST_CASE("sick: a ready, closed, healthy backend is well even with past failures") {
  BackendStatus b = busy_backend();
  b.failures = 999;
  b.consecutive_failures = 2;
  b.last_error = "timed out";
  CHECK_FALSE(health::sick(b));
  // Starting and stopped backends are not sick by themselves.
  b.state = "starting";
  CHECK_FALSE(health::sick(b));
  b.state = "stopped";
  CHECK_FALSE(health::sick(b));
}

TEST_CASE("exit_status: 0 with nothing to report, 1 when any backend of any instance is sick") {
  CHECK(health::exit_status({}) == 0);
  CHECK(health::exit_status({snapshot_of({})}) == 0);
  CHECK(health::exit_status({snapshot_of({busy_backend(), fresh_backend()})}) == 0);

  BackendStatus open = busy_backend();
  open.name = "flaky";
  open.circuit = "open";
  Snapshot well = snapshot_of({busy_backend()}, 100);
  Snapshot one_sick = snapshot_of({fresh_backend(), open}, 200);
  CHECK(health::exit_status({well, well}) == 0);
  CHECK(health::exit_status({well, one_sick}) == 1);
  CHECK(health::exit_status({one_sick, well}) == 1);
}

// ===================================================================== table

TEST_CASE("render_table: the title line and the column header") {
  std::string table = health::render_table(snapshot_of({busy_backend()}), false);
  auto lines = lines_of(table);
  REQUIRE(lines.size() >= 2);
  CHECK(lines[0] == "mcpbraid 0.4.0  pid 31337  up 12m34s  /home/me/.config/mcpbraid/config.json");
  CHECK(lines[1] ==
        "SERVER        STATE    CIRCUIT      HEALTH     OK  FAIL  p50/p95/p99 ms   TOOLS");
  CHECK(table.back() == '\n');
  check_fits_80(table);
}

TEST_CASE("render_table: a ready backend's row, detail, last error and stderr lines") {
  std::string table = health::render_table(snapshot_of({busy_backend()}), false);
  auto lines = lines_of(table);
  REQUIRE(lines.size() == 2 + 1 + 1 + 1 + 2);
  const std::string& row = lines[2];
  CHECK(row.rfind("everything    ready    closed       ok", 0) == 0);
  CHECK(row.find(" 1234 ") != std::string::npos);
  CHECK(row.find("1.2/8.5/120") != std::string::npos);  // 1 decimal under 100 ms
  CHECK(row.substr(row.size() - 3) == " 13");
  CHECK(lines[3] == "  pid 4242  up 3h12m  restarts 2  consecutive failures 1  in flight 3");
  CHECK(lines[4] == "  last error: timed out after 60s");
  CHECK(lines[5] == "  stderr: Starting default (STDIO) server...");
  CHECK(lines[6] == "  stderr: Server running on stdio");
}

TEST_CASE("render_table: the row's figures sit under their headers") {
  BackendStatus b = busy_backend();
  b.successes = 1234567;
  b.failures = 8765;
  std::string table = health::render_table(snapshot_of({b}), false);
  auto lines = lines_of(table);
  REQUIRE(lines.size() > 2);
  const std::string& header = lines[1];
  const std::string& row = lines[2];
  // Right-aligned numbers end where their header ends.
  CHECK(header.find("FAIL") + 4 == row.find("8765") + 4);
  CHECK(header.find("TOOLS") + 5 == row.size());
  // Left-aligned cells start where their header starts.
  CHECK(header.find("STATE") == row.find("ready"));
  CHECK(header.find("CIRCUIT") == row.find("closed"));
  CHECK(header.find("HEALTH") == row.find("ok"));
  CHECK(header.find("p50/p95/p99") == row.find("1.2/8.5/120"));
}

TEST_CASE("render_table: '-' for no latency, no pid, no uptime and no tools") {
  std::string table = health::render_table(snapshot_of({fresh_backend()}), false);
  auto lines = lines_of(table);
  REQUIRE(lines.size() == 4);  // title, header, row, detail: no last error, no stderr
  const std::string& row = lines[2];
  CHECK(row.rfind("memory        starting closed       ok", 0) == 0);
  CHECK(row.find("  -  ") != std::string::npos);  // latency column
  CHECK(row.back() == '-');                       // tools column
  CHECK(lines[3] == "  pid -  up -  restarts 0  consecutive failures 0  in flight 0");
}

TEST_CASE("render_table: an open circuit shows the time until its probe: 'open 12s'") {
  BackendStatus b = busy_backend();
  b.circuit = "open";
  b.next_probe_ms = 12000;
  b.healthy = false;
  std::string row = line_starting(health::render_table(snapshot_of({b}), false), "everything");
  CHECK(row.find("open 12s") != std::string::npos);
  CHECK(row.find("sick") != std::string::npos);

  b.next_probe_ms = 0;  // a probe is due now: no time shown
  row = line_starting(health::render_table(snapshot_of({b}), false), "everything");
  CHECK(row.find("open ") != std::string::npos);
  CHECK(row.find("open 0") == std::string::npos);
}

TEST_CASE("render_table: a backoff backend's detail line says when it restarts") {
  BackendStatus b = fresh_backend("flaky");
  b.state = "backoff";
  b.restart_in_ms = 2500;
  std::string table = health::render_table(snapshot_of({b}), false);
  CHECK(table.find("restart in 2s") != std::string::npos);
  CHECK(line_starting(table, "flaky").find("backoff") != std::string::npos);
}

TEST_CASE("render_table: ANSI colours only with color=true") {
  BackendStatus red = fresh_backend("down");
  red.state = "failed";
  red.circuit = "open";
  red.next_probe_ms = 30000;
  red.healthy = false;
  BackendStatus yellow = fresh_backend("coming");
  yellow.circuit = "half_open";
  Snapshot s = snapshot_of({busy_backend(), red, yellow});

  std::string plain = health::render_table(s, false);
  CHECK(plain.find('\x1b') == std::string::npos);

  std::string coloured = health::render_table(s, true);
  CHECK(coloured.find("\x1b[32mready") != std::string::npos);   // green
  CHECK(coloured.find("\x1b[31mfailed") != std::string::npos);  // red
  CHECK(coloured.find("\x1b[31mopen 30s") != std::string::npos);
  CHECK(coloured.find("\x1b[33mhalf_open") != std::string::npos);  // yellow
  CHECK(coloured.find("\x1b[33mstarting") != std::string::npos);
  CHECK(coloured.find("\x1b[31msick") != std::string::npos);
  CHECK(coloured.find("\x1b[0m") != std::string::npos);
  // Without the colour codes it is the same table.
  CHECK(strip_ansi(coloured) == plain);
  check_fits_80(coloured);
}

TEST_CASE("render_table: every line fits 80 columns with long names, errors and huge counts") {
  BackendStatus b = busy_backend();
  b.name = std::string(60, 'n');
  b.last_error = std::string(300, 'e');
  b.successes = std::numeric_limits<std::uint64_t>::max();
  b.failures = 1'000'000'000;
  b.consecutive_failures = 2'000'000'000;
  b.restarts = 2'000'000'000;
  b.in_flight = 1'000'000;
  b.restart_in_ms = 86'400'000LL * 400;
  b.pid = 4'194'304;
  b.p50_ms = 99999.9;
  b.p95_ms = 1234567.0;
  b.p99_ms = 98765432.1;
  b.tools = 9999;
  b.circuit = "half_open";
  b.next_probe_ms = 245000;
  b.stderr_tail = {std::string(500, 's'), "bell\a tab\t cr\r esc\x1b[2J nul-free \x7f end"};
  Snapshot s = snapshot_of({b, fresh_backend()});
  s.config = "/very/" + std::string(200, 'p') + "/config.json";
  s.version = "0.4.0-dev+" + std::string(40, 'g');

  for (bool color : {false, true}) {
    INFO("color " << color);
    std::string table = health::render_table(s, color);
    check_fits_80(table);
    // A cut is marked with '~'.
    CHECK(table.find("~") != std::string::npos);
    // Control characters of a stderr line are not passed to the terminal.
    std::string stderr_line = line_starting(strip_ansi(table), "  stderr: bell");
    REQUIRE_FALSE(stderr_line.empty());
    for (char c : stderr_line) CHECK(static_cast<unsigned char>(c) >= 0x20);
  }
}

TEST_CASE("render_table: 1e9 successes and 1e6 failures fit 80 columns, each under its header") {
  BackendStatus b = busy_backend();
  b.successes = 1'000'000'000;
  b.failures = 1'000'000;
  std::string table = health::render_table(snapshot_of({b}), false);
  check_fits_80(table);
  auto lines = lines_of(table);
  REQUIRE(lines.size() > 2);
  const std::string& header = lines[1];
  const std::string& row = lines[2];
  // The two counts are separate words, right-aligned under OK and FAIL.
  std::size_t ok_end = header.find(" OK ") + 3;
  std::size_t fail_end = header.find("FAIL") + 4;
  REQUIRE(row.size() > fail_end);
  CHECK(row[ok_end - 1] != ' ');
  CHECK(row[ok_end] == ' ');
  CHECK(row[fail_end - 1] != ' ');
  CHECK(row[fail_end] == ' ');
  std::istringstream words(row.substr(header.find("HEALTH"), fail_end - header.find("HEALTH")));
  std::string health_word, ok_word, fail_word, extra;
  words >> health_word >> ok_word >> fail_word;
  CHECK(health_word == "ok");
  CHECK_FALSE(ok_word.empty());
  CHECK_FALSE(fail_word.empty());
  CHECK_FALSE(static_cast<bool>(words >> extra));
  // A shortened count still starts with its leading digit.
  CHECK(ok_word[0] == '1');
  CHECK(fail_word[0] == '1');
  CHECK(ok_word != fail_word);
}

TEST_CASE("render_table: stderr_lines limits the stderr lines shown to the newest") {
  BackendStatus b = fresh_backend();
  b.stderr_tail = {"line 1", "line 2", "line 3", "line 4", "line 5"};
  auto stderr_lines = [&](std::size_t limit) {
    std::vector<std::string> out;
    for (const auto& line : lines_of(health::render_table(snapshot_of({b}), false, limit)))
      if (line.rfind("  stderr: ", 0) == 0) out.push_back(line.substr(10));
    return out;
  };
  CHECK(stderr_lines(2) == std::vector<std::string>{"line 4", "line 5"});
  CHECK(stderr_lines(0).empty());
  CHECK(stderr_lines(5) == b.stderr_tail);
  CHECK(stderr_lines(100) == b.stderr_tail);
  // The default is 3.
  std::vector<std::string> shown;
  for (const auto& line : lines_of(health::render_table(snapshot_of({b}), false)))
    if (line.rfind("  stderr: ", 0) == 0) shown.push_back(line.substr(10));
  CHECK(shown == std::vector<std::string>{"line 3", "line 4", "line 5"});
}

TEST_CASE("render_table: a snapshot without backends says so") {
  std::string table = health::render_table(snapshot_of({}), false);
  auto lines = lines_of(table);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2] == "(no servers configured)");
}

TEST_CASE("render_table: backends appear in snapshot order") {
  std::string table =
      health::render_table(snapshot_of({fresh_backend("alpha"), fresh_backend("beta")}), false);
  auto a = table.find("\nalpha ");
  auto b = table.find("\nbeta ");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  CHECK(a < b);
}

// ================================================================ Prometheus

namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

// Parses one `name{k="v",...} value` line; false if it is not one.
bool parse_sample(const std::string& line, Sample& out) {
  auto name_char = [](char c, bool first) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
           (!first && std::isdigit(static_cast<unsigned char>(c)));
  };
  std::size_t i = 0;
  while (i < line.size() && name_char(line[i], i == 0)) ++i;
  if (i == 0 || i >= line.size() || line[i] != '{') return false;
  out.name = line.substr(0, i);
  out.labels.clear();
  ++i;
  while (i < line.size() && line[i] != '}') {
    std::size_t k = i;
    while (i < line.size() && line[i] != ':' && name_char(line[i], i == k)) ++i;
    if (i == k || i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return false;
    std::string key = line.substr(k, i - k), value;
    for (i += 2; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\') {
        if (++i >= line.size()) return false;
        value += line[i] == 'n' ? '\n' : line[i];
      } else {
        value += line[i];
      }
    }
    if (i >= line.size()) return false;  // unterminated value
    out.labels[key] = value;
    ++i;
    if (i < line.size() && line[i] == ',')
      ++i;
    else if (i < line.size() && line[i] != '}')
      return false;
  }
  if (i + 1 >= line.size() || line[i] != '}' || line[i + 1] != ' ') return false;
  std::string text = line.substr(i + 2);
  if (text.empty() || text.find_first_of(" \t") != std::string::npos) return false;
  if (text == "NaN" || text == "+Inf" || text == "-Inf") return true;
  try {
    std::size_t used = 0;
    out.value = std::stod(text, &used);
    return used == text.size();
  } catch (...) {
    return false;
  }
}

std::vector<Sample> samples_of(const std::string& text) {
  std::vector<Sample> out;
  for (const auto& line : lines_of(text)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    if (parse_sample(line, s)) out.push_back(s);
  }
  return out;
}

// The value of the one sample with this name and these labels (a subset).
std::optional<double> value_of(const std::vector<Sample>& samples, const std::string& name,
                               const std::map<std::string, std::string>& labels) {
  std::optional<double> found;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels)
      if (auto it = s.labels.find(k); it == s.labels.end() || it->second != v) match = false;
    if (!match) continue;
    if (found) FAIL("two samples match " << name);
    found = s.value;
  }
  return found;
}

std::vector<Snapshot> two_instances() {
  BackendStatus open = busy_backend();
  open.name = "flaky-1";
  open.circuit = "open";
  open.next_probe_ms = 12000;
  open.healthy = false;
  open.successes = 1'000'000'000;
  return {snapshot_of({busy_backend(), fresh_backend("memory")}, 100),
          snapshot_of({open, fresh_backend("fs_2")}, 200)};
}

}  // namespace

TEST_CASE(
    "render_prometheus: HELP and TYPE once per family, before its samples, across two snapshots") {
  std::string text = health::render_prometheus(two_instances());
  std::map<std::string, int> help, type;
  std::set<std::string> declared;
  for (const auto& line : lines_of(text)) {
    INFO("line: " << line);
    if (line.rfind("# HELP ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      ++help[name];
      CHECK(line.size() > 7 + name.size() + 1);  // has a help text
    } else if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      std::string kind = rest.substr(rest.find(' ') + 1);
      ++type[name];
      declared.insert(name);
      CHECK((kind == "gauge" || kind == "counter"));
      if (kind == "counter") CHECK(name.size() > 6);
      if (kind == "counter") CHECK(name.substr(name.size() - 6) == "_total");
    } else {
      Sample s;
      REQUIRE(parse_sample(line, s));
      CHECK(declared.count(s.name) == 1);  // its TYPE came first
    }
  }
  CHECK(help.size() >= 10);
  for (const auto& [name, n] : help) {
    INFO("family " << name);
    CHECK(n == 1);
    CHECK(type[name] == 1);
  }
  CHECK(help.size() == type.size());
  // Families are contiguous: once another family starts, an earlier one never comes back.
  std::vector<std::string> order;
  for (const auto& s : samples_of(text))
    if (order.empty() || order.back() != s.name) order.push_back(s.name);
  CHECK(std::set<std::string>(order.begin(), order.end()).size() == order.size());
}

TEST_CASE("render_prometheus: every sample line parses as name{labels} value") {
  std::string text = health::render_prometheus(two_instances());
  std::size_t samples = 0;
  for (const auto& line : lines_of(text)) {
    if (line.rfind("# ", 0) == 0) continue;
    INFO("line: " << line);
    Sample s;
    CHECK(parse_sample(line, s));
    CHECK(s.name.rfind("mcpbraid_", 0) == 0);
    CHECK(s.labels.count("instance") == 1);
    if (s.name != "mcpbraid_uptime_seconds" && s.name != "mcpbraid_internal_errors_total")
      CHECK(s.labels.count("server") == 1);
    ++samples;
  }
  CHECK(samples > 40);
  CHECK(text.back() == '\n');
}

TEST_CASE("render_prometheus: instance and server labels, and the figures' values") {
  auto samples = samples_of(health::render_prometheus(two_instances()));
  using L = std::map<std::string, std::string>;
  CHECK(value_of(samples, "mcpbraid_uptime_seconds", {{"instance", "100"}}) == 754.5);
  CHECK(value_of(samples, "mcpbraid_uptime_seconds", {{"instance", "200"}}) == 754.5);

  L everything{{"instance", "100"}, {"server", "everything"}};
  L flaky{{"instance", "200"}, {"server", "flaky-1"}};
  L memory{{"instance", "100"}, {"server", "memory"}};
  L fs{{"instance", "200"}, {"server", "fs_2"}};
  auto with = [](L labels, const std::string& k, const std::string& v) {
    labels[k] = v;
    return labels;
  };

  CHECK(value_of(samples, "mcpbraid_backend_state", with(everything, "state", "ready")) == 1);
  CHECK(value_of(samples, "mcpbraid_backend_state", with(everything, "state", "starting")) == 0);
  CHECK(value_of(samples, "mcpbraid_backend_state", with(memory, "state", "starting")) == 1);
  CHECK(value_of(samples, "mcpbraid_backend_circuit", with(flaky, "circuit", "open")) == 1);
  CHECK(value_of(samples, "mcpbraid_backend_circuit", with(flaky, "circuit", "closed")) == 0);
  CHECK(value_of(samples, "mcpbraid_backend_next_probe_seconds", flaky) == 12);
  CHECK(value_of(samples, "mcpbraid_backend_healthy", flaky) == 0);
  CHECK(value_of(samples, "mcpbraid_backend_healthy", everything) == 1);
  CHECK(value_of(samples, "mcpbraid_backend_requests_total",
                 with(everything, "outcome", "success")) == 1234);
  CHECK(value_of(samples, "mcpbraid_backend_requests_total",
                 with(everything, "outcome", "failure")) == 5);
  CHECK(value_of(samples, "mcpbraid_backend_requests_total", with(flaky, "outcome", "success")) ==
        1e9);
  CHECK(value_of(samples, "mcpbraid_backend_consecutive_failures", everything) == 1);
  CHECK(value_of(samples, "mcpbraid_backend_latency_seconds",
                 with(everything, "quantile", "0.5")) == doctest::Approx(0.0012));
  CHECK(value_of(samples, "mcpbraid_backend_latency_seconds",
                 with(everything, "quantile", "0.95")) == doctest::Approx(0.0085));
  CHECK(value_of(samples, "mcpbraid_backend_latency_seconds",
                 with(everything, "quantile", "0.99")) == doctest::Approx(0.1204));
  CHECK(value_of(samples, "mcpbraid_backend_restarts_total", everything) == 2);
  CHECK(value_of(samples, "mcpbraid_backend_uptime_seconds", everything) == 11520.25);
  CHECK(value_of(samples, "mcpbraid_backend_tools", everything) == 13);
  CHECK(value_of(samples, "mcpbraid_backend_in_flight", everything) == 3);

  // Every backend of every instance has its state samples: 5 states x 4 backends.
  std::size_t state_samples = 0;
  for (const auto& s : samples) state_samples += s.name == "mcpbraid_backend_state";
  CHECK(state_samples == 20);
}

TEST_CASE("render_prometheus: a backend without latency, pid or tools has no such samples") {
  auto samples = samples_of(health::render_prometheus(two_instances()));
  std::map<std::string, std::string> memory{{"instance", "100"}, {"server", "memory"}};
  CHECK_FALSE(value_of(samples, "mcpbraid_backend_latency_seconds", memory).has_value());
  CHECK_FALSE(value_of(samples, "mcpbraid_backend_uptime_seconds", memory).has_value());
  CHECK_FALSE(value_of(samples, "mcpbraid_backend_tools", memory).has_value());
  // But its counters are there, at 0.
  CHECK(value_of(samples, "mcpbraid_backend_restarts_total", memory) == 0);
  CHECK(value_of(samples, "mcpbraid_backend_in_flight", memory) == 0);
}

TEST_CASE("render_prometheus: label values escape backslash, quote and newline") {
  // Config names are [A-Za-z0-9_-], but a snapshot read from another
  // version's socket could hold anything.
  BackendStatus odd = fresh_backend("a\"b\\c\nd");
  std::string text = health::render_prometheus({snapshot_of({odd}, 9)});
  CHECK(text.find(R"(server="a\"b\\c\nd")") != std::string::npos);
  for (const auto& line : lines_of(text)) {
    if (line.rfind("# ", 0) == 0) continue;
    INFO("line: " << line);
    Sample s;
    REQUIRE(parse_sample(line, s));
    if (s.name != "mcpbraid_uptime_seconds" && s.name != "mcpbraid_internal_errors_total")
      CHECK(s.labels["server"] == "a\"b\\c\nd");
  }
}

TEST_CASE("render_prometheus: no snapshots gives the families without samples") {
  std::string text = health::render_prometheus({});
  CHECK(samples_of(text).empty());
  for (const auto& line : lines_of(text)) CHECK(line.rfind("# ", 0) == 0);
}

// ================================================================= durations

TEST_CASE("format_duration_ms: ms under a second, then s, m+s, h+m, d+h") {
  CHECK(health::format_duration_ms(0) == "0ms");
  CHECK(health::format_duration_ms(1) == "1ms");
  CHECK(health::format_duration_ms(850) == "850ms");
  CHECK(health::format_duration_ms(999) == "999ms");
  CHECK(health::format_duration_ms(1000) == "1s");
  CHECK(health::format_duration_ms(12000) == "12s");
  CHECK(health::format_duration_ms(12999) == "12s");
  CHECK(health::format_duration_ms(59999) == "59s");
  CHECK(health::format_duration_ms(60000) == "1m00s");
  CHECK(health::format_duration_ms(245000) == "4m05s");
  CHECK(health::format_duration_ms(3599000) == "59m59s");
  CHECK(health::format_duration_ms(3600000) == "1h00m");
  CHECK(health::format_duration_ms((3 * 3600 + 12 * 60 + 59) * 1000.0) == "3h12m");
  CHECK(health::format_duration_ms(86399000) == "23h59m");
  CHECK(health::format_duration_ms(86400000) == "1d00h");
  CHECK(health::format_duration_ms((2 * 86400 + 3 * 3600 + 59 * 60) * 1000.0) == "2d03h");
  CHECK(health::format_duration_ms(400 * 86400000.0) == "400d00h");
}

TEST_CASE("format_duration_ms: fractional milliseconds round") {
  CHECK(health::format_duration_ms(0.4) == "0ms");
  CHECK(health::format_duration_ms(849.6) == "850ms");
  CHECK(health::format_duration_ms(1500.7) == "1s");
}

TEST_CASE("render_prometheus: values keep their precision (14 days of uptime to the half second)") {
  BackendStatus b = busy_backend();
  b.uptime_s = 1234567.5;
  Snapshot s = snapshot_of({b}, 1);
  s.uptime_s = 11520.25;
  auto samples = samples_of(health::render_prometheus({s}));
  CHECK(value_of(samples, "mcpbraid_backend_uptime_seconds", {{"server", "everything"}}) ==
        1234567.5);
  CHECK(value_of(samples, "mcpbraid_uptime_seconds", {{"instance", "1"}}) == 11520.25);
}

// The table (printed by `mcpbraid health` and in the gateway_health tool's
// text) stays valid UTF-8 when a long line is cut.
TEST_CASE("render_table: cutting a long UTF-8 line never splits a character") {
  BackendStatus b = fresh_backend();
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";  // é
  b.last_error = accents;
  b.stderr_tail = {accents, "x" + accents};
  std::string table = health::render_table(snapshot_of({b}), false);
  CHECK_NOTHROW((void)json(table).dump());  // strict: throws on invalid UTF-8
}

TEST_CASE("render_table: what the client sees of a server, when it is not everything") {
  BackendStatus b = fresh_backend("alpha");
  b.tools = 13;
  b.tools_listed = 2;
  b.tools_hidden = 3;
  b.prompts_hidden = 1;
  b.collisions = {"read (kept by zeta)", "write (kept by zeta)"};
  std::string table = health::render_table(snapshot_of({b}), false);
  // (The line is cut to the table's 80 columns.)
  CHECK(table.find("\n  listed 2 of 13 tools; filtered out: 3 tools, 1 prompt; name collisions: "
                   "re") != std::string::npos);
  // All listed, nothing hidden: no such line.
  BackendStatus plain = fresh_backend("beta");
  plain.tools = 4;
  plain.tools_listed = 4;
  std::string quiet = health::render_table(snapshot_of({plain}), false);
  CHECK(quiet.find("listed") == std::string::npos);
  CHECK(quiet.find("filtered") == std::string::npos);
  // The fields survive JSON both ways.
  auto back = health::snapshot_from_json(health::to_json(snapshot_of({b})));
  REQUIRE(back.backends.size() == 1);
  CHECK(back.backends[0].tools_listed == 2);
  CHECK(back.backends[0].tools_hidden == 3);
  CHECK(back.backends[0].prompts_hidden == 1);
  CHECK(back.backends[0].collisions == b.collisions);
}
