#include "backends/curl_multi.hpp"

#include <poll.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/url.hpp"

namespace mcpbraid {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

const char* env_either(const char* a, const char* b) {
  const char* v = std::getenv(a);
  if (v && *v) return v;
  v = std::getenv(b);
  return v && *v ? v : nullptr;
}

}  // namespace

struct CurlMulti::Socket {
  Socket(asio::io_context& io, curl_socket_t fd) : descriptor(io), fd(fd) {}
  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd;
  int want = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool removed = false;
};

struct CurlMulti::Transfer {
  CurlMulti* owner = nullptr;
  Id id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;  // what we send: libcurl reads it in place
  Handlers handlers;
  Response response;        // filling in
  bool final_seen = false;  // the final response's header block ended
  bool response_given = false;
  std::string received;  // body bytes not yet handed out
  bool paused = false;
  char error[CURL_ERROR_SIZE] = {};
};

CurlMulti::CurlMulti(asio::io_context& io, long max_connections) : io_(io), timer_(io) {
  global_init();
  multi_ = curl_multi_init();
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

CurlMulti::~CurlMulti() {
  *alive_ = false;
  cancel_all();
  timer_.cancel();
  curl_multi_cleanup(multi_);  // closes the cached connections (CURL_POLL_REMOVE each)
  for (auto& [fd, socket] : sockets_) {
    socket->removed = true;
    asio::error_code ignored;
    socket->descriptor.cancel(ignored);
    socket->descriptor.release();
  }
}

std::pair<std::string, std::string> CurlMulti::proxy_for(std::string_view url) {
  std::string proxy;
  if (url.substr(0, 8) == "https://") {
    if (const char* v = env_either("https_proxy", "HTTPS_PROXY")) proxy = v;
  } else if (const char* v = env_either("http_proxy", "HTTP_PROXY")) {
    proxy = v;
  }
  if (proxy.empty())
    if (const char* v = env_either("all_proxy", "ALL_PROXY")) proxy = v;
  std::string no_proxy;
  if (const char* v = env_either("no_proxy", "NO_PROXY")) no_proxy = v;
  return {proxy, no_proxy};
}

CurlMulti::Id CurlMulti::start(Request request, Handlers handlers) {
  auto transfer = std::make_unique<Transfer>();
  Transfer& t = *transfer;
  t.owner = this;
  t.id = next_id_++;
  t.handlers = std::move(handlers);
  t.body = std::move(request.body);
  t.easy = curl_easy_init();
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // same-origin redirects are the caller's
  // A proxy's "200 Connection established" is not the server's answer.
  curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 15L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  if (request.timeout.count() > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  auto [proxy, no_proxy] = proxy_for(request.url);
  if (!proxy.empty()) curl_easy_setopt(e, CURLOPT_PROXY, proxy.c_str());
  if (!no_proxy.empty()) curl_easy_setopt(e, CURLOPT_NOPROXY, no_proxy.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t.body.size()));
  } else if (request.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  // No "Expect: 100-continue" wait before a large POST body.
  request.headers.emplace_back("Expect:");
  for (const auto& h : request.headers) t.headers = curl_slist_append(t.headers, h.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlMulti::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlMulti::on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  Id id = t.id;
  transfers_.emplace(id, std::move(transfer));
  curl_multi_add_handle(multi_, e);  // libcurl asks for a timeout: the transfer starts there
  return id;
}

void CurlMulti::remove(Transfer& t) {
  curl_multi_remove_handle(multi_, t.easy);
  curl_easy_cleanup(t.easy);
  curl_slist_free_all(t.headers);
  t.easy = nullptr;
  t.headers = nullptr;
}

void CurlMulti::cancel(Id id) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  std::unique_ptr<Transfer> t = std::move(it->second);
  transfers_.erase(it);
  remove(*t);
}

void CurlMulti::cancel_all() {
  while (!transfers_.empty()) cancel(transfers_.begin()->first);
}

void CurlMulti::pause() {
  paused_ = true;
}

void CurlMulti::resume() {
  if (!paused_) return;
  paused_ = false;
  for (auto& [id, t] : transfers_) {
    if (!t->paused) continue;
    t->paused = false;
    curl_easy_pause(t->easy, CURLPAUSE_CONT);  // re-delivers the refused chunk
  }
  deliver();
}

std::size_t CurlMulti::on_header(char* data, std::size_t size, std::size_t n, void* p) {
  auto& t = *static_cast<Transfer*>(p);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    t.response = Response{};
    t.final_seen = false;
    auto space = line.find(' ');
    if (space != std::string_view::npos) t.response.status = std::atol(line.data() + space + 1);
  } else if (trim(line).empty()) {
    // 1xx blocks come before the final one.
    if (t.response.status >= 200) t.final_seen = true;
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string name = lower(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "content-type") {
      std::string type = lower(trim(value.substr(0, value.find(';'))));
      t.response.content_type = type;
    }
    t.response.headers[name] = std::move(value);
  }
  return size * n;
}

std::size_t CurlMulti::on_write(char* data, std::size_t size, std::size_t n, void* p) {
  auto& t = *static_cast<Transfer*>(p);
  if (t.owner->paused_) {
    t.paused = true;
    return CURL_WRITEFUNC_PAUSE;  // libcurl keeps this chunk for the resume
  }
  t.received.append(data, size * n);
  return size * n;
}

int CurlMulti::on_socket(CURL*, curl_socket_t fd, int what, void* p, void* socketp) {
  auto& self = *static_cast<CurlMulti*>(p);
  auto it = self.sockets_.find(fd);
  if (it != self.sockets_.end() && what != CURL_POLL_REMOVE && socketp != it->second.get()) {
    // A socket libcurl has not seen from us: an old entry for a reused fd
    // number (its epoll registration died with the old socket).
    it->second->removed = true;
    asio::error_code ignored;
    it->second->descriptor.cancel(ignored);
    it->second->descriptor.release();
    self.sockets_.erase(it);
    it = self.sockets_.end();
  }
  if (what == CURL_POLL_REMOVE) {
    if (it == self.sockets_.end()) return 0;
    std::shared_ptr<Socket> socket = std::move(it->second);
    self.sockets_.erase(it);
    socket->removed = true;
    asio::error_code ignored;
    socket->descriptor.cancel(ignored);
    socket->descriptor.release();  // libcurl closes it
    return 0;
  }
  if (it == self.sockets_.end()) {
    auto socket = std::make_shared<Socket>(self.io_, fd);
    asio::error_code ec;
    socket->descriptor.assign(fd, ec);
    if (ec) return -1;  // never throw through libcurl's frames
    it = self.sockets_.emplace(fd, std::move(socket)).first;
    curl_multi_assign(self.multi_, fd, it->second.get());
  }
  it->second->want = what;
  self.watch(it->second);
  return 0;
}

// Waits for what libcurl wants of the socket. Asio's epoll is edge
// triggered and libcurl need not drain a socket in one go, so readiness
// that is already there is checked first and acted on at once.
void CurlMulti::watch(const std::shared_ptr<Socket>& socket) {
  auto wait = [this, socket](bool read) {
    bool& busy = read ? socket->reading : socket->writing;
    if (busy) return;
    busy = true;
    pollfd p{socket->fd, static_cast<short>(read ? POLLIN : POLLOUT), 0};
    bool ready = ::poll(&p, 1, 0) > 0;
    auto handler = [this, socket, read, alive = alive_](asio::error_code ec) {
      (read ? socket->reading : socket->writing) = false;
      if (ec || !*alive || socket->removed) return;
      action(socket->fd, read ? CURL_CSELECT_IN : CURL_CSELECT_OUT);
      if (!*alive || socket->removed) return;
      if (socket->want & (read ? CURL_POLL_IN : CURL_POLL_OUT)) watch(socket);
    };
    if (ready)
      asio::post(io_, [handler] { handler({}); });
    else
      socket->descriptor.async_wait(read ? asio::posix::stream_descriptor::wait_read
                                         : asio::posix::stream_descriptor::wait_write,
                                    handler);
  };
  if (socket->want & CURL_POLL_IN) wait(true);
  if (socket->want & CURL_POLL_OUT) wait(false);
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* p) {
  auto& self = *static_cast<CurlMulti*>(p);
  self.timer_.cancel();
  if (timeout_ms < 0) return 0;
  self.timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self.timer_.async_wait([&self, alive = self.alive_](asio::error_code ec) {
    if (!ec && *alive) self.action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::action(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  deliver();
}

void CurlMulti::deliver() {
  auto alive = alive_;
  // Finished transfers, collected before any handler can add more.
  std::vector<std::pair<Id, CURLcode>> done;
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
    if (t) done.emplace_back(t->id, m->data.result);
  }
  // Hand out headers and body. A handler may cancel any transfer, this one
  // included, or destroy us: look each up again.
  std::vector<Id> ids;
  ids.reserve(transfers_.size());
  for (auto& [id, t] : transfers_)
    if ((t->final_seen && !t->response_given) || !t->received.empty()) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (Id id : ids) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) continue;
    Transfer& t = *it->second;
    if (t.final_seen && !t.response_given) {
      t.response_given = true;
      if (t.handlers.on_response) t.handlers.on_response(t.response);
      if (!*alive) return;
      if (!transfers_.count(id)) continue;
    }
    if (!t.received.empty() && t.response_given) {
      std::string bytes = std::move(t.received);
      t.received.clear();
      if (t.handlers.on_body) t.handlers.on_body(bytes);
      if (!*alive) return;
    }
  }
  for (auto [id, code] : done) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);
    std::string error = code == CURLE_OK ? std::string()
                        : t->error[0]    ? std::string(t->error)
                                         : std::string(curl_easy_strerror(code));
    // libcurl quotes the proxy setting in some messages, credentials and all.
    if (error.find("roxy") != std::string::npos) error = curl_easy_strerror(code);
    remove(*t);
    if (!t->response_given && t->final_seen) {
      t->response_given = true;
      if (t->handlers.on_response) t->handlers.on_response(t->response);
      if (!*alive) return;
    }
    if (!t->received.empty() && t->handlers.on_body) {
      t->handlers.on_body(t->received);
      if (!*alive) return;
    }
    if (t->handlers.on_done) t->handlers.on_done(code, error);
    if (!*alive) return;
  }
}

}  // namespace mcpbraid
