#pragma once
// Structured trace lines on stderr: one line per event, key=value fields
// (or one JSON object per line with --log-format json).
//
//   trace::Line(trace::Level::info, "backend.spawn").kv("server", name).kv("pid", pid);
//
// The line is written when the builder goes out of scope. Building is skipped
// entirely when the level is disabled.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpbraid::trace {

enum class Level { trace, debug, info, warn, error, off };
enum class Format { text, json };

// A base level and per-component overrides, from `--log-level` /
// MCPBRAID_LOG: "debug", "backend=debug", "warn,stderr=debug,circuit=off".
// A line's component is its event name up to the first '.' ("backend.spawn"
// -> backend; "stderr" -> stderr).
struct LevelSpec {
  Level base = Level::info;
  std::vector<std::pair<std::string, Level>> components;
};

// The components lines are filed under, for validating a spec.
const std::vector<std::string>& components();

// Replaces spdlog's default logger (which writes to stdout) with a stderr
// sink. Call first thing in main.
void init(Level level, Format format);
void init(const LevelSpec& levels, Format format);
void set_level(Level level);
// Is a line of this event at this level written?
bool enabled(Level level, std::string_view event = {});
std::optional<Level> parse_level(std::string_view text);
// nullopt with `error` set on an unknown level or component.
std::optional<LevelSpec> parse_level_spec(std::string_view text, std::string* error);
std::optional<Format> parse_format(std::string_view text);

// The level a backend's stderr line is relayed at: warn or error when it
// reads like one ("Error:", "[WARN]", "npm ERR!", "Traceback", "panic"),
// else debug.
Level classify_stderr(std::string_view line);

class Line {
 public:
  Line(Level level, std::string_view event);
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }
  Line& kv(std::string_view key, std::int64_t value);
  Line& kv(std::string_view key, int value) { return kv(key, static_cast<std::int64_t>(value)); }
  Line& kv(std::string_view key, std::uint64_t value) {
    return kv(key, static_cast<std::int64_t>(value));
  }
  Line& kv(std::string_view key, double value);
  Line& kv(std::string_view key, bool value);

 private:
  void raw(std::string_view key, std::string_view value, bool quote);
  Level level_;
  bool on_;
  std::string text_;
};

inline Line debug(std::string_view event) {
  return Line(Level::debug, event);
}
inline Line info(std::string_view event) {
  return Line(Level::info, event);
}
inline Line warn(std::string_view event) {
  return Line(Level::warn, event);
}
inline Line error(std::string_view event) {
  return Line(Level::error, event);
}
inline Line at(Level level, std::string_view event) {
  return Line(level, event);
}

}  // namespace mcpbraid::trace
