#pragma once
// One configured MCP server: its lifecycle state, the table of requests we
// sent it that await an answer, and the Transport it talks over (a child
// process per start, see backends/child_process.hpp).
#include <sys/types.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/timer.hpp"
#include "backends/transport.hpp"
#include "core/config.hpp"
#include "core/envelope.hpp"
#include "core/failsafe.hpp"
#include "core/health.hpp"
#include "core/jsonrpc.hpp"
#include "core/lifecycle.hpp"

namespace mcpbraid {

// The outcome of one request we sent to a backend. Exactly one per request.
struct Reply {
  enum class Kind { result, error, failure, cancelled };
  Kind kind = Kind::failure;
  json value;          // the result, or the JSON-RPC error object
  std::string reason;  // for failure: why no answer came (timeout, exit, ...)
  // A result asked for raw (Backend::request's `raw_result`): the backend's
  // whole validated response line, `value` left null, `id` where its id is.
  std::string raw;
  rpc::Span id;
  // A failure because the answer was malformed (not because none came):
  // not retried, since the same server would say the same again.
  bool bad_answer = false;
  bool ok() const { return kind == Kind::result; }
};

class Backend;

// What a backend tells the gateway that is not an answer to our request.
class BackendEvents {
 public:
  virtual ~BackendEvents() = default;
  virtual void on_backend_message(Backend& backend, rpc::Message& message) = 0;
  virtual void on_backend_exit(Backend& backend) = 0;
  // An exception escaped the handling of one of its lines (a bug).
  virtual void on_backend_internal_error(Backend& backend, const std::string& what) = 0;
  // A remote server's session was replaced by a new one (it expired).
  virtual void on_backend_session_renewed(Backend&) {}
};

class Backend {
 public:
  using Done = std::function<void(Reply&&)>;
  static constexpr std::size_t kStderrTailLines = 50;

  // `transport` makes one Transport per start; empty: a ChildProcess.
  Backend(asio::io_context& io, ServerConfig config, BackendEvents& events,
          TransportFactory transport = {});
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const { return config_.name; }
  const ServerConfig& config() const { return config_; }
  // A reload: the new config takes effect for the next start (command,
  // url, ...) and at once for the failsafe; state and counters stay.
  void reconfigure(ServerConfig config);
  // A reload took it out of the config: it is stopped and never started
  // again; the gateway skips it everywhere (its index stays valid).
  void mark_removed() { removed_ = true; }
  bool removed() const { return removed_; }
  // A removed one is stopped, whatever its transport is still doing.
  BackendState state() const { return removed_ ? BackendState::stopped : state_; }
  bool running() const { return transport_ && transport_->running(); }
  pid_t pid() const { return transport_ ? transport_->pid() : -1; }
  const std::string& last_error() const { return last_error_; }
  // It failed for a reason a restart will not fix (a remote server's HTTP
  // 401/403): the supervisor leaves it failed.
  bool permanently_failed() const { return permanent_failure_; }
  const std::deque<std::string>& stderr_tail() const { return stderr_tail_; }
  std::size_t pending_count() const { return pending_.size(); }

  // Starts a new transport (spawns the child). On failure the state is
  // `failed` with last_error set.
  bool start();

  // Sends a request; `done` runs exactly once: with the answer, with a
  // failure (deadline passed, child gone), or `cancelled` after cancel().
  // The deadline is the server's failsafe.timeout, extended by progress up
  // to failsafe.max_timeout. Every outcome is recorded in the health
  // tracker and the circuit breaker.
  // `request_id` is the client request's trace id, carried on this
  // request's own trace lines (timeout, answer).
  std::int64_t request(std::string_view method, json params, Done done,
                       std::string_view request_id = {});
  // The same with params already serialized (sent again on a retry without
  // another copy), and the result left raw for forwarding unchanged.
  std::int64_t request_raw(std::string_view method, std::string_view params_json, Done done,
                           std::string_view request_id, bool raw_result);
  // Progress arrived for this request: push its deadline out.
  void extend_deadline(std::int64_t id);
  // Withdraws a request: tells the backend and completes it as cancelled.
  void cancel(std::int64_t id, std::string_view reason);
  void notify(std::string_view method, json params = nullptr);
  // A request that stays open (a modern backend's subscriptions/listen):
  // the envelope added, no deadline, no pending entry; its answer, if one
  // ever comes, is ignored.
  void open_stream(const json& id, std::string_view method, json params);
  void send(const json& message);

  // Completes every pending request with a failure.
  void fail_pending(const std::string& reason);

  // Stops the current transport (a child: the stop ladder, close stdin,
  // wait, SIGTERM the group, wait, SIGKILL; always reaps). `on_stopped` runs
  // once it is gone. A restart meanwhile starts another, untouched.
  void stop(std::function<void()> on_stopped);
  // After stop(): every transport still stopping (the current one and those
  // retired by a restart) hurries (Transport::hurry).
  void hurry_stop();

  // Lifecycle, driven by the gateway (the supervisor).
  void set_ready(json initialize_result);
  void set_failed(std::string reason);
  void set_backoff(TimePoint restart_at);
  TimePoint restart_at() const { return restart_at_; }
  // Time left until the restart, for retry_after_ms (0 once due).
  Milliseconds restart_in(TimePoint now) const {
    return std::max(Milliseconds(0), std::chrono::ceil<Milliseconds>(restart_at_ - now));
  }
  int restarts() const { return starts_ > 0 ? starts_ - 1 : 0; }
  // Counts start() calls: which process (or session) a thing belongs to.
  int serial() const { return starts_; }

  // Everything `mcpbraid health` shows of this backend.
  health::BackendStatus status(TimePoint now) const;

  // The failsafe.
  const FailsafeConfig& failsafe() const { return config_.failsafe; }
  CircuitBreaker& breaker() { return breaker_; }
  const HealthTracker& health() const { return health_; }
  RetryBudget& retry_budget() { return retry_budget_; }

  // What the backend said in its initialize result.
  const json& capabilities() const { return capabilities_; }
  const std::string& instructions() const { return instructions_; }
  const json& server_info() const { return server_info_; }
  const std::string& protocol_version() const { return protocol_version_; }

  // The 2026-07-28 era (no handshake): every request we send carries this
  // envelope in params._meta (protocol version, client info and
  // capabilities, log level). Set by the handshake once the backend refused
  // initialize for 2026-07-28; cleared by a restart, which probes again.
  bool modern() const { return !envelope_.is_null(); }
  // The level we last set with logging/setLevel for a 2026-07-28 client's
  // request (modern::log_rank; 0: none since this process started).
  std::uint8_t request_log_rank() const { return request_log_rank_; }
  void set_request_log_rank(std::uint8_t rank) { request_log_rank_ = rank; }
  void set_envelope(json envelope) { envelope_ = std::move(envelope); }
  void set_envelope_field(const std::string& key, json value) {
    if (modern()) envelope_[key] = std::move(value);
  }

  // Per rung of a child's stop ladder (ChildProcess::kStopGrace).
  static constexpr Milliseconds kStopGrace{2000};

 private:
  // One per request in flight: kept small (no strings of its own).
  struct Pending {
    const std::string* method;  // interned (a handful of distinct methods)
    std::uint64_t request;      // N of the client request's trace id "r<N>", 0: none
    Done done;
    Deadline deadline;
    TimePoint started;
    bool raw_result = false;
  };

  void on_stdout_line(std::string& line);
  void handle_stdout_line(std::string& line);
  void on_stdout_oversized(std::string& head, std::size_t size);
  void on_bad_line(std::string_view line, const rpc::Message& message);
  // Fails the pending request `id` (if it is one) because its answer was bad.
  bool fail_bad_answer(const json& id, const std::string& what);
  void on_stderr_line(std::string& line);
  void on_request_failed(std::string_view id, const std::string& reason, bool server_fault);
  // The current transport's server side ended on its own.
  void on_transport_closed(const std::string& reason);
  // A stop of the current transport is done: how it ended is the last error.
  void on_transport_stopped(int spawn);
  // The transport's events, for the `spawn`th start.
  TransportEvents transport_events(int spawn);
  // Stops a transport that is no longer current and drops it once gone.
  void retire(std::unique_ptr<Transport> transport);
  void complete(std::int64_t id, Reply&& reply, bool record = true);
  std::int64_t add_pending(std::string_view method, Done done, std::string_view request_id,
                           bool raw_result);
  bool take_raw_result(std::string& line);
  // One timer per backend, armed for the earliest deadline: no timer (and
  // no timerfd update) per request.
  void arm_deadline_timer(TimePoint due);
  void on_deadline_timer();
  void on_deadline(std::int64_t id);
  void record_failure(const std::string& reason);
  // Only the current transport's lines are protocol: one being stopped
  // after a restart may still write.
  bool current(int spawn) const { return spawn == starts_; }
  // Nothing can be pending once the transport is gone; an armed timer would
  // keep the loop alive for a whole timeout.
  void cancel_deadline_timer();

  // Merges the envelope into params._meta (a modern backend only).
  void add_envelope(json& params) const;

  json envelope_;  // null: the handshake era
  asio::io_context& io_;
  ServerConfig config_;
  BackendEvents& events_;
  BackendState state_ = BackendState::starting;
  std::string last_error_;
  TransportFactory make_transport_;
  std::unique_ptr<Transport> transport_;  // the current one (maybe gone)
  bool gone_seen_ = false;                // its end is recorded in last_error_
  bool permanent_failure_ = false;
  // Earlier ones still being stopped after a restart; dropped once gone.
  std::vector<std::unique_ptr<Transport>> retiring_;
  std::deque<std::string> stderr_tail_;
  std::unordered_map<std::int64_t, Pending> pending_;
  Timer deadline_timer_;
  std::optional<TimePoint> deadline_armed_;  // when the timer fires, if armed
  std::int64_t next_id_ = 1;
  json capabilities_ = json::object();
  std::string instructions_;
  json server_info_;
  std::string protocol_version_;
  CircuitBreaker breaker_;
  HealthTracker health_;
  RetryBudget retry_budget_;
  TimePoint restart_at_{};
  bool removed_ = false;
  std::uint8_t request_log_rank_ = 0;
  int starts_ = 0;  // start() calls: also the serial of the current transport
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 public:
  // Backpressure from the gateway: stop reading its lines (stderr goes on).
  void pause_output();
  void resume_output();
};

}  // namespace mcpbraid
