#include "backends/child_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "backends/process.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

ChildProcess::ChildProcess(asio::io_context& io, const ServerConfig& config, TransportEvents events)
    : io_(io), config_(config), events_(std::move(events)) {}

ChildProcess::~ChildProcess() {
  *alive_ = false;
  // The Backend stops its transports before it goes; this is the last
  // resort so that nothing is left running.
  if (running()) {
    signal_group(pid_, SIGKILL);
    while (!try_reap(pid_)) ::usleep(1000);
    reaped_ = true;
  }
}

TransportFactory child_process_factory(asio::io_context& io) {
  return [&io](const ServerConfig& config, TransportEvents events) -> std::unique_ptr<Transport> {
    return std::make_unique<ChildProcess>(io, config, std::move(events));
  };
}

bool ChildProcess::start(std::string* error) {
  SpawnSpec spec{config_.command, config_.args, config_.env, config_.cwd, config_.inherit_env};
  SpawnResult spawned = spawn_process(spec);
  if (!spawned.child) {
    trace::error("backend.spawn_failed")
        .kv("server", config_.name)
        .kv("command", config_.command)
        .kv("error", spawned.error);
    if (error) *error = spawned.error;
    return false;
  }
  const SpawnedChild& child = *spawned.child;
  pid_ = child.pid;
  started_at_ = Clock::now();
  in_ = std::make_unique<LineWriter>(io_, child.stdin_fd);
  // The readers live no longer than this object: `this` is safe in them.
  out_ = std::make_unique<LineReader>(
      io_, child.stdout_fd,
      [this](std::string& line) {
        if (events_.on_line) events_.on_line(line);
      },
      [this] { on_stdout_eof(); }, config_.max_line,
      [this](std::string& head, std::size_t size) {
        if (events_.on_oversized) events_.on_oversized(head, size);
      });
  err_ = std::make_unique<LineReader>(
      io_, child.stderr_fd,
      [this](std::string& line) {
        if (events_.on_diagnostic) events_.on_diagnostic(line);
      },
      nullptr);
  out_->start();
  err_->start();
  trace::info("backend.spawn")
      .kv("server", config_.name)
      .kv("pid", static_cast<std::int64_t>(pid_))
      .kv("command", config_.command);
  return true;
}

void ChildProcess::send(std::string line) {
  if (running() && in_) in_->send(std::move(line));
}

void ChildProcess::pause() {
  if (running() && out_) out_->pause();
}

void ChildProcess::resume() {
  if (running() && out_) out_->resume();
}

std::optional<std::string> ChildProcess::exit_description() const {
  if (!status_) return std::nullopt;
  return describe_exit(*status_);
}

bool ChildProcess::reap() {
  if (reaped_) return true;
  if (pid_ <= 0) return false;
  // Hurried, what the server left in its group (npx -> node, sh -c -> cmd)
  // has had its SIGTERM with the server's, and we are about to exit.
  auto status = try_reap(pid_, hurried_ ? SIGKILL : SIGTERM);
  if (!status) return false;
  reaped_ = true;
  status_ = *status;
  if (in_) in_->close();
  if (out_) out_->close();
  if (err_) err_->close();
  return true;
}

void ChildProcess::on_stdout_eof() {
  if (stop_requested_) return;
  // The child closed its stdout: it is exiting or broken. Give it a moment
  // to be reaped so the reason can say how it ended.
  poll_exit(Clock::now());
}

void ChildProcess::poll_exit(TimePoint started) {
  // A stop meanwhile takes over: its ladder reaps, and on_closed is not for
  // a connection we end ourselves.
  if (stop_requested_) return;
  reap();
  if (!reaped_ && Clock::now() - started < kExitWait) {
    if (!exit_timer_) exit_timer_ = std::make_unique<Timer>(io_);
    exit_timer_->expires_after(kPollInterval);
    exit_timer_->async_wait([this, started, alive = alive_](asio::error_code) {
      if (*alive) poll_exit(started);
    });
    return;
  }
  std::string reason = status_ ? describe_exit(*status_) : std::string("closed its stdout");
  // Last: the handler may stop this transport.
  if (events_.on_closed) events_.on_closed(reason);
}

void ChildProcess::stop(std::function<void()> on_stopped) {
  if (!ladder_running_ && !running()) {
    stop_requested_ = true;
    if (on_stopped) on_stopped();
    return;
  }
  if (on_stopped) on_gone_.push_back(std::move(on_stopped));
  if (ladder_running_) return;
  stop_requested_ = true;
  ladder_running_ = true;
  if (in_) in_->close();  // rung 1: EOF on its stdin
  rung_ = Rung::eof;
  next_rung_at_ = Clock::now() + kStopGrace;
  ladder_step();
}

void ChildProcess::hurry() {
  if (!ladder_running_) return;  // not stopping, or gone
  hurried_ = true;
  if (rung_ == Rung::eof) send_sigterm();
  if (rung_ == Rung::sigterm) next_rung_at_ = std::min(next_rung_at_, Clock::now() + kHurriedKill);
}

void ChildProcess::send_sigterm() {
  trace::info("backend.sigterm")
      .kv("server", config_.name)
      .kv("pid", static_cast<std::int64_t>(pid_));
  signal_group(pid_, SIGTERM);
  rung_ = Rung::sigterm;
  next_rung_at_ = Clock::now() + kStopGrace;
}

// One look at the child being stopped, every 5 ms: reaped, or time for the
// next rung. Only ever this child's pid, and only while it is not reaped.
void ChildProcess::ladder_step() {
  if (reap()) {
    ladder_running_ = false;
    trace::info("backend.stopped")
        .kv("server", config_.name)
        .kv("pid", static_cast<std::int64_t>(pid_))
        .kv("how", exit_description().value_or("gone"));
    auto callbacks = std::move(on_gone_);
    on_gone_.clear();
    for (auto& callback : callbacks) callback();
    return;
  }
  if (Clock::now() >= next_rung_at_) {
    if (rung_ == Rung::eof) {
      send_sigterm();
    } else if (rung_ == Rung::sigterm) {
      trace::warn("backend.sigkill")
          .kv("server", config_.name)
          .kv("pid", static_cast<std::int64_t>(pid_));
      signal_group(pid_, SIGKILL);
      rung_ = Rung::sigkill;
      next_rung_at_ = TimePoint::max();
    }
  }
  if (!ladder_timer_) ladder_timer_ = std::make_unique<Timer>(io_);
  ladder_timer_->expires_after(kPollInterval);
  ladder_timer_->async_wait([this, alive = alive_](asio::error_code) {
    if (*alive) ladder_step();
  });
}

}  // namespace mcpbraid
