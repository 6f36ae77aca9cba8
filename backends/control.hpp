#pragma once
// The control socket: a Unix domain socket through which `mcpbraid health`
// reads a live snapshot. Only the user who runs mcpbraid may connect: the
// directory is 0700, the socket 0600, and the peer's uid is checked.
//
// Protocol (documented in mcpbraid(1)): the client writes one JSON object on
// one line, {"method": "health"} (or "list_servers", "reload", or
// "restart" with "server"); the server answers one line, {"result": ...}
// or {"error": {"message": ...}}, and closes.
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mcpbraid {

using json = nlohmann::json;

// $XDG_RUNTIME_DIR/mcpbraid when XDG_RUNTIME_DIR is set (absolute), else
// /tmp/mcpbraid-<uid>.
std::string default_control_dir();
std::string default_control_path(pid_t pid);
// Every directory `mcpbraid health` looks in (both of the above that exist).
std::vector<std::string> control_dirs();

// The sockets in the control directories, oldest instance (lowest pid)
// first. Sockets of instances that died without cleaning up are removed on
// the way.
std::vector<std::string> instance_sockets();

// Creates `dir` mode 0700 if missing; refuses one that is not a directory
// or not ours, and tightens one that is ours but open to others.
bool prepare_control_dir(const std::string& dir, std::string* error);

class ControlServer {
 public:
  // Answers one request; an exception's message becomes the error.
  using Handler = std::function<json(const std::string& method, const json& request)>;

  ControlServer(asio::io_context& io, Handler handler);
  ~ControlServer();  // closes and removes the socket
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds and listens. A socket left by a dead instance is replaced; one
  // that still answers is not. False with `error` set on failure.
  bool listen(const std::string& path, std::string* error);
  const std::string& path() const { return path_; }

  static constexpr std::size_t kMaxRequest = 64 * 1024;
  static constexpr std::chrono::seconds kIdleLimit{5};

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

// The client side, blocking: sends one request, reads the one-line answer.
// nullopt with `error` set when the socket does not answer in `timeout`.
std::optional<json> control_request(const std::string& path, const json& request,
                                    std::chrono::milliseconds timeout, std::string* error);

}  // namespace mcpbraid
