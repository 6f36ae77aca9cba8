#include "core/jsonrpc.hpp"

#include <cstring>

#include "core/utf8.hpp"

namespace mcpbraid::rpc {

namespace {

Message invalid(int code, std::string text, json body = nullptr) {
  Message m;
  m.kind = Kind::Invalid;
  m.error_code = code;
  m.error_text = std::move(text);
  m.body = std::move(body);
  return m;
}

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer();
}

Message classify(std::string_view line) {
  // nlohmann stops at a NUL as if the input ended there; JSON has none
  // outside strings, and inside them it must be escaped.
  if (line.find('\0') != std::string_view::npos)
    return invalid(kParseError, "Parse error: invalid JSON (a NUL byte)");
  json body = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return invalid(kParseError, "Parse error: invalid JSON");
  if (!body.is_object()) return invalid(kInvalidRequest, "Invalid Request: not a JSON object");
  auto version = body.find("jsonrpc");
  if (version == body.end() || *version != "2.0")
    return invalid(kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"", std::move(body));
  auto method = body.find("method");
  auto id = body.find("id");
  bool has_id = id != body.end();
  if (method != body.end()) {
    if (!method->is_string())
      return invalid(kInvalidRequest, "Invalid Request: method must be a string", std::move(body));
    if (has_id && !valid_id(*id))
      return invalid(kInvalidRequest, "Invalid Request: id must be a string or an integer",
                     std::move(body));
    auto params = body.find("params");
    if (params != body.end() && !params->is_object() && !params->is_array())
      return invalid(kInvalidRequest, "Invalid Request: params must be an object", std::move(body));
    Message m;
    m.kind = has_id ? Kind::Request : Kind::Notification;
    m.method = method->get<std::string>();
    m.body = std::move(body);
    return m;
  }
  bool has_result = body.contains("result");
  bool has_error = body.contains("error");
  if (has_id && (has_result != has_error)) {
    Message m;
    m.kind = Kind::Response;
    m.body = std::move(body);
    return m;
  }
  return invalid(kInvalidRequest, "Invalid Request: neither a request nor a response",
                 std::move(body));
}

}  // namespace

bool nesting_exceeds(std::string_view text, int max_depth) {
  int depth = 0;
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    char c = *p++;
    if (c == '"') {
      // Skip the string: find its closing quote, honouring escapes.
      while (p < end) {
        const void* hit = std::memchr(p, '"', static_cast<std::size_t>(end - p));
        if (!hit) return false;
        const char* q = static_cast<const char*>(hit);
        std::size_t backslashes = 0;
        for (const char* b = q; b > p && b[-1] == '\\'; --b) ++backslashes;
        p = q + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

namespace {

// A tolerant reader of the top-level members of an object that may be cut
// short (the head of an oversized line) or nested too deeply to parse:
// values are skipped by counting brackets, never by recursion.
class IdPeeker {
 public:
  explicit IdPeeker(std::string_view text) : t_(text) {}

  json find() {
    ws();
    if (!eat('{')) return nullptr;
    for (;;) {
      ws();
      std::size_t key_begin = i_;
      if (!skip_string()) return nullptr;
      std::string_view key = t_.substr(key_begin, i_ - key_begin);
      ws();
      if (!eat(':')) return nullptr;
      ws();
      std::size_t value_begin = i_;
      if (!skip_value()) return nullptr;
      if (key == "\"id\"") return id_value(t_.substr(value_begin, i_ - value_begin));
      ws();
      if (!eat(',')) return nullptr;
    }
  }

 private:
  static json id_value(std::string_view token) {
    if (token.empty()) return nullptr;
    if (token.front() == '"') {
      // Parse just this token: escapes are resolved and checked for us.
      json value = json::parse(token, nullptr, /*allow_exceptions=*/false);
      return value.is_string() ? value : json(nullptr);
    }
    bool negative = token.front() == '-';
    std::string_view digits = negative ? token.substr(1) : token;
    if (digits.empty() || digits.size() > 18) return nullptr;
    std::int64_t n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return nullptr;
      n = n * 10 + (c - '0');
    }
    return negative ? -n : n;
  }

  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) return ++i_, true;
    return false;
  }
  bool skip_string() {
    if (!eat('"')) return false;
    while (i_ < t_.size()) {
      char c = t_[i_++];
      if (c == '\\') {
        ++i_;
      } else if (c == '"') {
        return i_ <= t_.size();
      }
    }
    return false;
  }
  // A scalar runs to the next delimiter; a container to its matching close.
  bool skip_value() {
    if (i_ >= t_.size()) return false;
    char c = t_[i_];
    if (c == '"') return skip_string();
    if (c != '{' && c != '[') {
      std::size_t begin = i_;
      while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
             t_[i_] != '\t' && t_[i_] != '\n' && t_[i_] != '\r')
        ++i_;
      return i_ > begin && i_ < t_.size();
    }
    std::size_t depth = 0;
    while (i_ < t_.size()) {
      char d = t_[i_];
      if (d == '"') {
        if (!skip_string()) return false;
        continue;
      }
      ++i_;
      if (d == '{' || d == '[') ++depth;
      if ((d == '}' || d == ']') && --depth == 0) return true;
    }
    return false;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

json peek_id(std::string_view text) {
  return IdPeeker(text).find();
}

Message parse_message(std::string_view line, int max_depth) {
  if (nesting_exceeds(line, max_depth)) {
    Message m =
        invalid(kInvalidRequest, "Invalid Request: JSON nested deeper than " +
                                     std::to_string(max_depth) + " levels (max_json_depth)");
    m.id = peek_id(line);
    return m;
  }
  Message m = classify(line);
  if (m.kind == Kind::Invalid && m.body.is_object()) {
    auto it = m.body.find("id");
    if (it != m.body.end() && valid_id(*it)) m.id = *it;
  }
  return m;
}

json make_result(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, int code, std::string_view message, json data) {
  json error{{"code", code}, {"message", message}};
  if (!data.is_null()) error["data"] = std::move(data);
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(error)}};
}

json make_request(const json& id, std::string_view method, json params) {
  json m{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

json make_notification(std::string_view method, json params) {
  json m{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = std::move(params);
  return m;
}

void append_json_string(std::string& out, std::string_view text) {
  bool plain = true;
  for (std::size_t i = 0; i < text.size() && plain;) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      std::size_t len = utf8_sequence_length(text, i);
      plain = len != 0;
      i += len;
    } else {
      plain = c >= 0x20 && c != '"' && c != '\\';
      ++i;
    }
  }
  if (!plain) {
    out += json(text).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

std::string to_line(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

}  // namespace mcpbraid::rpc

namespace mcpbraid {

LineSplitter::Piece LineSplitter::next(std::string& line) {
  for (;;) {
    std::size_t nl = buffer_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = buffer_.size();
      // A trailing '\r' may be the first half of a CRLF: it does not count.
      std::size_t partial = buffer_.size() - start_;
      if (partial > 0 && buffer_.back() == '\r') --partial;
      if (skipping_ || partial > max_line_) {
        // The line is too long to keep: remember its head, drop the rest
        // as it comes, and report it once its newline arrives.
        start_skipping(start_, buffer_.size());
      }
      if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = scanned_ = 0;
      }
      return Piece::none;
    }
    std::size_t begin = start_;
    start_ = scanned_ = nl + 1;
    std::size_t end = nl;
    if (end > begin && buffer_[end - 1] == '\r') --end;
    if (skipping_) {
      start_skipping(begin, end);
      compact();
      return finish_skipping(0, line);
    }
    if (blank(begin, end)) continue;
    if (end - begin > max_line_) {
      start_skipping(begin, end);
      compact();
      return finish_skipping(0, line);
    }
    if (begin == 0 && start_ == buffer_.size() && buffer_.size() > kSwapThreshold) {
      // A large line that fills the buffer: hand the buffer over, no copy.
      buffer_.resize(end);
      line.swap(buffer_);
      buffer_.clear();
      start_ = scanned_ = 0;
      return Piece::line;
    }
    // Room for the '\n' a forwarded line gets back (no reallocation then).
    line.clear();
    line.reserve(end - begin + 1);
    line.append(buffer_, begin, end - begin);
    compact();
    return Piece::line;
  }
}

// Moves buffer_[begin, end) out of the buffer into the skipped line: its
// first kOversizedHead bytes are kept, the rest only counted.
void LineSplitter::start_skipping(std::size_t begin, std::size_t end) {
  if (!skipping_) {
    skipping_ = true;
    skipped_head_.clear();
    skipped_size_ = 0;
  }
  std::size_t room = kOversizedHead - std::min(kOversizedHead, skipped_head_.size());
  skipped_head_.append(buffer_, begin, std::min(room, end - begin));
  skipped_size_ += end - begin;
  if (end == buffer_.size()) {
    // A trailing '\r' stays out of the count until we know it is not CRLF;
    // it is dropped with the rest (a lone '\r' inside a line is rare).
    buffer_.clear();
    start_ = scanned_ = 0;
  }
}

LineSplitter::Piece LineSplitter::finish_skipping(std::size_t tail, std::string& line) {
  skipping_ = false;
  ++oversized_;
  oversized_size_ = skipped_size_ + tail;
  line.swap(skipped_head_);
  skipped_head_.clear();
  skipped_size_ = 0;
  return Piece::oversized;
}

// Empty or only spaces and tabs. Cheap: a JSON line starts with '{'.
bool LineSplitter::blank(std::size_t begin, std::size_t end) const {
  for (std::size_t i = begin; i < end; ++i)
    if (buffer_[i] != ' ' && buffer_[i] != '\t') return false;
  return true;
}

void LineSplitter::compact() {
  // Reclaim consumed bytes once they dominate the buffer.
  if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
  }
}

LineSplitter::Piece LineSplitter::take_tail(std::string& line) {
  std::size_t end = buffer_.size();
  if (end > start_ && buffer_[end - 1] == '\r') --end;
  if (skipping_) {
    start_skipping(start_, end);
    buffer_.clear();
    start_ = scanned_ = 0;
    return finish_skipping(0, line);
  }
  if (start_ >= end) return Piece::none;
  if (end - start_ > max_line_) {
    start_skipping(start_, end);
    buffer_.clear();
    start_ = scanned_ = 0;
    return finish_skipping(0, line);
  }
  if (blank(start_, end)) {
    buffer_.clear();
    start_ = scanned_ = 0;
    return Piece::none;
  }
  line.assign(buffer_, start_, end - start_);
  buffer_.clear();
  start_ = scanned_ = 0;
  return Piece::line;
}

}  // namespace mcpbraid
