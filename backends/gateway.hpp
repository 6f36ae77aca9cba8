#pragma once
// The gateway: one MCP session with the client on stdin/stdout, fanned out
// to every configured backend. This class only wires the parts together and
// owns signals and shutdown; each concern is a part in its own file
// (docs/architecture.md has the map):
//   client_channel  the client's stdin/stdout, backpressure, every answer
//   dispatch        a client line -> the part that handles it
//   handshake       initialize on both sides, the bounded wait
//   list_sync       backends' lists: fetch, pages, cache, list_changed
//   router          a client request -> the backend (and params) it goes to
//   calls           the call runner: admission, attempts, retries, results
//   relay           backend -> client: requests, notifications, progress
//   input_rounds    2026-07-28 multi round-trip requests over legacy backends
//   asked_input     a 2026-07-28 backend's requests for input, for a legacy client
//   subscriptions   2026-07-28 subscriptions/listen
//   supervisor      restarts with backoff, the crash-loop cap
//   gateway_tools   the gateway's own tools and control answers
//   event_loop      busy-poll and heap trimming
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backends/asked_input.hpp"
#include "backends/backend.hpp"
#include "backends/calls.hpp"
#include "backends/client_channel.hpp"
#include "backends/control.hpp"
#include "backends/dispatch.hpp"
#include "backends/event_loop.hpp"
#include "backends/gateway_tools.hpp"
#include "backends/handshake.hpp"
#include "backends/input_rounds.hpp"
#include "backends/list_sync.hpp"
#include "backends/relay.hpp"
#include "backends/reloader.hpp"
#include "backends/router.hpp"
#include "backends/search_tools.hpp"
#include "backends/subscriptions.hpp"
#include "backends/supervisor.hpp"
#include "backends/tasks.hpp"
#include "backends/transport.hpp"
#include "core/call_table.hpp"
#include "core/client_session.hpp"
#include "core/config.hpp"
#include "core/health.hpp"
#include "core/list_merge.hpp"

namespace mcpbraid {

// What a test (or an embedder) may replace: how backends connect, the seed
// of the jitter in backoffs (0: from std::random_device), and whether exited
// backends are restarted (`mcpbraid health --probe` does not).
struct GatewayOptions {
  TransportFactory transports;
  std::uint64_t seed = 0;
  bool restarts = true;
};

class Gateway : public BackendEvents {
 public:
  Gateway(asio::io_context& io, Config config, GatewayOptions options = {});
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Starts the backends, serves the client on in_fd/out_fd until it goes
  // away (or SIGINT/SIGTERM), stops every child. Returns the exit status.
  int run(int in_fd, int out_fd);
  // The same without running the loop (tests poll the io_context); with
  // in_fd < 0 there is no client (the probe drives the parts itself).
  void start(int in_fd, int out_fd);
  // Answers what is open, stops every backend, then stops the io_context.
  void stop();
  // Serve the control socket at `path` ("" for none) while running.
  void set_control_socket(std::string path) { control_path_ = std::move(path); }

  // What `mcpbraid health`, the control socket and gateway_health show.
  health::Snapshot snapshot() const;

  // BackendEvents.
  void on_backend_message(Backend& backend, rpc::Message& message) override;
  void on_backend_exit(Backend& backend) override;
  void on_backend_internal_error(Backend& backend, const std::string& what) override;
  void on_backend_session_renewed(Backend& backend) override;

  // The parts, for each other.
  asio::io_context& io() { return io_; }
  const Config& config() const { return config_; }
  // A reload (backends/reloader): the new config, a server appended and
  // started by the caller, a server taken out (stopped, its open requests
  // answered with `reason`; it keeps its index, skipped everywhere).
  void set_config(Config config) { config_ = std::move(config); }
  Backend& add_backend(const ServerConfig& server);
  void remove_backend(Backend& backend, const std::string& reason);
  // The gateway's own tool names are never a backend's (a server with
  // "prefix": "" could list one); again when a reload changes them.
  void reserve_own_names();
  std::vector<std::unique_ptr<Backend>>& backends() { return backends_; }
  const std::vector<std::unique_ptr<Backend>>& backends() const { return backends_; }
  Backend* find_backend(const std::string& name);
  int index_of(const Backend& backend) const;
  CallTable& calls() { return calls_; }
  ClientSession& session() { return session_; }
  const ClientSession& session() const { return session_; }
  Catalog& catalog() { return catalog_; }
  ClientChannel& client() { return client_; }
  Handshake& handshake() { return handshake_; }
  ListSync& lists() { return lists_; }
  Router& router() { return router_; }
  CallRunner& runner() { return runner_; }
  Relay& relay() { return relay_; }
  InputRounds& rounds() { return rounds_; }
  AskedInput& asked() { return asked_; }
  Subscriptions& subscriptions() { return subscriptions_; }
  Tasks& tasks() { return tasks_; }
  Supervisor& supervisor() { return supervisor_; }
  GatewayTools& tools() { return tools_; }
  SearchTools& search() { return search_; }
  Dispatcher& dispatcher() { return dispatch_; }
  Reloader& reloader() { return reloader_; }
  HeapTrimmer& trimmer() { return trimmer_; }
  std::uint64_t internal_errors() const { return internal_errors_; }
  bool test_hooks() const { return test_hooks_; }
  double jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

  // The last-resort guard. What the handler running now is about (set by
  // the entry points); an exception that escapes a handler is logged with
  // it, its request is answered with -32603, counted, and the loop goes on.
  struct Handling {
    json id;  // the client request, null when none
    std::string method;
    std::string server;
  };
  class HandlingScope {
   public:
    HandlingScope(Gateway& gateway, Handling handling);
    ~HandlingScope();
    HandlingScope(const HandlingScope&) = delete;
    HandlingScope& operator=(const HandlingScope&) = delete;

   private:
    Gateway& gateway_;
    Handling saved_;
    int exceptions_;
  };
  void set_handling(Handling handling) { handling_ = std::move(handling); }
  // Runs fn under the guard; false when an exception was caught (and handled).
  template <typename Fn>
  bool guarded(Fn&& fn) {
    try {
      fn();
      return true;
    } catch (const std::exception& e) {
      on_internal_error(e.what());
    } catch (...) {
      on_internal_error("unknown exception");
    }
    return false;
  }

  // Shutdown: the client left (draining) or a signal came. A signal means
  // we are being killed: stop() in a hurry, also when EOF began a stop.
  void on_client_eof();
  void on_signal(int signo);
  // Every backend's stop hurries, and the loop stops at kHurriedExit from
  // now whatever is still stopping (the destructors SIGKILL what is left).
  void hurry();
  // Once draining and nothing is open: stop.
  void check_drained();

 private:
  void on_internal_error(const char* what);
  void wait_for_signal();
  void finish();
  void wait_for_output(TimePoint until);

  asio::io_context& io_;
  Config config_;  // replaced only by a reload
  TransportFactory transports_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::mt19937_64 random_;
  asio::signal_set signals_;
  TimePoint started_ = Clock::now();
  std::string control_path_;
  std::unique_ptr<ControlServer> control_;
  Handling handling_;
  std::uint64_t internal_errors_ = 0;
  bool test_hooks_ = false;  // MCPBRAID_TEST_HOOKS=1: the bare method mcpbraid/test/throw
  int exit_code_ = 0;
  std::unique_ptr<Timer> flush_timer_;
  std::optional<TimePoint> exit_by_;  // set by hurry()
  std::unique_ptr<Timer> exit_timer_;

  // The state the parts share, and the parts (constructed in this order).
  CallTable calls_;
  ClientSession session_;
  Catalog catalog_;
  ClientChannel client_;
  Dispatcher dispatch_;
  Handshake handshake_;
  ListSync lists_;
  Router router_;
  CallRunner runner_;
  Relay relay_;
  InputRounds rounds_;
  AskedInput asked_;
  Subscriptions subscriptions_;
  Tasks tasks_;
  Supervisor supervisor_;
  GatewayTools tools_;
  SearchTools search_;
  HeapTrimmer trimmer_;
  Reloader reloader_;
};

}  // namespace mcpbraid
