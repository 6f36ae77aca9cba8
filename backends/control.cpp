#include "backends/control.hpp"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <cstdlib>
#include <cstring>

#include "core/jsonrpc.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

using Protocol = asio::local::stream_protocol;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool fill_address(const std::string& path, sockaddr_un& addr, std::string* error) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    if (error) *error = path + ": path too long for a Unix socket";
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

// Does something answer on this socket path right now?
bool socket_answers(const std::string& path) {
  sockaddr_un addr;
  if (!fill_address(path, addr, nullptr)) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// One control connection: check the peer, read a line, answer, close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Protocol::socket socket, ControlServer::Handler handler)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), handler_(std::move(handler)) {}

  void start() {
    if (!peer_is_us()) return;
    auto self = shared_from_this();
    timer_.expires_after(ControlServer::kIdleLimit);
    timer_.async_wait([self](asio::error_code ec) {
      if (!ec) self->close();
    });
    asio::async_read_until(socket_, asio::dynamic_buffer(input_, ControlServer::kMaxRequest), '\n',
                           [self](asio::error_code ec, std::size_t n) { self->on_line(ec, n); });
  }

 private:
  bool peer_is_us() {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        cred.uid != ::geteuid()) {
      trace::warn("control.refused")
          .kv("peer_uid", static_cast<std::int64_t>(cred.uid))
          .kv("peer_pid", static_cast<std::int64_t>(cred.pid));
      close();
      return false;
    }
    return true;
  }

  void on_line(asio::error_code ec, std::size_t n) {
    if (ec) return close();  // EOF, too long, or closed by the idle timer
    std::string line = input_.substr(0, n);
    // Stderr lines in the snapshot may hold any bytes: replace, never throw.
    output_ = answer(line).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(output_),
                      [self](asio::error_code, std::size_t) { self->close(); });
  }

  json answer(const std::string& line) {
    // Checked for shape before use, like every message from outside.
    if (rpc::nesting_exceeds(line, kDefaultMaxJsonDepth))
      return {{"error", {{"message", "request nested too deeply"}}}};
    json request = json::parse(line, nullptr, false);
    if (!request.is_object() || !request.contains("method") || !request["method"].is_string())
      return {{"error", {{"message", "expected {\"method\": \"health\"}"}}}};
    std::string method = request["method"].get<std::string>();
    trace::debug("control.request").kv("method", method);
    try {
      return {{"result", handler_(method, request)}};
    } catch (const std::exception& e) {
      return {{"error", {{"message", e.what()}}}};
    }
  }

  void close() {
    asio::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  Protocol::socket socket_;
  asio::steady_timer timer_;
  ControlServer::Handler handler_;
  std::string input_;
  std::string output_;
};

}  // namespace

std::string default_control_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/mcpbraid";
  return "/tmp/mcpbraid-" + std::to_string(::geteuid());
}

std::string default_control_path(pid_t pid) {
  return default_control_dir() + "/" + std::to_string(pid) + ".sock";
}

std::vector<std::string> control_dirs() {
  std::vector<std::string> dirs;
  std::string fallback = "/tmp/mcpbraid-" + std::to_string(::geteuid());
  for (const std::string& dir : {default_control_dir(), fallback}) {
    struct stat st;
    bool seen = false;
    for (const auto& d : dirs) seen = seen || d == dir;
    if (!seen && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) dirs.push_back(dir);
  }
  return dirs;
}

bool prepare_control_dir(const std::string& dir, std::string* error) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    if (error) *error = errno_text(dir);
    return false;
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (error) *error = errno_text(dir);
    return false;
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    // Someone else's directory in /tmp could be watched or swapped.
    if (error) *error = dir + ": not a directory owned by this user";
    return false;
  }
  if ((st.st_mode & 077) != 0 && ::chmod(dir.c_str(), 0700) != 0) {
    if (error) *error = errno_text(dir);
    return false;
  }
  return true;
}

struct ControlServer::Impl {
  Impl(asio::io_context& io, Handler h) : acceptor(io), handler(std::move(h)) {}
  void accept() {
    acceptor.async_accept([this](asio::error_code ec, Protocol::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<Connection>(std::move(socket), handler)->start();
      accept();
    });
  }
  Protocol::acceptor acceptor;
  Handler handler;
};

ControlServer::ControlServer(asio::io_context& io, Handler handler)
    : impl_(std::make_unique<Impl>(io, std::move(handler))) {}

ControlServer::~ControlServer() {
  if (path_.empty()) return;
  asio::error_code ignored;
  impl_->acceptor.close(ignored);
  ::unlink(path_.c_str());
}

bool ControlServer::listen(const std::string& path, std::string* error) {
  sockaddr_un addr;
  if (!fill_address(path, addr, error)) return false;
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      if (error) *error = path + ": exists and is not a socket";
      return false;
    }
    if (socket_answers(path)) {
      if (error) *error = path + ": another process is listening there";
      return false;
    }
    ::unlink(path.c_str());  // left by an instance that was killed
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    if (error) *error = errno_text("socket");
    return false;
  }
  // Created 0600 from the start: no window in which others could connect.
  mode_t old_mask = ::umask(0177);
  int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    if (error) *error = errno_text(path);
    ::close(fd);
    return false;
  }
  asio::error_code ec;
  impl_->acceptor.assign(Protocol(), fd, ec);
  if (ec) {
    if (error) *error = path + ": " + ec.message();
    ::close(fd);
    ::unlink(path.c_str());
    return false;
  }
  path_ = path;
  impl_->accept();
  return true;
}

std::optional<json> control_request(const std::string& path, const json& request,
                                    std::chrono::milliseconds timeout, std::string* error) {
  sockaddr_un addr;
  if (!fill_address(path, addr, error)) return std::nullopt;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (error) *error = errno_text("socket");
    return std::nullopt;
  }
  auto fail = [&](const std::string& why) -> std::optional<json> {
    if (error) *error = why;
    ::close(fd);
    return std::nullopt;
  };
  // Non-blocking, so that a full backlog (an instance whose loop is stuck)
  // cannot hold us past the timeout either.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto wait_for = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, events, 0};
    return left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  };
  std::string no_answer = path + ": no answer within " + std::to_string(timeout.count()) + " ms";
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EAGAIN && errno != EINPROGRESS) return fail(errno_text(path));
    if (!wait_for(POLLOUT)) return fail(no_answer);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      return fail(errno_text(path));
    }
  }
  std::string out = request.dump() + "\n";
  // A Unix socket takes a line this small in one write.
  if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
    return fail(errno_text(path));
  std::string in;
  while (in.find('\n') == std::string::npos) {
    if (!wait_for(POLLIN)) return fail(no_answer);
    char buf[65536];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return fail(path + ": closed without an answer");
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  json answer = json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    if (error) *error = path + ": the answer is not JSON";
    return std::nullopt;
  }
  return answer;
}

std::vector<std::string> instance_sockets() {
  std::vector<std::pair<long, std::string>> found;
  for (const std::string& dir : control_dirs()) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) continue;
    while (dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".sock") != 0) continue;
      char* end = nullptr;
      long pid = std::strtol(name.c_str(), &end, 10);
      std::string path = dir + "/" + name;
      if (pid > 0 && *end == '.' && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        ::unlink(path.c_str());
        continue;
      }
      found.emplace_back(pid, path);
    }
    ::closedir(d);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [pid, path] : found) paths.push_back(std::move(path));
  return paths;
}

}  // namespace mcpbraid
