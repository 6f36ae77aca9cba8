#pragma once
// A local MCP server over pipes: one spawn of the configured command, from
// posix_spawn to the reap. Its stdout is the protocol, its stderr the
// diagnostics, its stdin our lines. A restart is another ChildProcess.
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/stream.hpp"
#include "backends/timer.hpp"
#include "backends/transport.hpp"

namespace mcpbraid {

class ChildProcess final : public Transport {
 public:
  // Per rung of the stop ladder: stdin EOF, then SIGTERM, then SIGKILL.
  static constexpr Milliseconds kStopGrace{2000};
  // A hurried stop (we got SIGTERM or SIGINT: we are being killed, and a
  // client like the SDK's sends SIGKILL a second later): SIGTERM at once,
  // SIGKILL this long after it.
  static constexpr Milliseconds kHurriedKill{300};
  // How long a child that closed its stdout gets to exit, so that the
  // reason can say how it ended.
  static constexpr Milliseconds kExitWait{100};
  // How often the ladder and the exit wait look for the exit.
  static constexpr Milliseconds kPollInterval{5};

  ChildProcess(asio::io_context& io, const ServerConfig& config, TransportEvents events);
  ~ChildProcess() override;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool start(std::string* error) override;
  void send(std::string line) override;
  bool running() const override { return pid_ > 0 && !reaped_; }
  void pause() override;
  void resume() override;
  void stop(std::function<void()> on_stopped) override;
  void hurry() override;
  // The spawned pid, also once reaped (-1 before a spawn).
  pid_t pid() const override { return pid_; }
  TimePoint started_at() const override { return started_at_; }
  std::optional<std::string> exit_description() const override;

 private:
  void on_stdout_eof();
  void poll_exit(TimePoint started);
  // Reaps the child if it exited, and closes its pipes. True when it is gone.
  bool reap();
  void ladder_step();
  void send_sigterm();

  asio::io_context& io_;
  ServerConfig config_;  // a copy: it may outlive the Backend's stop
  TransportEvents events_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::optional<int> status_;  // the wait status, once reaped
  bool stop_requested_ = false;
  bool ladder_running_ = false;
  enum class Rung { eof, sigterm, sigkill };
  Rung rung_ = Rung::eof;     // the last one taken
  TimePoint next_rung_at_{};  // when the ladder takes the next one
  bool hurried_ = false;      // hurry() was called: see reap()
  TimePoint started_at_{};
  std::unique_ptr<LineWriter> in_;
  std::unique_ptr<LineReader> out_;
  std::unique_ptr<LineReader> err_;
  std::unique_ptr<Timer> ladder_timer_;
  std::unique_ptr<Timer> exit_timer_;  // waiting to reap after stdout EOF
  std::vector<std::function<void()>> on_gone_;
  // Outstanding timer handlers check this before touching `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Makes a ChildProcess per start: the Backend's default.
TransportFactory child_process_factory(asio::io_context& io);

}  // namespace mcpbraid
