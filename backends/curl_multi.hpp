#pragma once
// HTTP by libcurl's multi interface, driven from the Asio loop: Asio waits
// on the sockets libcurl names (CURLMOPT_SOCKETFUNCTION) and one timer
// (CURLMOPT_TIMERFUNCTION); curl_multi_socket_action does the I/O. Nothing
// blocks and nothing runs on another thread.
//
// Every callback of ours runs after libcurl has returned, never inside one
// of its callbacks, so a handler may start or cancel transfers freely.
//
// One CurlMulti per remote server: its connection cache and its limit
// (`max_connections`) are that server's.
#include <curl/curl.h>

#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mcpbraid {

class CurlMulti {
 public:
  using Id = std::uint64_t;

  struct Request {
    std::string method = "POST";  // POST, GET or DELETE
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
    std::chrono::milliseconds timeout{0};  // the whole transfer; 0: none
    std::chrono::milliseconds connect_timeout{10000};
  };
  struct Response {
    long status = 0;
    std::string content_type;  // lower-cased, parameters dropped
    // Header names lower-cased; a repeated header keeps its last value.
    std::map<std::string, std::string> headers;
    std::string header(const std::string& lower_name) const {
      auto it = headers.find(lower_name);
      return it == headers.end() ? std::string() : it->second;
    }
  };
  struct Handlers {
    // The final response's status and headers, before any of its body.
    std::function<void(const Response&)> on_response;
    // The next bytes of the body.
    std::function<void(std::string_view)> on_body;
    // The end: CURLE_OK, or why it failed (`error` in words). Not called
    // after cancel().
    std::function<void(CURLcode code, const std::string& error)> on_done;
  };

  CurlMulti(asio::io_context& io, long max_connections);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  Id start(Request request, Handlers handlers);
  // Ends a transfer now; none of its handlers run afterwards.
  void cancel(Id id);
  void cancel_all();
  bool active(Id id) const { return transfers_.count(id) != 0; }
  std::size_t transfers() const { return transfers_.size(); }

  // Backpressure: no more body bytes are read while paused.
  void pause();
  void resume();

  // The proxy libcurl should use for `url`, from http_proxy / HTTP_PROXY,
  // https_proxy / HTTPS_PROXY and no_proxy / NO_PROXY (libcurl itself reads
  // only the lower-case http_proxy, for good reason in CGI; we are no CGI).
  static std::pair<std::string, std::string> proxy_for(std::string_view url);

 private:
  struct Transfer;
  struct Socket;

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* transfer);
  static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* transfer);

  void watch(const std::shared_ptr<Socket>& socket);
  void action(curl_socket_t fd, int events);
  // After libcurl returned: hand out what arrived and what finished.
  void deliver();
  void remove(Transfer& transfer);

  asio::io_context& io_;
  CURLM* multi_ = nullptr;
  asio::steady_timer timer_;  // libcurl's own timeouts: real time
  std::unordered_map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
  std::unordered_map<Id, std::unique_ptr<Transfer>> transfers_;
  Id next_id_ = 1;
  bool paused_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mcpbraid
