#include "core/trace.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/utf8.hpp"

namespace mcpbraid::trace {

namespace {

Format g_format = Format::text;
LevelSpec g_levels;

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

// Escapes for a quoted value; bytes that are not UTF-8 (a backend's stderr
// may hold anything) become U+FFFD so JSON lines stay valid JSON.
void append_escaped(std::string& out, std::string_view v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else if (static_cast<unsigned char>(c) < 0x80) {
          out += c;
        } else if (std::size_t n = utf8_sequence_length(v, i)) {
          out.append(v.substr(i, n));
          i += n - 1;
        } else {
          out += "\xEF\xBF\xBD";
        }
    }
  }
}

Level min_level(const LevelSpec& spec) {
  Level lowest = spec.base;
  for (const auto& [name, level] : spec.components) lowest = std::min(lowest, level);
  return lowest;
}

}  // namespace

const std::vector<std::string>& components() {
  static const std::vector<std::string> kComponents = {"gateway", "client",  "request",
                                                       "backend", "circuit", "upstream",
                                                       "config",  "control", "stderr"};
  return kComponents;
}

void init(Level level, Format format) {
  init(LevelSpec{level, {}}, format);
}

void init(const LevelSpec& levels, Format format) {
  g_format = format;
  spdlog::drop("mcpbraid");
  auto logger = spdlog::stderr_logger_st("mcpbraid");
  if (format == Format::json)
    logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}",
                        spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  g_levels = levels;
  spdlog::set_level(to_spdlog(min_level(g_levels)));
}

void set_level(Level level) {
  g_levels = LevelSpec{level, {}};
  spdlog::set_level(to_spdlog(level));
}

bool enabled(Level level, std::string_view event) {
  Level threshold = g_levels.base;
  if (!g_levels.components.empty()) {
    std::string_view component = event.substr(0, event.find('.'));
    for (const auto& [name, at] : g_levels.components)
      if (name == component) threshold = at;
  }
  return level != Level::off && threshold != Level::off && level >= threshold;
}

std::optional<Level> parse_level(std::string_view text) {
  if (text == "trace") return Level::trace;
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  if (text == "off") return Level::off;
  return std::nullopt;
}

std::optional<LevelSpec> parse_level_spec(std::string_view text, std::string* error) {
  LevelSpec spec;
  bool any = false;
  while (!text.empty() || !any) {
    std::string_view item = text.substr(0, text.find(','));
    text = item.size() < text.size() ? text.substr(item.size() + 1) : std::string_view();
    any = true;
    auto eq = item.find('=');
    std::string_view name = eq == std::string_view::npos ? std::string_view() : item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
    auto level = parse_level(value);
    if (!level) {
      if (error)
        *error =
            "unknown level '" + std::string(value) + "' (trace, debug, info, warn, error, off)";
      return std::nullopt;
    }
    if (eq == std::string_view::npos) {
      spec.base = *level;
      continue;
    }
    const auto& known = components();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      if (error) {
        *error = "unknown component '" + std::string(name) + "' (";
        for (std::size_t i = 0; i < known.size(); ++i) *error += (i ? ", " : "") + known[i];
        *error += ")";
      }
      return std::nullopt;
    }
    spec.components.emplace_back(std::string(name), *level);
  }
  return spec;
}

std::optional<Format> parse_format(std::string_view text) {
  if (text == "text") return Format::text;
  if (text == "json") return Format::json;
  return std::nullopt;
}

Level classify_stderr(std::string_view line) {
  // Case-insensitive whole-word search for the words loggers use.
  auto has_word = [line](std::string_view word) {
    for (std::size_t i = 0; i + word.size() <= line.size(); ++i) {
      if (i > 0 && std::isalpha(static_cast<unsigned char>(line[i - 1]))) continue;
      std::size_t k = 0;
      while (k < word.size() && std::tolower(static_cast<unsigned char>(line[i + k])) == word[k])
        ++k;
      if (k < word.size()) continue;
      std::size_t end = i + k;
      if (end == line.size() || !std::isalpha(static_cast<unsigned char>(line[end]))) return true;
    }
    return false;
  };
  for (std::string_view w :
       {"error", "err", "fatal", "panic", "critical", "traceback", "exception"})
    if (has_word(w)) return Level::error;
  // Exception names: "TypeError: ...", "ValueError: ...", "IOException: ...".
  for (std::string_view w : {"Error:", "Exception:"})
    if (line.find(w) != std::string_view::npos) return Level::error;
  for (std::string_view w : {"warn", "warning"})
    if (has_word(w)) return Level::warn;
  if (line.find("Warning:") != std::string_view::npos) return Level::warn;  // ExperimentalWarning:
  return Level::debug;
}

Line::Line(Level level, std::string_view event) : level_(level), on_(enabled(level, event)) {
  if (!on_) return;
  if (g_format == Format::json) {
    text_ = "\"event\":\"";
    append_escaped(text_, event);
    text_ += '"';
  } else {
    text_ = "event=";
    text_ += event;
  }
}

Line::~Line() {
  if (on_) spdlog::log(to_spdlog(level_), "{}", text_);
}

void Line::raw(std::string_view key, std::string_view value, bool quote) {
  if (g_format == Format::json) {
    text_ += ",\"";
    text_ += key;
    text_ += "\":";
    if (quote) {
      text_ += '"';
      append_escaped(text_, value);
      text_ += '"';
    } else {
      text_ += value;
    }
    return;
  }
  text_ += ' ';
  text_ += key;
  text_ += '=';
  if (quote && needs_quotes(value)) {
    text_ += '"';
    append_escaped(text_, value);
    text_ += '"';
  } else {
    text_ += value;
  }
}

Line& Line::kv(std::string_view key, std::string_view value) {
  if (on_) raw(key, value, true);
  return *this;
}

Line& Line::kv(std::string_view key, std::int64_t value) {
  if (on_) raw(key, std::to_string(value), false);
  return *this;
}

Line& Line::kv(std::string_view key, double value) {
  if (on_) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", value);
    raw(key, buf, false);
  }
  return *this;
}

Line& Line::kv(std::string_view key, bool value) {
  if (on_) raw(key, value ? "true" : "false", false);
  return *this;
}

}  // namespace mcpbraid::trace
