#pragma once
// A remote MCP server over HTTP: Streamable HTTP (spec 2025-11-25
// basic/transports) or the 2024-11-05 HTTP+SSE transport, by libcurl
// (backends/curl_multi.hpp). To the Backend it is a Transport like a child:
// lines out, lines in, an end.
//
// Streamable HTTP: every line is POSTed; the answer is a JSON body or an SSE
// stream (server requests and notifications may come before the answer).
// The session id of the initialize answer goes on every later request, the
// protocol version too. A GET stream carries what the server sends on its
// own, reconnected with Last-Event-ID after the server's `retry`. A 404 to
// a request that carried the session id means the session expired: the
// saved initialize (the client's capabilities) is sent again, then the
// request; answers still owed on the old session fail when their streams
// end. At stop the session is DELETEd (bounded by kDeleteTimeout).
//
// SSE: a GET stream whose `endpoint` event names where to POST; answers
// come on the stream. The stream's end is the server's end.
//
// `url` without `type`: Streamable HTTP, and SSE at the same URL when the
// initialize POST is refused with a 4xx (the spec's backwards
// compatibility).
//
// Header values and URL secrets never reach a log line or an error.
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backends/curl_multi.hpp"
#include "backends/transport.hpp"
#include "core/sse.hpp"

namespace mcpbraid {

class HttpTransport final : public Transport {
 public:
  static constexpr Milliseconds kDeleteTimeout{1000};
  // The GET stream's reconnection delay when the server sent no `retry`.
  static constexpr Milliseconds kDefaultRetry{1000};
  // A notification or a response POSTed: answered at once (202).
  static constexpr Milliseconds kMessageTimeout{30000};
  // More renewals than this within kRenewWindow: the server is broken.
  static constexpr int kMaxRenewals = 3;
  static constexpr Milliseconds kRenewWindow{30000};
  static constexpr int kMaxRedirects = 5;
  static constexpr std::size_t kMaxSeenEvents = 65536;
  static constexpr int kMaxResumes = 10;
  static constexpr Milliseconds kListenWait{2000};
  // A GET stream refused (not 404/405): retried, backing off up to this.
  static constexpr Milliseconds kMaxGetBackoff{30000};

  HttpTransport(asio::io_context& io, const ServerConfig& config, TransportEvents events);
  ~HttpTransport() override;
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  bool start(std::string* error) override;
  void send(std::string line) override;
  bool running() const override { return started_ && !gone_; }
  void pause() override;
  void resume() override;
  void stop(std::function<void()> on_stopped) override;
  TimePoint started_at() const override { return started_at_; }
  std::optional<std::string> exit_description() const override;
  bool permanent_failure() const override { return permanent_; }
  std::string origin() const override { return origin_; }
  std::string session_state() const override;

 private:
  enum class Mode { streamable, sse };
  // One POST in flight.
  struct Post {
    CurlMulti::Id transfer = 0;
    std::string line;  // as sent, for a re-send on a new session
    std::string id;    // a request's id token; empty for the rest
    std::string url;   // where it went (redirects)
    bool initialize = false;
    bool renewal = false;      // the initialize of a session renewal
    bool initialized = false;  // notifications/initialized
    bool carried_session = false;
    bool after_renewal = false;  // sent again on a new session: no second renewal
    bool short_lane = false;     // a notification or response: the short lane
    int resumes = 0;
    bool answered = false;
    int redirects = 0;
    long status = 0;
    std::string content_type;
    std::string body;  // a JSON body, or an error body (its head)
    std::size_t body_size = 0;
    std::shared_ptr<sse::Parser> events;  // an SSE answer (shared: it may outlive its Post)
    std::string last_event_id;
  };

  void post(std::string line, int redirects = 0, std::string url = {});
  std::shared_ptr<sse::Parser> answer_events(std::uint64_t key);
  std::optional<Post> take_post(std::uint64_t key);
  void on_post_response(std::uint64_t key, const CurlMulti::Response& response);
  void on_post_body(std::uint64_t key, std::string_view bytes);
  void on_post_done(std::uint64_t key, CURLcode code, const std::string& error);
  // The POST's answer, once complete, by its status.
  void on_post_answer(Post& p);
  // Its SSE stream ended before the answer, its events had ids: GET with
  // Last-Event-ID after the server's retry (2025-11-25), at most kMaxResumes.
  bool may_resume(const Post& p) const;
  void resume_later(Post p);
  void resume_stream(Post p);
  CurlMulti& lane(const Post& p) { return p.short_lane ? *short_ : *http_; }
  // A line from the server, `from` the POST whose answer stream it came on.
  void deliver(std::string line, Post* from);
  bool first_sight(const std::string& event_id);
  void on_initialize_answer(std::string_view line, bool renewal);
  void fail_request(const Post& p, const std::string& reason, bool server_fault);

  void renew_session(std::string line);
  void switch_to_sse(std::string line);
  void open_get_stream();
  // After the initialize answer: the GET stream first, and what follows
  // (notifications/initialized) only once it is open, since a server tells
  // it about what `initialized` set off (list_changed, roots/list) and
  // drops what it cannot send. At most kListenWait.
  void begin_listening();
  void listening();
  void schedule_get_reconnect();
  void open_sse_stream();
  void on_sse_event(sse::Event& event);
  void flush_queue();

  void unauthorized(const CurlMulti::Response& response);
  // The server is gone (unreachable, stream ended, session lost for good).
  void close(const std::string& reason, bool permanent = false);
  void finish();

  std::vector<std::string> base_headers(bool with_session) const;
  CurlMulti::Request make_post(const std::string& line, const std::string& url, bool request,
                               bool with_session) const;

  asio::io_context& io_;
  ServerConfig config_;
  TransportEvents events_;
  // Three lanes within max_connections: answer streams (requests) on
  // `http_`; short messages (notifications, responses, DELETE) on
  // `short_`, one connection, so that the client's answer to an
  // elicitation never waits behind the long calls that wait for it; the
  // GET stream (SSE: the session's stream) on `listen_`, one connection it
  // holds for good.
  std::unique_ptr<CurlMulti> http_;
  std::unique_ptr<CurlMulti> short_;
  std::unique_ptr<CurlMulti> listen_;
  std::vector<std::weak_ptr<asio::steady_timer>> resume_timers_;
  std::string resent_line_;  // the line refused by the expired session
  int get_failures_ = 0;     // GET streams refused in a row
  Mode mode_ = Mode::streamable;
  bool may_fall_back_ = false;  // `url` without type, until initialize is answered
  std::string url_;             // POST (Streamable HTTP) or GET (SSE)
  std::string endpoint_;        // SSE: where to POST, from the endpoint event
  std::string origin_;
  std::string shown_url_;  // redacted, for logs
  std::string session_id_;
  std::string protocol_version_;
  std::string initialize_line_;  // the client's initialize, for a renewal
  std::string initialize_id_;
  bool renewing_ = false;
  bool listen_pending_ = false;  // holding lines until the GET stream is open
  asio::steady_timer listen_timer_;
  bool session_suspect_ = false;  // a connection was lost since the last answer
  std::vector<TimePoint> renewals_;
  std::deque<std::string> queue_;  // waiting for the endpoint or a renewal
  std::unordered_map<std::uint64_t, Post> posts_;
  std::unordered_map<std::string, std::uint64_t> post_of_request_;
  std::uint64_t next_post_ = 1;
  // The GET stream (Streamable HTTP: optional; SSE: the session).
  CurlMulti::Id get_ = 0;
  std::shared_ptr<sse::Parser> get_events_;
  long get_status_ = 0;
  bool get_offered_ = true;  // false after a 405
  std::string last_event_id_;
  std::unordered_set<std::string> seen_events_;
  std::optional<std::int64_t> retry_ms_;
  asio::steady_timer reconnect_timer_;
  bool started_ = false;
  bool gone_ = false;
  bool stopping_ = false;
  bool permanent_ = false;
  std::string end_reason_;
  TimePoint started_at_{};
  std::vector<std::function<void()>> on_gone_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mcpbraid
