#pragma once
// The gateway: one MCP session with the client on stdin/stdout, fanned out
// to every configured backend. Routing decisions live in core/ (catalog,
// session); this file wires them to the processes.
#include <array>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/backend.hpp"
#include "backends/control.hpp"
#include "backends/stream.hpp"
#include "backends/timer.hpp"
#include "core/catalog.hpp"
#include "core/config.hpp"
#include "core/health.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway : public BackendEvents {
 public:
  Gateway(asio::io_context& io, Config config);
  ~Gateway() override;

  // Starts the backends, serves the client on in_fd/out_fd until it goes
  // away (or SIGINT/SIGTERM), stops every child. Returns the exit status.
  int run(int in_fd, int out_fd);

  // Serve the control socket at `path` ("" for none) while running.
  void set_control_socket(std::string path) { control_path_ = std::move(path); }

  // What `mcpbraid health`, the control socket and gateway_health show.
  health::Snapshot snapshot() const;

  void on_backend_message(Backend& backend, rpc::Message& message) override;
  void on_backend_exit(Backend& backend) override;
  void on_backend_internal_error(Backend& backend, const std::string& what) override;

 private:
  struct OpenRequest {
    json id;
    std::string method;
    std::string request_id;  // short id for trace lines
    std::string server;
    TimePoint started;
  };
  // A client request forwarded to a backend, across its retries.
  struct Call {
    json id;
    std::string key;  // id_key(id)
    std::string method;
    std::string params;  // serialized as sent to the backend (name stripped, token mapped)
    Backend* backend = nullptr;
    int attempt = 0;
    bool retry_safe = false;
    bool cancelled = false;
    std::int64_t backend_id = -1;
    std::int64_t progress_token = 0;
    std::unique_ptr<Timer> retry_timer;
  };
  struct ProgressRoute {
    Backend* backend;
    json client_token;
    std::shared_ptr<Call> call;
  };
  struct UpstreamRequest {  // a backend's request relayed to the client
    Backend* backend;
    json backend_id;
    std::string method;
  };

  // io_.run(), polling for config_.busy_poll after work before sleeping;
  // with the last-resort guard around it.
  void run_loop();
  void run_handlers();

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
  Handling handling_;
  std::uint64_t internal_errors_ = 0;
  void on_internal_error(const char* what);
  // Runs fn under the guard; false when an exception was caught (and handled).
  template <typename Fn>
  bool guarded(Fn&& fn);

  // Backpressure: the client-bound queue over max_output_queue pauses the
  // backends' stdout and the client's stdin until it drains to half.
  void check_backpressure();
  bool output_paused_ = false;
  bool test_hooks_ = false;  // MCPBRAID_TEST_HOOKS=1: the bare method mcpbraid/test/throw

  // The client side.
  void on_client_line(std::string& line);
  void handle_client_line(std::string& line);
  void on_client_oversized(std::string& head, std::size_t size);
  void on_client_eof();
  void handle_request(rpc::Message& message);
  void handle_notification(rpc::Message& message);
  void handle_client_response(rpc::Message& message);
  void send_client(const json& message);
  void respond(const json& id, json message);
  // A response already serialized (a forwarded result, its id rewritten):
  // `head`, then body[body_offset..] when there is a body.
  void respond_line(const json& id, std::string head, std::string body = {},
                    std::size_t body_offset = 0);
  void close_request(const json& id, bool error);
  void reply(const json& id, json result);
  void reply_error(const json& id, int code, std::string_view text, json data = nullptr);
  void reply_unavailable(const json& id, const std::string& method, const std::string& server,
                         const std::string& reason,
                         std::optional<Milliseconds> retry_after = std::nullopt,
                         bool bad_answer = false);
  // Why a request cannot go to this backend now (restarting, failed, circuit
  // open, too many in flight); nullopt when it may go. Admits a half-open probe.
  struct Refusal {
    std::string reason;
    std::optional<Milliseconds> retry_after;
  };
  std::optional<Refusal> admission(Backend& backend);
  void refuse(const json& id, const std::string& method, Backend& backend, const Refusal& why);

  // Initialization of the backends and the bounded wait for them.
  void begin_initialization();
  void initialize_backend(Backend& backend, int attempt = 1);
  void send_initialized(Backend& backend);
  bool settled() const;
  void when_settled(std::function<void()> fn);
  void run_settle_waiters();
  void on_initialize(rpc::Message& message);

  // Lists: drained across pages, cached per backend, merged.
  void collect_lists(ListKind kind, std::function<void()> done);
  void fetch_list(Backend& backend, ListKind kind, std::function<void()> done);
  void fetch_page(Backend& backend, ListKind kind, std::vector<json> items, json cursor,
                  int restarts, int pages);
  void store_list(Backend& backend, ListKind kind, std::vector<json> items);
  void on_list(rpc::Message& message, ListKind kind);
  json merged_list(ListKind kind);
  // The merged list serialized, reused until a backend's list or its place
  // in the merge changes: a tools/list of 10,000 tools is then one copy.
  const std::string& rendered_list(ListKind kind);
  struct RenderedList {
    std::vector<std::uint64_t> signature;  // per backend: its list's stamp, 0 if left out
    std::string text;                      // the JSON array
    bool valid = false;
  };
  std::array<RenderedList, kListKinds> rendered_;
  std::uint64_t next_list_stamp_ = 1;
  void schedule_list_changed(ListKind kind);

  // Routed requests.
  void on_named(rpc::Message& message, ListKind kind, bool retried = false);
  void on_completion(rpc::Message& message, bool retried = false);
  void on_uri(rpc::Message& message, bool retried = false);
  void on_set_level(rpc::Message& message);
  void forward(Backend& backend, const json& id, const std::string& method, json params);
  // A tools/call handled from the raw line: envelope and params.name located,
  // the name rewritten in the text. False when the line needs the full path.
  bool fast_tool_call(const std::string& line);
  // A Call for this request, or nullptr when admission refused it (answered).
  std::shared_ptr<Call> prepare_call(Backend& backend, const json& id, const std::string& key,
                                     const std::string& method, const std::string& tool);
  void launch(const std::shared_ptr<Call>& call);
  void open_request(const json& id, const std::string& key, const std::string& method);
  void send_attempt(const std::shared_ptr<Call>& call);
  void on_call_reply(const std::shared_ptr<Call>& call, Reply&& reply);
  void finish_call(const std::shared_ptr<Call>& call);

  // The gateway's own tools and methods (gateway_list_servers, gateway_health).
  bool is_gateway_tool(const json& params) const;
  json gateway_method_result(const std::string& name) const;
  json gateway_tool_result(const std::string& name) const;
  json answer_control(const std::string& method) const;

  // The supervisor.
  void schedule_restart(Backend& backend);
  void drop_from_lists(Backend& backend);
  void refresh_after_restart(Backend& backend);
  double jitter();

  // Shutdown.
  void on_signal(int signo);
  void check_drained();
  void finish();
  void wait_for_output(TimePoint until);

  Backend* find_backend(const std::string& name);
  bool has_capability(const Backend& backend, ListKind kind) const;

  asio::io_context& io_;
  Config config_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<LineReader> client_in_;
  std::unique_ptr<LineWriter> client_out_;
  asio::signal_set signals_;
  TimePoint started_ = Clock::now();
  std::string control_path_;
  std::unique_ptr<ControlServer> control_;

  std::optional<json> client_init_;  // params of the client's initialize
  json client_capabilities_ = json::object();
  std::string protocol_version_;
  bool client_initialized_ = false;  // notifications/initialized received
  bool implicit_session_ = false;    // served before any initialize (a pipe)
  bool init_started_ = false;
  bool init_wait_over_ = false;
  std::unique_ptr<Timer> init_timer_;
  std::vector<std::function<void()>> settle_waiters_;
  std::optional<std::string> log_level_;

  NameTable tool_names_;
  NameTable prompt_names_;
  ResourceTable resources_;

  std::unordered_map<std::string, OpenRequest> open_;                // by id_key of the client id
  std::unordered_map<std::string, std::shared_ptr<Call>> inflight_;  // forwarded, same key
  std::unordered_map<std::int64_t, ProgressRoute> progress_;
  std::unordered_map<std::int64_t, UpstreamRequest> upstream_;
  std::int64_t next_progress_token_ = 1;
  std::int64_t next_upstream_id_ = 1;
  std::uint64_t next_request_number_ = 1;

  unsigned list_changed_pending_ = 0;  // bit per ListKind
  std::unique_ptr<Timer> list_changed_timer_;

  bool draining_ = false;   // client EOF: finish what is in flight
  bool finishing_ = false;  // stopping children
  std::unique_ptr<Timer> flush_timer_;
  // Returns the heap to the OS a while after the last large message.
  void schedule_trim();
  std::unique_ptr<Timer> trim_timer_;
  int exit_code_ = 0;
  std::unordered_map<Backend*, std::unique_ptr<Timer>> restart_timers_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace mcpbraid
