#include "core/sse.hpp"

#include <limits>
#include <utility>

namespace mcpbraid::sse {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

Parser::Parser(OnEvent on_event, std::size_t max_event)
    : on_event_(std::move(on_event)),
      max_event_(max_event),
      max_line_(max_event > std::numeric_limits<std::size_t>::max() - kLineSlack
                    ? std::numeric_limits<std::size_t>::max()
                    : max_event + kLineSlack) {}

void Parser::feed(std::string_view bytes) {
  // One BOM at the very start of the stream, possibly split across feeds;
  // the bytes of a prefix of it that turns out not to be one are a line's.
  if (!bom_checked_) {
    while (!bytes.empty() && bom_held_ < kBom.size() && bytes.front() == kBom[bom_held_]) {
      ++bom_held_;
      bytes.remove_prefix(1);
    }
    if (bom_held_ == kBom.size()) {
      bom_checked_ = true;
    } else if (bytes.empty()) {
      return;  // still a possible BOM
    } else {
      bom_checked_ = true;
      consume(kBom.substr(0, bom_held_));
    }
    bom_held_ = 0;
  }
  consume(bytes);
}

// The line splitter: CRLF, LF or CR, with a CRLF possibly split across
// feeds. Lines are handed over in place when they lie in one chunk.
void Parser::consume(std::string_view bytes) {
  if (bytes.empty()) return;
  if (after_cr_) {
    after_cr_ = false;
    if (bytes.front() == '\n') bytes.remove_prefix(1);
  }
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    std::size_t eol = bytes.find_first_of("\r\n", pos);
    std::string_view piece =
        bytes.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (skipping_) {
      // The rest of an overlong line, already judged by its head.
      if (eol != std::string_view::npos) skipping_ = false;
    } else if (pending_.size() + piece.size() > max_line_) {
      // Keep only the head that judges the line, then skip to its end.
      std::size_t want = max_line_ - pending_.size() + 1;
      pending_.append(piece.substr(0, want));
      overlong(pending_);
      std::string().swap(pending_);
      skipping_ = eol == std::string_view::npos;
    } else if (eol == std::string_view::npos) {
      pending_.append(piece);
    } else if (pending_.empty()) {
      line(piece);
    } else {
      pending_.append(piece);
      line(pending_);
      pending_.clear();
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
    if (bytes[eol] == '\r') {
      if (pos == bytes.size())
        after_cr_ = true;
      else if (bytes[pos] == '\n')
        ++pos;
    }
  }
}

void Parser::line(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') return;  // a comment
  std::string_view name = line, value;
  if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "event") {
    type_.assign(value);
  } else if (name == "data") {
    if (too_big_) return;
    if (data_.size() + value.size() > max_event_) {
      too_big_ = true;
      std::string().swap(data_);
      return;
    }
    data_.append(value);
    data_.push_back('\n');
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) id_buffer_.assign(value);
  } else if (name == "retry") {
    if (!all_digits(value)) return;
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::int64_t ms = 0;
    for (char c : value) {
      int digit = c - '0';
      if (ms > (kMax - digit) / 10) {
        ms = kMax;
        break;
      }
      ms = ms * 10 + digit;
    }
    retry_ = ms;
  }
  // Any other field is ignored.
}

// A line of more than max_line_ bytes, judged by its first max_line_ + 1:
// a comment or an unknown field (a name that long is one) changes nothing
// either way; the known fields would keep too much, so the event is dropped
// as oversized (for `data` the standard's result would be that anyway).
void Parser::overlong(std::string_view head) {
  if (head.front() == ':') return;
  std::size_t colon = head.find(':');
  if (colon == std::string_view::npos) return;
  std::string_view name = head.substr(0, colon);
  if (name == "data" || name == "event" || name == "id" || name == "retry") {
    too_big_ = true;
    std::string().swap(data_);
  }
}

void Parser::dispatch() {
  last_id_ = id_buffer_;
  bool too_big = std::exchange(too_big_, false);
  if (too_big || data_.empty()) {
    if (too_big) ++oversized_;
    type_.clear();
    data_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last value
  Event event;
  if (!type_.empty()) event.type = type_;
  event.data = std::move(data_);
  event.id = last_id_;
  type_.clear();
  data_.clear();
  on_event_(event);
}

void Parser::end() {
  std::string().swap(pending_);
  skipping_ = false;
  bom_checked_ = false;
  bom_held_ = 0;
  after_cr_ = false;
  type_.clear();
  std::string().swap(data_);
  too_big_ = false;
  id_buffer_ = last_id_;  // an `id` of the discarded event never took effect
}

}  // namespace mcpbraid::sse
