// libFuzzer target: LineSplitter (core/jsonrpc.hpp) against a reference
// splitter, with the stream cut into chunks of sizes drawn from the input.
//
// Input: 4 header bytes, then the stream.
//   byte 0: max_line: 64 (most often), 1, 16, 100, 4096 or 5000; with the
//           four high bits set the first line is repeated (up to 160 KiB)
//           and max_line is 70000 or 150000, which reaches the swap path
//           (lines over 64 KiB);
//   byte 1: how often the reader drains the splitter between appends (the
//           low two bits: never skipped, or skipped 1/2 or 3/4 of the time);
//   bytes 2-3: the seed of the chunk sizes (1 byte to 16 KiB).
// Invariants: every line has no '\n', is not blank, is at most max_line
// long; an oversized piece reports a size above max_line and keeps at most
// kOversizedHead bytes, which are the head of that line; the sequence of
// pieces equals the reference's (an oversized line of only blanks may be
// reported or skipped); oversized() counts the oversized pieces; after
// take_tail nothing is left.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/jsonrpc.hpp"
#include "fuzz_check.hpp"

using mcpbraid::LineSplitter;
using Piece = LineSplitter::Piece;

namespace {

struct Expected {
  std::string raw;   // the line as in the stream, without its '\n'
  std::size_t size;  // without a trailing '\r'
  bool oversized;
  bool optional;  // a blank oversized line: may be reported or skipped
};

bool blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t') return false;
  return true;
}

void expect_line(std::vector<Expected>& out, std::string_view raw, std::size_t max_line) {
  std::string_view content = raw;
  if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  bool is_blank = blank(content);
  bool oversized = content.size() > max_line;
  if (is_blank && !oversized) return;
  out.push_back(Expected{std::string(raw), content.size(), oversized, is_blank});
}

std::vector<Expected> reference(std::string_view stream, std::size_t max_line) {
  std::vector<Expected> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = stream.find('\n', start);
    if (nl == stream.npos) break;
    expect_line(out, stream.substr(start, nl - start), max_line);
    start = nl + 1;
  }
  if (start < stream.size()) expect_line(out, stream.substr(start), max_line);
  return out;
}

struct Got {
  Piece piece;
  std::string text;
  std::size_t size;  // oversized_size() for an oversized piece
};

bool matches(const Got& got, const Expected& e) {
  if (got.piece == Piece::line)
    return !e.oversized && got.text == e.raw.substr(0, e.size) && e.size == got.text.size();
  // The size may count a trailing '\r' that arrived as the last byte of a read.
  bool size_ok = got.size == e.size || got.size == e.raw.size();
  std::size_t want_head = std::min(LineSplitter::kOversizedHead, e.size);
  bool head_ok = got.text.size() >= want_head && got.text.size() <= LineSplitter::kOversizedHead &&
                 std::string_view(e.raw).substr(0, got.text.size()) == got.text;
  return e.oversized && size_ok && head_ok;
}

void check_piece(const Got& got, std::size_t max_line) {
  if (got.piece == Piece::line) {
    FUZZ_CHECK(got.text.find('\n') == std::string::npos, "a line holds a newline");
    FUZZ_CHECK(got.text.size() <= max_line, "a line of %zu bytes > max_line %zu", got.text.size(),
               max_line);
    FUZZ_CHECK(!blank(got.text), "a blank line was returned");
  } else {
    FUZZ_CHECK(got.size > max_line, "an oversized piece of %zu bytes <= max_line %zu", got.size,
               max_line);
    FUZZ_CHECK(got.text.size() <= LineSplitter::kOversizedHead, "an oversized head of %zu bytes",
               got.text.size());
    FUZZ_CHECK(got.text.find('\n') == std::string::npos, "an oversized head holds a newline");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  static const std::size_t kSmall[8] = {64, 64, 64, 1, 16, 100, 4096, 5000};
  std::size_t max_line = kSmall[data[0] & 7];
  std::string stream(reinterpret_cast<const char*>(data) + 4, size - 4);
  if ((data[0] & 0xF0) == 0xF0) {
    // Large: the first line of the stream repeated 64 to 8192 times (up to
    // 160 KiB), then the rest of the stream.
    max_line = (data[0] & 8) ? 70000 : 150000;
    std::size_t nl = stream.find('\n');
    std::string one = stream.substr(0, nl);
    std::string rest = nl == std::string::npos ? std::string() : stream.substr(nl);
    std::string big;
    for (std::size_t reps = std::size_t{64} << (data[0] & 7);
         reps > 0 && !one.empty() && big.size() + one.size() <= (160u << 10); --reps)
      big += one;
    stream = big + rest;
  }
  unsigned drain_mask = data[1] & 3;
  fuzz::Rng rng(static_cast<std::uint64_t>(data[2]) | static_cast<std::uint64_t>(data[3]) << 8);

  LineSplitter splitter(max_line);
  std::vector<Got> got;
  std::size_t oversized = 0;
  auto drain = [&] {
    for (;;) {
      std::string line = "stale";
      Piece p = splitter.next(line);
      if (p == Piece::none) return;
      Got g{p, std::move(line), p == Piece::oversized ? splitter.oversized_size() : 0};
      check_piece(g, max_line);
      if (p == Piece::oversized) ++oversized;
      got.push_back(std::move(g));
    }
  };
  for (std::size_t pos = 0; pos < stream.size();) {
    std::size_t chunk = 1 + rng.below(std::size_t{1} << rng.below(15));
    chunk = std::min(chunk, stream.size() - pos);
    splitter.append(std::string_view(stream).substr(pos, chunk));
    pos += chunk;
    if ((rng.next() & drain_mask) == 0) drain();
  }
  drain();
  {
    std::string line;
    Piece p = splitter.take_tail(line);
    if (p != Piece::none) {
      Got g{p, std::move(line), p == Piece::oversized ? splitter.oversized_size() : 0};
      check_piece(g, max_line);
      if (p == Piece::oversized) ++oversized;
      got.push_back(std::move(g));
    }
    std::string again;
    FUZZ_CHECK(splitter.take_tail(again) == Piece::none, "take_tail twice");
    FUZZ_CHECK(splitter.next(again) == Piece::none, "next after take_tail");
  }
  FUZZ_CHECK(splitter.oversized() == oversized, "oversized()=%zu, %zu oversized pieces",
             splitter.oversized(), oversized);

  // Align the pieces with the reference. An optional (blank oversized)
  // line may or may not have a piece, and a piece can match both such a
  // line and the next one (their heads and sizes may agree), so no greedy
  // choice: carry the set of piece positions each prefix of `want` can
  // reach (small: it grows only along a run of optional lines).
  std::vector<Expected> want = reference(stream, max_line);
  std::vector<std::size_t> reach{0};
  for (std::size_t w = 0; w < want.size(); ++w) {
    std::vector<std::size_t> next;
    auto add = [&](std::size_t g) {
      if (std::find(next.begin(), next.end(), g) == next.end()) next.push_back(g);
    };
    for (std::size_t g : reach) {
      if (g < got.size() && matches(got[g], want[w])) add(g + 1);
      if (want[w].optional) add(g);
    }
    if (next.empty()) {
      std::size_t g = *std::max_element(reach.begin(), reach.end());
      FUZZ_CHECK(false, "piece %zu: expected %s line of %zu bytes %s, got %s", g,
                 want[w].oversized ? "an oversized" : "a", want[w].size,
                 fuzz::show(want[w].raw, 80).c_str(),
                 g < got.size() ? (got[g].piece == Piece::line
                                       ? "a line " + fuzz::show(got[g].text, 80)
                                       : "an oversized piece of " + std::to_string(got[g].size))
                                      .c_str()
                                : "nothing");
    }
    reach = std::move(next);
  }
  std::size_t g = *std::max_element(reach.begin(), reach.end());
  FUZZ_CHECK(std::find(reach.begin(), reach.end(), got.size()) != reach.end(),
             "%zu pieces more than the reference (next: %s)", got.size() - g,
             fuzz::show(got[g].text, 80).c_str());
  return 0;
}
