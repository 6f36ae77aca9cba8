// libFuzzer target: the SSE parser (core/sse.hpp) fed in chunks of sizes
// drawn from the input, against the same parser fed each stream whole, one
// byte at a time (short inputs), and a reference written here that works on
// the whole buffer, line by line.
//
// Input: 4 header bytes, then the bytes of the streams.
//   byte 0: max_event (the low three bits): 0, 1, 8, 16, 64, 100, 4096 or
//           4 MiB;
//   byte 1: how often the stream ends (end()) after a chunk, the low two
//           bits: never, 1/16, 1/4 or 1/2 of the time; the bytes after an
//           end() are a new stream, which may start with a BOM again;
//   bytes 2-3: the seed of the chunk sizes (1 byte to 16 KiB).
// Invariants: the three runs and the reference give the same events, last
// event id, retry and oversized count; no event's data is over max_event,
// no type or id over max_event + 1 KiB.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sse.hpp"
#include "fuzz_check.hpp"

using mcpbraid::sse::Event;
using mcpbraid::sse::Parser;

namespace {

// The longest line Parser keeps is max_event + this (kLineSlack in sse.hpp).
constexpr std::size_t kLineSlack = 1024;

struct Outcome {
  std::vector<Event> events;
  std::string last_id;
  std::optional<std::int64_t> retry;
  std::size_t oversized = 0;
};

// ---------------------------------------------------------------- reference

std::optional<std::int64_t> reference_retry(std::string_view value) {
  if (value.empty()) return std::nullopt;
  for (char c : value)
    if (c < '0' || c > '9') return std::nullopt;
  while (value.size() > 1 && value.front() == '0') value.remove_prefix(1);
  constexpr std::string_view kMax = "9223372036854775807";
  if (value.size() > kMax.size() || (value.size() == kMax.size() && value > kMax))
    return std::numeric_limits<std::int64_t>::max();
  std::int64_t n = 0;
  for (char c : value) n = n * 10 + (c - '0');
  return n;
}

// One stream, whole: its complete lines, then the WHATWG steps per line.
void reference_stream(std::string_view s, std::size_t max_event, Outcome& out) {
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\r' && s[i] != '\n') continue;
    lines.push_back(s.substr(start, i - start));
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
    start = i + 1;
  }
  // What is after the last line ending is an incomplete line: discarded.

  const std::size_t max_line = max_event + kLineSlack;
  std::string type, id_buffer = out.last_id;
  std::vector<std::string> values;
  bool dropped = false;
  for (std::string_view line : lines) {
    if (line.empty()) {
      out.last_id = id_buffer;
      if (dropped) {
        ++out.oversized;
      } else if (!values.empty()) {
        std::string data;
        for (std::size_t k = 0; k < values.size(); ++k) {
          if (k > 0) data += '\n';
          data += values[k];
        }
        if (data.size() > max_event) {
          ++out.oversized;
        } else {
          Event e;
          if (!type.empty()) e.type = type;
          e.data = data;
          e.id = out.last_id;
          out.events.push_back(e);
        }
      }
      type.clear();
      values.clear();
      dropped = false;
      continue;
    }
    if (line[0] == ':') continue;
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == line.npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    bool known = name == "data" || name == "event" || name == "id" || name == "retry";
    if (line.size() > max_line) {
      if (known) dropped = true;
      continue;
    }
    if (name == "event") {
      type = value;
    } else if (name == "data") {
      values.emplace_back(value);
    } else if (name == "id") {
      if (value.find('\0') == value.npos) id_buffer = value;
    } else if (name == "retry") {
      if (auto r = reference_retry(value)) out.retry = r;
    }
  }
}

// ---------------------------------------------------------------- runs

void check_bounds(const Event& e, std::size_t max_event) {
  FUZZ_CHECK(e.data.size() <= max_event, "an event of %zu bytes of data > max_event %zu",
             e.data.size(), max_event);
  FUZZ_CHECK(e.type.size() <= max_event + kLineSlack, "a type of %zu bytes", e.type.size());
  FUZZ_CHECK(e.id.size() <= max_event + kLineSlack, "an id of %zu bytes", e.id.size());
}

struct Run {
  Outcome out;
  Parser parser;
  explicit Run(std::size_t max_event)
      : parser(
            [this, max_event](Event& e) {
              check_bounds(e, max_event);
              out.events.push_back(e);
            },
            max_event) {}
  Outcome finish() {
    out.last_id = parser.last_event_id();
    out.retry = parser.retry_ms();
    out.oversized = parser.oversized();
    return out;
  }
};

std::string show_event(const Event& e) {
  return "{type " + fuzz::show(e.type, 40) + ", data " + fuzz::show(e.data, 80) + ", id " +
         fuzz::show(e.id, 40) + "}";
}

void check_same(const Outcome& got, const Outcome& want, const char* what) {
  std::size_t n = std::min(got.events.size(), want.events.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Event& g = got.events[i];
    const Event& w = want.events[i];
    FUZZ_CHECK(g.type == w.type && g.data == w.data && g.id == w.id, "%s: event %zu is %s, not %s",
               what, i, show_event(g).c_str(), show_event(w).c_str());
  }
  FUZZ_CHECK(got.events.size() == want.events.size(), "%s: %zu events, not %zu (next: %s)", what,
             got.events.size(), want.events.size(),
             got.events.size() > n    ? show_event(got.events[n]).c_str()
             : want.events.size() > n ? show_event(want.events[n]).c_str()
                                      : "");
  FUZZ_CHECK(got.last_id == want.last_id, "%s: last id %s, not %s", what,
             fuzz::show(got.last_id, 60).c_str(), fuzz::show(want.last_id, 60).c_str());
  FUZZ_CHECK(got.retry == want.retry, "%s: retry %lld (%d), not %lld (%d)", what,
             static_cast<long long>(got.retry.value_or(-1)), int(got.retry.has_value()),
             static_cast<long long>(want.retry.value_or(-1)), int(want.retry.has_value()));
  FUZZ_CHECK(got.oversized == want.oversized, "%s: %zu oversized, not %zu", what, got.oversized,
             want.oversized);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  static const std::size_t kMaxEvent[8] = {0, 1, 8, 16, 64, 100, 4096, 4u << 20};
  const std::size_t max_event = kMaxEvent[data[0] & 7];
  static const unsigned kEndBelow[4] = {0, 16, 64, 128};  // of 256
  const unsigned end_below = kEndBelow[data[1] & 3];
  fuzz::Rng rng(static_cast<std::uint64_t>(data[2]) | static_cast<std::uint64_t>(data[3]) << 8);
  std::string_view input = fuzz::as_view(data + 4, size - 4);

  // Chunked, with end() after some chunks: those cuts make the streams.
  Run chunked(max_event);
  std::vector<std::string_view> streams;
  std::size_t stream_start = 0;
  for (std::size_t pos = 0; pos < input.size();) {
    std::size_t chunk = 1 + rng.below(std::size_t{1} << rng.below(15));
    chunk = std::min(chunk, input.size() - pos);
    chunked.parser.feed(input.substr(pos, chunk));
    pos += chunk;
    if (pos < input.size() && (rng.next() & 0xff) < end_below) {
      chunked.parser.end();
      streams.push_back(input.substr(stream_start, pos - stream_start));
      stream_start = pos;
    }
  }
  chunked.parser.end();
  streams.push_back(input.substr(stream_start));
  Outcome got_chunked = chunked.finish();

  Run whole(max_event);
  Outcome want;
  for (std::string_view s : streams) {
    whole.parser.feed(s);
    whole.parser.end();
    reference_stream(s, max_event, want);
  }
  Outcome got_whole = whole.finish();

  check_same(got_whole, want, "whole");
  check_same(got_chunked, want, "chunked");

  if (input.size() <= 4096) {
    Run bytewise(max_event);
    for (std::string_view s : streams) {
      for (char c : s) bytewise.parser.feed(std::string_view(&c, 1));
      bytewise.parser.end();
    }
    check_same(bytewise.finish(), want, "byte by byte");
  }
  return 0;
}
