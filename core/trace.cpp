#include "core/trace.hpp"

#include <cstdio>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mcpmux::trace {

namespace {

Format g_format = Format::text;
Level g_level = Level::info;

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

}  // namespace

void init(Level level, Format format) {
  g_format = format;
  spdlog::drop("mcpmux");
  auto logger = spdlog::stderr_logger_st("mcpmux");
  if (format == Format::json)
    logger->set_pattern("{\"ts\":\"%Y-%m-%dT%H:%M:%S.%fZ\",\"level\":\"%l\",%v}", spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  set_level(level);
}

void set_level(Level level) {
  g_level = level;
  spdlog::set_level(to_spdlog(level));
}

bool enabled(Level level) { return level >= g_level && level != Level::off; }

std::optional<Level> parse_level(std::string_view text) {
  if (text == "trace") return Level::trace;
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn" || text == "warning") return Level::warn;
  if (text == "error") return Level::error;
  if (text == "off") return Level::off;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view text) {
  if (text == "text") return Format::text;
  if (text == "json") return Format::json;
  return std::nullopt;
}

Line::Line(Level level, std::string_view event) : level_(level), on_(enabled(level)) {
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

}  // namespace mcpmux::trace
