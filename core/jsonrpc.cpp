#include "core/jsonrpc.hpp"

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

bool valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

}  // namespace

Message parse_message(std::string_view line) {
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
      return invalid(kInvalidRequest, "Invalid Request: params must be an object",
                     std::move(body));
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

std::string to_line(const json& message) {
  std::string line = message.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

}  // namespace mcpbraid::rpc

namespace mcpbraid {

bool LineSplitter::next(std::string& line) {
  for (;;) {
    std::size_t nl = buffer_.find('\n', scanned_);
    if (nl == std::string::npos) {
      scanned_ = buffer_.size();
      // A trailing '\r' may be the first half of a CRLF: it does not count.
      std::size_t partial = buffer_.size() - start_;
      if (partial > 0 && buffer_.back() == '\r') --partial;
      if (partial > max_line_) {
        // Drop the runaway line; keep skipping until its newline arrives.
        if (!skipping_) ++oversized_;
        buffer_.clear();
        start_ = scanned_ = 0;
        skipping_ = true;
      }
      if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = scanned_ = 0;
      }
      return false;
    }
    std::size_t begin = start_;
    start_ = scanned_ = nl + 1;
    if (skipping_) {
      skipping_ = false;
      continue;
    }
    std::size_t end = nl;
    if (end > begin && buffer_[end - 1] == '\r') --end;
    if (blank(begin, end)) continue;
    if (end - begin > max_line_) {
      ++oversized_;
      continue;
    }
    if (begin == 0 && start_ == buffer_.size() && buffer_.size() > kSwapThreshold) {
      // A large line that fills the buffer: hand the buffer over, no copy.
      buffer_.resize(end);
      line.swap(buffer_);
      buffer_.clear();
      start_ = scanned_ = 0;
      return true;
    }
    line.assign(buffer_, begin, end - begin);
    compact();
    return true;
  }
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

bool LineSplitter::take_tail(std::string& line) {
  if (skipping_ || start_ >= buffer_.size()) return false;
  std::size_t end = buffer_.size();
  if (buffer_[end - 1] == '\r') --end;
  if (end == start_) return false;
  line.assign(buffer_, start_, end - start_);
  buffer_.clear();
  start_ = scanned_ = 0;
  return true;
}

}  // namespace mcpbraid
