#pragma once
// How a Backend talks to its server: lines out, lines in, and an end. One
// Transport object per connection (for a child process: per spawn). A
// restart makes a new one; the old one finishes stopping on its own.
//
// Implementations: ChildProcess (backends/child_process.hpp, a local server
// over pipes) and HttpTransport (backends/http_transport.hpp, a remote one
// over Streamable HTTP or SSE); tests use a FakeTransport
// (tests/gateway/harness.hpp). Nothing above this interface knows which
// kind it talks to.
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/config.hpp"

namespace mcpbraid {

struct TransportEvents {
  // One protocol line from the server (without its newline).
  std::function<void(std::string& line)> on_line;
  // A line longer than the server's max_line: its head and its size.
  std::function<void(std::string& head, std::size_t size)> on_oversized;
  // The server's side ended (a child closed its stdout and exited):
  // `reason` says how ("exited with status 1", "closed its stdout"). Called
  // at most once; not called after stop().
  std::function<void(const std::string& reason)> on_closed;
  // A line of diagnostics (a child's stderr).
  std::function<void(std::string& line)> on_diagnostic;
  // Remote servers. The request whose id token is `id` ("7") will get no
  // answer line: `server_fault` (connection lost, HTTP 5xx) is a failure of
  // the server; otherwise (HTTP 4xx) it is the server's refusal, an error
  // to the client and no health failure.
  std::function<void(std::string_view id, const std::string& reason, bool server_fault)>
      on_request_failed;
  // The server's session was replaced by a new one (it expired): what it
  // lists may have changed.
  std::function<void()> on_session_renewed;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Connects (spawns). False with `error` set when it could not.
  virtual bool start(std::string* error) = 0;
  // Queues one line; `line` ends with '\n'. Dropped when not running.
  virtual void send(std::string line) = 0;
  // Connected and not yet gone (a child: spawned and not reaped).
  virtual bool running() const = 0;
  // Backpressure: stop delivering lines until resume() (diagnostics go on).
  virtual void pause() = 0;
  virtual void resume() = 0;
  // Ends the connection (a child: the stop ladder) and calls `on_stopped`
  // once it is gone, at once when it already is. May be called again; every
  // callback runs. on_closed is not called after it; lines may still come
  // until the end (a child closing down may answer what it had in hand).
  virtual void stop(std::function<void()> on_stopped) = 0;
  // After stop(): we are being killed (SIGTERM, SIGINT), so end it fast (a
  // child: SIGTERM now, SIGKILL soon). The gateway exits shortly after,
  // whatever is still stopping (a remote server's DELETE).
  virtual void hurry() {}
  // For health: the child's pid (-1 when none) and when it started.
  virtual pid_t pid() const { return -1; }
  virtual TimePoint started_at() const = 0;
  // How it ended, once it has ("exited with status 0"): the Backend's
  // last_error after a stop. Empty while running, or when nothing is known.
  virtual std::optional<std::string> exit_description() const { return std::nullopt; }
  // It closed for a reason a restart will not fix (HTTP 401/403): the
  // server stays failed instead of restarting.
  virtual bool permanent_failure() const { return false; }
  // Remote servers, for health: "https://host:443", and the session state
  // ("active", "none", "renewing", "connecting"). Empty for a child.
  virtual std::string origin() const { return {}; }
  virtual std::string session_state() const { return {}; }
};

using TransportFactory =
    std::function<std::unique_ptr<Transport>(const ServerConfig& config, TransportEvents events)>;

// The Backend's default: a ChildProcess for a stdio server, an
// HttpTransport for a remote one.
TransportFactory default_transport_factory(asio::io_context& io);

}  // namespace mcpbraid
