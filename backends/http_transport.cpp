#include "backends/http_transport.hpp"

#include <algorithm>
#include <asio/post.hpp>
#include <cctype>

#include "backends/child_process.hpp"
#include "core/envelope.hpp"
#include "core/jsonrpc.hpp"
#include "core/trace.hpp"
#include "core/url.hpp"

namespace mcpbraid {

namespace {

// A connection that never got anywhere: the server is unreachable, not
// misbehaving on one request.
bool unreachable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return true;
    default:
      return false;
  }
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// What an error body says, for a message: its first 200 bytes, one line.
std::string body_head(std::string_view body) {
  std::string out(trim(body).substr(0, 200));
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return out;
}

// The members of one line we need: is it a request, its id token, its method.
struct Shape {
  std::string id;      // the id token, "" when none
  std::string method;  // the method's JSON string, quotes included
  bool response = false;
};

Shape shape_of(std::string_view line, int depth) {
  Shape s;
  auto env = rpc::scan_envelope(line, depth);
  if (!env) return s;
  if (env->id.present()) s.id = std::string(env->id.of(line));
  if (env->method.present()) s.method = std::string(env->method.of(line));
  s.response = !env->method.present() && (env->result.present() || env->error.present());
  return s;
}

// `resource_metadata="..."` of a WWW-Authenticate header (RFC 9728).
std::string resource_metadata(const std::string& header) {
  auto at = header.find("resource_metadata=");
  if (at == std::string::npos) return {};
  at += 18;
  if (at < header.size() && header[at] == '"') {
    auto end = header.find('"', at + 1);
    return end == std::string::npos ? std::string() : header.substr(at + 1, end - at - 1);
  }
  auto end = header.find_first_of(", ", at);
  return header.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// `relative` resolved against `base` by libcurl's URL API.
std::optional<std::string> resolve(const std::string& base, const std::string& relative) {
  CURLU* u = curl_url();
  std::optional<std::string> out;
  if (curl_url_set(u, CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, relative.c_str(), 0) == CURLUE_OK) {
    char* text = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &text, 0) == CURLUE_OK) out = text;
    curl_free(text);
  }
  curl_url_cleanup(u);
  return out;
}

bool same_origin(const std::string& a, const std::string& b) {
  auto pa = url::parse(a);
  auto pb = url::parse(b);
  return pa && pb && url::same_origin(*pa, *pb);
}

}  // namespace

TransportFactory default_transport_factory(asio::io_context& io) {
  auto child = child_process_factory(io);
  return [&io, child](const ServerConfig& config,
                      TransportEvents events) -> std::unique_ptr<Transport> {
    if (is_remote(config.type))
      return std::make_unique<HttpTransport>(io, config, std::move(events));
    return child(config, std::move(events));
  };
}

HttpTransport::HttpTransport(asio::io_context& io, const ServerConfig& config,
                             TransportEvents events)
    : io_(io),
      config_(config),
      events_(std::move(events)),
      listen_timer_(io),
      reconnect_timer_(io) {
  url_ = config_.url;
  mode_ = config_.type == TransportType::sse ? Mode::sse : Mode::streamable;
  may_fall_back_ = config_.type == TransportType::http_or_sse;
  if (auto parts = url::parse(url_)) origin_ = url::origin(*parts);
  shown_url_ = url::redacted(url_);
}

HttpTransport::~HttpTransport() {
  *alive_ = false;
  reconnect_timer_.cancel();
  listen_timer_.cancel();
  http_.reset();
}

bool HttpTransport::start(std::string* error) {
  if (!url::parse(url_)) {
    if (error) *error = "bad url " + shown_url_;
    return false;
  }
  http_ = std::make_unique<CurlMulti>(io_, std::max(1, config_.max_connections - 2));
  short_ = std::make_unique<CurlMulti>(io_, 1);
  listen_ = std::make_unique<CurlMulti>(io_, 1);
  started_ = true;
  started_at_ = Clock::now();
  trace::info("http.connect")
      .kv("server", config_.name)
      .kv("url", shown_url_)
      .kv("transport", mode_ == Mode::sse ? "sse" : "http");
  if (mode_ == Mode::sse) open_sse_stream();
  return true;
}

std::string HttpTransport::session_state() const {
  if (gone_) return "closed";
  if (mode_ == Mode::sse) return endpoint_.empty() ? "connecting" : "active";
  if (renewing_) return "renewing";
  return session_id_.empty() ? "none" : "active";
}

std::optional<std::string> HttpTransport::exit_description() const {
  if (!gone_) return std::nullopt;
  return end_reason_.empty() ? std::optional<std::string>() : end_reason_;
}

void HttpTransport::pause() {
  if (http_) http_->pause();
  if (short_) short_->pause();
  if (listen_) listen_->pause();
}

void HttpTransport::resume() {
  if (http_) http_->resume();
  if (short_) short_->resume();
  if (listen_) listen_->resume();
}

std::vector<std::string> HttpTransport::base_headers(bool with_session) const {
  std::vector<std::string> headers;
  headers.reserve(config_.headers.size() + 4);
  for (const auto& [name, value] : config_.headers) headers.push_back(name + ": " + value);
  if (with_session && !session_id_.empty()) headers.push_back("Mcp-Session-Id: " + session_id_);
  if (with_session && !protocol_version_.empty())
    headers.push_back("MCP-Protocol-Version: " + protocol_version_);
  return headers;
}

CurlMulti::Request HttpTransport::make_post(const std::string& line, const std::string& url,
                                            bool request, bool with_session) const {
  CurlMulti::Request r;
  r.method = "POST";
  r.url = url;
  r.headers = base_headers(with_session);
  r.headers.emplace_back("Content-Type: application/json");
  r.headers.emplace_back("Accept: application/json, text/event-stream");
  r.body = line;
  // A request's own deadline is the Backend's (it cancels, and we drop the
  // POST then); this only ends a transfer nobody waits for any more.
  r.timeout = request ? config_.failsafe.max_timeout + Milliseconds(10000) : kMessageTimeout;
  return r;
}

void HttpTransport::send(std::string line) {
  if (!running() || stopping_) return;
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (renewing_ || listen_pending_ || (mode_ == Mode::sse && endpoint_.empty())) {
    queue_.push_back(std::move(line));
    return;
  }
  post(std::move(line));
}

void HttpTransport::begin_listening() {
  if (mode_ != Mode::streamable || !get_offered_ || get_ || gone_ || stopping_) return;
  listen_pending_ = true;
  open_get_stream();
  listen_timer_.expires_after(kListenWait);
  listen_timer_.async_wait([this, alive = alive_](asio::error_code ec) {
    if (!ec && *alive) listening();
  });
}

void HttpTransport::listening() {
  if (!listen_pending_) return;
  listen_pending_ = false;
  listen_timer_.cancel();
  if (!gone_ && !stopping_) flush_queue();
}

void HttpTransport::flush_queue() {
  auto queued = std::move(queue_);
  queue_.clear();
  for (auto& line : queued) {
    if (!running() || renewing_ || listen_pending_) {
      queue_.push_back(std::move(line));
      continue;
    }
    post(std::move(line));
  }
}

void HttpTransport::post(std::string line, int redirects, std::string url) {
  Shape shape = shape_of(line, config_.max_json_depth);
  bool request = !shape.method.empty() && !shape.id.empty();
  std::uint64_t key = next_post_++;
  Post& p = posts_[key];
  p.line = std::move(line);
  p.redirects = redirects;
  p.url = url.empty() ? (mode_ == Mode::sse ? endpoint_ : url_) : std::move(url);
  if (request) {
    p.id = shape.id;
    post_of_request_[p.id] = key;
  }
  p.initialize = request && shape.method == "\"initialize\"";
  p.initialized = shape.method == "\"notifications/initialized\"";
  if (p.initialize && !renewing_) {
    initialize_line_ = p.line;
    initialize_id_ = p.id;
  }
  p.renewal = p.initialize && renewing_;
  p.short_lane = !request;
  if (!resent_line_.empty() && p.line == resent_line_) {
    p.after_renewal = true;
    resent_line_.clear();
  }
  // A fresh initialize starts a session: it carries none.
  bool with_session = !p.initialize && mode_ == Mode::streamable;
  p.carried_session = with_session && !session_id_.empty();
  if (shape.method == "\"notifications/cancelled\"" && mode_ == Mode::streamable) {
    // The request is withdrawn: its answer stream need not stay open.
    auto params = rpc::scan_envelope(p.line, config_.max_json_depth);
    if (params && params->params.present()) {
      std::string_view text = params->params.of(p.line);
      auto doc = json::parse(text.begin(), text.end(), nullptr, false);
      if (doc.is_object() && doc.contains("requestId")) {
        auto found = post_of_request_.find(doc["requestId"].dump());
        if (found != post_of_request_.end() && found->second != key) {
          auto it = posts_.find(found->second);
          if (it != posts_.end()) {
            lane(it->second).cancel(it->second.transfer);
            posts_.erase(it);
          }
          post_of_request_.erase(found);
        }
      }
    }
  }
  CurlMulti::Handlers h;
  h.on_response = [this, key](const CurlMulti::Response& r) { on_post_response(key, r); };
  h.on_body = [this, key](std::string_view bytes) { on_post_body(key, bytes); };
  h.on_done = [this, key](CURLcode code, const std::string& e) { on_post_done(key, code, e); };
  p.transfer = lane(p).start(make_post(p.line, p.url, request, with_session), std::move(h));
}

// The SSE parser of the answer stream of the Post `key`: message events
// delivered once each, the last event id kept for a resume.
std::shared_ptr<sse::Parser> HttpTransport::answer_events(std::uint64_t key) {
  return std::make_shared<sse::Parser>(
      [this, key, alive = alive_](sse::Event& event) {
        if (!*alive) return;
        auto at = posts_.find(key);
        if (at == posts_.end()) return;
        if (!event.id.empty()) at->second.last_event_id = event.id;
        if (event.type == "message" && first_sight(event.id))
          deliver(std::move(event.data), &at->second);
      },
      config_.max_line);
}

// A finished Post, out of the tables (its request no longer maps to it).
std::optional<HttpTransport::Post> HttpTransport::take_post(std::uint64_t key) {
  auto it = posts_.find(key);
  if (it == posts_.end()) return std::nullopt;
  Post p = std::move(it->second);
  posts_.erase(it);
  if (!p.id.empty()) {
    auto at = post_of_request_.find(p.id);
    if (at != post_of_request_.end() && at->second == key) post_of_request_.erase(at);
  }
  return p;
}

void HttpTransport::on_post_response(std::uint64_t key, const CurlMulti::Response& r) {
  auto it = posts_.find(key);
  if (it == posts_.end()) return;
  Post& p = it->second;
  p.status = r.status;
  p.content_type = r.content_type;
  bool ok = r.status >= 200 && r.status < 300;
  if (p.initialize && ok && mode_ == Mode::streamable) session_id_ = r.header("mcp-session-id");
  // 401: the credentials are refused, now and on every restart. A 403 to
  // one call later on (insufficient scope) refuses that call only.
  if (r.status == 401 || (r.status == 403 && p.initialize)) return unauthorized(r);
  if (r.status >= 300 && r.status < 400) {
    p.body = r.header("location");  // resolved when the body is done
    p.content_type = "redirect";
    return;
  }
  if (ok && r.content_type == "text/event-stream") {
    p.events = answer_events(key);
  }
}

void HttpTransport::on_post_body(std::uint64_t key, std::string_view bytes) {
  auto it = posts_.find(key);
  if (it == posts_.end()) return;
  Post& p = it->second;
  if (p.events) {
    auto parser = p.events;  // a handler may drop the Post meanwhile
    return parser->feed(bytes);
  }
  if (p.content_type == "redirect") return;
  p.body_size += bytes.size();
  // Beyond max_line only the head is kept: enough to name the request.
  if (p.body.size() < config_.max_line + 1)
    p.body.append(bytes.substr(0, config_.max_line + 1 - p.body.size()));
}

void HttpTransport::on_post_done(std::uint64_t key, CURLcode code, const std::string& error) {
  std::optional<Post> taken = take_post(key);
  if (!taken) return;
  Post& p = *taken;
  if (gone_) return;
  if (code != CURLE_OK) {
    if (p.events) p.events->end();
    if (stopping_) return;
    if (p.status == 0 && unreachable(code)) return close("cannot reach " + origin_ + ": " + error);
    session_suspect_ = true;
    trace::warn("http.lost")
        .kv("server", config_.name)
        .kv("url", shown_url_)
        .kv("error", error)
        .kv("answered", p.answered);
    if (p.renewal) return close("the session expired and re-initializing failed: " + error);
    if (p.status == 0 && p.initialize && !p.renewal) {
      // Nothing came back at all to the first message: like a child that
      // would not start.
      return close("cannot reach " + origin_ + ": " + error);
    }
    if (!p.id.empty() && !p.answered) {
      if (may_resume(p)) return resume_later(std::move(p));
      fail_request(p, "connection lost before the answer (" + error + ")", true);
    }
    return;
  }
  on_post_answer(p);
}

void HttpTransport::on_post_answer(Post& p) {
  long status = p.status;
  if (status >= 200 && status < 300) {
    // SSE: answers come on the stream. 202: on the GET stream, later.
    bool answer_here = mode_ == Mode::streamable && status != 202 && status != 204;
    std::string too_big = "an answer of " + std::to_string(p.body_size) +
                          " bytes exceeds max_line (" + std::to_string(config_.max_line) +
                          " bytes)";
    if (answer_here && p.events) {
      p.events->end();
      if (!p.answered && !p.id.empty()) {
        if (p.events->oversized() > 0)
          fail_request(
              p,
              "an answer event exceeds max_line (" + std::to_string(config_.max_line) + " bytes)",
              true);
        else if (may_resume(p))
          return resume_later(std::move(p));
        else
          fail_request(p, "the server ended its answer stream without an answer", true);
      }
    } else if (answer_here && p.body_size > config_.max_line) {
      std::string head(trim(p.body).substr(0, 4096));
      events_.on_oversized(head, p.body_size);  // logs it, fails the request if it finds the id
      if (!p.id.empty()) fail_request(p, too_big, true);
    } else if (answer_here && p.body_size > 0) {
      std::string_view body = trim(p.body);
      if (!body.empty()) deliver(std::string(body), &p);
      if (!p.answered && !p.id.empty())
        fail_request(p, "the server's answer was not a JSON-RPC response to it: " + body_head(body),
                     true);
    } else if (answer_here && !p.id.empty()) {
      fail_request(p, "HTTP " + std::to_string(status) + " with an empty body", true);
    } else if (mode_ == Mode::streamable && !p.id.empty() && !get_offered_) {
      fail_request(
          p,
          "HTTP " + std::to_string(status) + " to a request, and no GET stream to carry its answer",
          true);
    }
    if (p.initialized && mode_ == Mode::streamable && !stopping_) open_get_stream();
    if (p.answered) session_suspect_ = false;
    return;
  }
  if (stopping_) return;
  if (p.content_type == "redirect") {
    std::optional<std::string> target = resolve(p.url, p.body);
    if (!target || !same_origin(*target, url_)) {
      trace::warn("http.redirect_refused").kv("server", config_.name).kv("url", shown_url_);
      if (!p.id.empty()) fail_request(p, "redirect to another origin refused", false);
      return;
    }
    if (p.redirects >= kMaxRedirects) {
      if (!p.id.empty()) fail_request(p, "too many redirects", true);
      return;
    }
    if (status == 301 || status == 308) url_ = *target;
    return post(std::move(p.line), p.redirects + 1, *target);
  }
  std::string_view body = trim(p.body);
  Shape answer = shape_of(body, config_.max_json_depth);
  bool answers_it = answer.response && !p.id.empty() && answer.id == p.id;
  if (mode_ == Mode::streamable && p.carried_session && !answers_it && !p.after_renewal &&
      (status == 404 ||
       (status == 400 && (session_suspect_ || body.find("ession") != std::string_view::npos)))) {
    // The session is gone (expired, or the server restarted): a new one,
    // and this message again on it. It never reached the old one.
    return renew_session(std::move(p.line));
  }
  if (p.renewal) {
    return close("the session expired and the server refused a new one: HTTP " +
                 std::to_string(status) + " " + body_head(body));
  }
  // The spec's backwards compatibility: a server without Streamable HTTP
  // refuses the POST (405, 404, or 400 from some).
  if (p.initialize && may_fall_back_ && (status == 400 || status == 404 || status == 405)) {
    return switch_to_sse(std::move(p.line));
  }
  if (answers_it) return deliver(std::string(body), &p);
  std::string reason = "HTTP " + std::to_string(status) + " from " + origin_;
  if (!body.empty()) reason += ": " + body_head(body);
  bool server_fault = status >= 500 || status < 400;
  if (!p.id.empty()) return fail_request(p, reason, server_fault);
  trace::warn("http.refused").kv("server", config_.name).kv("reason", reason);
}

void HttpTransport::fail_request(const Post& p, const std::string& reason, bool server_fault) {
  if (p.renewal) return close("the session expired and re-initializing failed: " + reason);
  if (events_.on_request_failed) events_.on_request_failed(p.id, reason, server_fault);
}

bool HttpTransport::may_resume(const Post& p) const {
  return mode_ == Mode::streamable && !p.last_event_id.empty() && !stopping_ && !gone_ &&
         p.resumes < kMaxResumes && (!p.events || p.events->oversized() == 0);
}

void HttpTransport::resume_later(Post p) {
  std::optional<std::int64_t> retry = p.events ? p.events->retry_ms() : std::nullopt;
  if (!retry) retry = retry_ms_;
  Milliseconds delay(std::clamp<std::int64_t>(retry.value_or(0), 0, 5000));
  auto timer = std::make_shared<asio::steady_timer>(io_, delay);
  resume_timers_.push_back(timer);
  std::erase_if(resume_timers_, [](const auto& t) { return t.expired(); });
  auto held = std::make_shared<Post>(std::move(p));
  timer->async_wait([this, timer, held, alive = alive_](asio::error_code ec) {
    if (ec || !*alive || gone_ || stopping_) return;
    resume_stream(std::move(*held));
  });
}

// The answer stream of a POST ended before the answer, but its events had
// ids: the server means to go on on a GET with Last-Event-ID (2025-11-25).
void HttpTransport::resume_stream(Post p) {
  std::uint64_t key = next_post_++;
  Post& r = posts_[key];
  std::string last_event_id = p.last_event_id;
  r = std::move(p);
  r.resumes += 1;
  r.events.reset();
  r.status = 0;
  r.url = url_;
  post_of_request_[r.id] = key;
  CurlMulti::Request get;
  get.method = "GET";
  get.url = url_;
  get.headers = base_headers(true);
  get.headers.emplace_back("Accept: text/event-stream");
  get.headers.emplace_back("Last-Event-ID: " + last_event_id);
  CurlMulti::Handlers h;
  h.on_response = [this, key](const CurlMulti::Response& resp) {
    auto it = posts_.find(key);
    if (it == posts_.end()) return;
    it->second.status = resp.status;
    if (resp.status >= 200 && resp.status < 300 && resp.content_type == "text/event-stream") {
      it->second.events = answer_events(key);
    }
  };
  h.on_body = [this, key](std::string_view bytes) {
    auto it = posts_.find(key);
    if (it == posts_.end() || !it->second.events) return;
    auto parser = it->second.events;
    parser->feed(bytes);
  };
  h.on_done = [this, key, last_event_id](CURLcode code, const std::string& error) {
    std::optional<Post> taken = take_post(key);
    if (!taken) return;
    Post& done = *taken;
    if (done.events) done.events->end();
    if (gone_ || stopping_ || done.answered) return;
    bool ok = done.status >= 200 && done.status < 300;
    // Again only if this stream got further.
    if (ok && done.last_event_id != last_event_id && may_resume(done))
      return resume_later(std::move(done));
    fail_request(
        done,
        "the answer stream could not be resumed" +
            (code != CURLE_OK ? " (" + error + ")" : " (HTTP " + std::to_string(done.status) + ")"),
        true);
  };
  r.transfer = http_->start(std::move(get), std::move(h));
}

void HttpTransport::deliver(std::string line, Post* from) {
  if (gone_) return;
  // A priming event (an id and no data, 2025-11-25) carries no message; a
  // replay may send it again as "{}".
  std::string_view text = trim(line);
  if (text.empty() || text == "{}") return;
  Shape shape = shape_of(line, config_.max_json_depth);
  if (shape.response && !shape.id.empty()) {
    if (from && from->id == shape.id) {
      from->answered = true;
    } else if (auto it = post_of_request_.find(shape.id); it != post_of_request_.end()) {
      auto p = posts_.find(it->second);
      if (p != posts_.end()) p->second.answered = true;
    }
    if (!initialize_id_.empty() && shape.id == initialize_id_ &&
        ((from && from->initialize) || renewing_ ||
         (mode_ == Mode::sse && protocol_version_.empty()))) {
      bool renewal = renewing_;
      on_initialize_answer(line, renewal);
      if (renewal) return;  // ours: the Backend's initialize was answered long ago
    }
  }
  if (line.size() > config_.max_line) {
    std::string head = line.substr(0, 4096);
    return events_.on_oversized(head, line.size());
  }
  events_.on_line(line);
}

// A resumed stream replays what came after its Last-Event-ID, on every
// stream of the session: an event seen once is not delivered again.
bool HttpTransport::first_sight(const std::string& event_id) {
  if (event_id.empty()) return true;
  if (seen_events_.size() >= kMaxSeenEvents) seen_events_.clear();
  return seen_events_.insert(event_id).second;
}

void HttpTransport::on_initialize_answer(std::string_view line, bool renewal) {
  auto doc = json::parse(line.begin(), line.end(), nullptr, false);
  const json* result = nullptr;
  if (doc.is_object())
    if (auto it = doc.find("result"); it != doc.end() && it->is_object()) result = &*it;
  if (result) {
    auto v = result->find("protocolVersion");
    if (v != result->end() && v->is_string()) protocol_version_ = v->get<std::string>();
    may_fall_back_ = false;
    begin_listening();
  }
  if (!renewal) return;
  if (!result) {
    std::string what = doc.is_object() && doc.contains("error") && doc["error"].is_object()
                           ? doc["error"].value("message", std::string("an error"))
                           : std::string("a bad answer");
    return close("the session expired and re-initializing was refused: " + what);
  }
  renewing_ = false;
  trace::info("http.session_renewed").kv("server", config_.name).kv("url", shown_url_);
  queue_.push_front(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  flush_queue();  // held while the new GET stream opens
  if (events_.on_session_renewed) events_.on_session_renewed();
}

void HttpTransport::renew_session(std::string line) {
  if (!line.empty()) {
    if (!renewing_) resent_line_ = line;
    queue_.push_front(std::move(line));
  }
  if (renewing_) return;
  session_suspect_ = false;
  TimePoint now = Clock::now();
  std::erase_if(renewals_, [now](TimePoint t) { return now - t > kRenewWindow; });
  if (static_cast<int>(renewals_.size()) >= kMaxRenewals)
    return close("the session keeps expiring (" + std::to_string(renewals_.size()) +
                 " new sessions within " + std::to_string(kRenewWindow.count() / 1000) + " s)");
  if (initialize_line_.empty()) return close("the session was lost before it was initialized");
  renewals_.push_back(now);
  trace::warn("http.session_expired").kv("server", config_.name).kv("url", shown_url_);
  // Requests the old session accepted (2xx, answer stream open) are owed an
  // answer that will not come on the new one; they may have run, so they
  // are not sent again: they fail now, not at their deadline.
  std::vector<std::uint64_t> owed;
  for (const auto& [key, p] : posts_)
    if (!p.id.empty() && !p.initialize && p.carried_session && !p.answered && p.status >= 200 &&
        p.status < 300)
      owed.push_back(key);
  for (std::uint64_t key : owed) {
    auto p = take_post(key);
    if (!p) continue;
    lane(*p).cancel(p->transfer);
    fail_request(*p,
                 "the server's session expired before it answered (a new session was started; "
                 "the request was not sent again, as it may have run)",
                 true);
  }
  renewing_ = true;
  session_id_.clear();
  seen_events_.clear();
  last_event_id_.clear();
  if (get_) {
    listen_->cancel(get_);
    get_ = 0;
  }
  reconnect_timer_.cancel();
  listen_timer_.cancel();
  listen_pending_ = false;
  get_failures_ = 0;
  post(initialize_line_);
}

void HttpTransport::switch_to_sse(std::string line) {
  trace::info("http.sse_fallback").kv("server", config_.name).kv("url", shown_url_);
  mode_ = Mode::sse;
  may_fall_back_ = false;
  session_id_.clear();
  queue_.push_front(std::move(line));
  open_sse_stream();
}

void HttpTransport::open_get_stream() {
  if (get_ || !get_offered_ || gone_ || stopping_) return;
  CurlMulti::Request get;
  get.method = "GET";
  get.url = url_;
  get.headers = base_headers(true);
  get.headers.emplace_back("Accept: text/event-stream");
  if (!last_event_id_.empty()) get.headers.emplace_back("Last-Event-ID: " + last_event_id_);
  bool carried_session = !session_id_.empty();
  get_status_ = 0;
  CurlMulti::Handlers h;
  h.on_response = [this](const CurlMulti::Response& r) {
    get_status_ = r.status;
    if (r.status == 401 || r.status == 403) return unauthorized(r);
    if (r.status == 405) get_offered_ = false;
    listening();  // open, or refused: either way nothing more to wait for
    if (gone_) return;
    if (r.status >= 200 && r.status < 300 && r.content_type == "text/event-stream") {
      get_events_ = std::make_shared<sse::Parser>(
          [this, alive = alive_](sse::Event& event) {
            if (!*alive) return;
            if (!event.id.empty()) last_event_id_ = event.id;
            if (event.type == "message" && first_sight(event.id))
              deliver(std::move(event.data), nullptr);
          },
          config_.max_line);
    }
  };
  h.on_body = [this](std::string_view bytes) {
    if (auto parser = get_events_) parser->feed(bytes);
  };
  h.on_done = [this, carried_session](CURLcode code, const std::string& error) {
    get_ = 0;
    listening();
    if (get_events_) {
      get_events_->end();
      if (get_events_->retry_ms()) retry_ms_ = get_events_->retry_ms();
      get_events_.reset();
    }
    if (gone_ || stopping_) return;
    if (code != CURLE_OK && get_status_ == 0 && unreachable(code))
      return close("cannot reach " + origin_ + ": " + error);
    if (get_status_ == 405) {
      get_offered_ = false;  // the server sends nothing on its own: fine
      return;
    }
    if (carried_session && (get_status_ == 404 || get_status_ == 400)) return renew_session({});
    if (code != CURLE_OK) {
      session_suspect_ = true;
      trace::info("http.stream_lost").kv("server", config_.name).kv("error", error);
    }
    schedule_get_reconnect();
  };
  get_ = listen_->start(std::move(get), std::move(h));
}

void HttpTransport::schedule_get_reconnect() {
  Milliseconds delay = retry_ms_ ? Milliseconds(*retry_ms_) : kDefaultRetry;
  for (int i = 0; i < get_failures_ && delay < kMaxGetBackoff; ++i) delay *= 2;
  delay = std::min(delay, kMaxGetBackoff);
  reconnect_timer_.expires_after(delay);
  reconnect_timer_.async_wait([this, alive = alive_](asio::error_code ec) {
    if (!ec && *alive && !gone_ && !stopping_ && !renewing_) open_get_stream();
  });
}

void HttpTransport::open_sse_stream() {
  CurlMulti::Request get;
  get.method = "GET";
  get.url = url_;
  get.headers = base_headers(false);
  get.headers.emplace_back("Accept: text/event-stream");
  get_status_ = 0;
  CurlMulti::Handlers h;
  h.on_response = [this](const CurlMulti::Response& r) {
    get_status_ = r.status;
    if (r.status == 401 || r.status == 403) return unauthorized(r);
    if (r.status >= 200 && r.status < 300)
      get_events_ = std::make_shared<sse::Parser>(
          [this, alive = alive_](sse::Event& event) {
            if (*alive) on_sse_event(event);
          },
          config_.max_line);
  };
  h.on_body = [this](std::string_view bytes) {
    if (auto parser = get_events_) parser->feed(bytes);
  };
  h.on_done = [this](CURLcode code, const std::string& error) {
    get_ = 0;
    get_events_.reset();
    if (gone_ || stopping_) return;
    if (code != CURLE_OK && get_status_ == 0)
      return close("cannot reach " + origin_ + ": " + error);
    if (get_status_ < 200 || get_status_ >= 300)
      return close("HTTP " + std::to_string(get_status_) + " to the SSE stream's GET");
    close(code == CURLE_OK ? "the SSE stream ended" : "the SSE stream was lost: " + error);
  };
  get_ = listen_->start(std::move(get), std::move(h));
}

void HttpTransport::on_sse_event(sse::Event& event) {
  if (event.type == "endpoint") {
    std::optional<std::string> target = resolve(url_, std::string(trim(event.data)));
    if (!target || !same_origin(*target, url_))
      return close("the SSE endpoint event names another origin or a bad URL");
    bool first = endpoint_.empty();
    endpoint_ = *target;
    if (first) flush_queue();
    return;
  }
  if (event.type == "message") deliver(std::move(event.data), nullptr);
}

void HttpTransport::unauthorized(const CurlMulti::Response& r) {
  std::string reason =
      "unauthorized (HTTP " + std::to_string(r.status) + "): set headers.Authorization";
  std::string metadata = resource_metadata(r.header("www-authenticate"));
  if (!metadata.empty()) reason += " (resource metadata: " + url::redacted(metadata) + ")";
  close(reason, /*permanent=*/true);
}

void HttpTransport::close(const std::string& reason, bool permanent) {
  if (gone_) return;
  if (stopping_) return finish();
  permanent_ = permanent;
  end_reason_ = reason;
  gone_ = true;
  reconnect_timer_.cancel();
  listen_timer_.cancel();
  listen_pending_ = false;
  // Cancelled from a handler of one of them: CurlMulti allows it.
  http_->cancel_all();
  short_->cancel_all();
  listen_->cancel_all();
  for (auto& t : resume_timers_)
    if (auto timer = t.lock()) timer->cancel();
  posts_.clear();
  post_of_request_.clear();
  queue_.clear();
  get_ = 0;
  trace::warn("http.closed").kv("server", config_.name).kv("url", shown_url_).kv("reason", reason);
  if (events_.on_closed) events_.on_closed(reason);
  auto waiting = std::move(on_gone_);
  on_gone_.clear();
  for (auto& fn : waiting)
    if (fn) fn();
}

void HttpTransport::stop(std::function<void()> on_stopped) {
  if (!running()) {
    if (on_stopped) on_stopped();
    return;
  }
  on_gone_.push_back(std::move(on_stopped));
  if (stopping_) return;
  stopping_ = true;
  reconnect_timer_.cancel();
  listen_timer_.cancel();
  listen_pending_ = false;
  if (get_) {
    listen_->cancel(get_);
    get_ = 0;
  }
  if (mode_ != Mode::streamable || session_id_.empty()) return finish();
  // The server may free the session now rather than at its own timeout.
  CurlMulti::Request del;
  del.method = "DELETE";
  del.url = url_;
  del.headers = base_headers(true);
  del.timeout = kDeleteTimeout;
  del.connect_timeout = kDeleteTimeout;
  CurlMulti::Handlers h;
  h.on_done = [this](CURLcode, const std::string&) { finish(); };
  short_->start(std::move(del), std::move(h));
}

void HttpTransport::finish() {
  if (gone_) return;
  gone_ = true;
  if (end_reason_.empty()) end_reason_ = "disconnected";
  reconnect_timer_.cancel();
  listen_timer_.cancel();
  for (auto& t : resume_timers_)
    if (auto timer = t.lock()) timer->cancel();
  auto alive = alive_;
  // Not from inside CurlMulti's loop over its transfers' handlers: posted.
  asio::post(io_, [this, alive] {
    if (!*alive) return;
    http_->cancel_all();
    short_->cancel_all();
    listen_->cancel_all();
    posts_.clear();
    post_of_request_.clear();
    auto waiting = std::move(on_gone_);
    on_gone_.clear();
    for (auto& fn : waiting)
      if (fn) fn();
  });
}

}  // namespace mcpbraid
