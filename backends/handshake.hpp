#pragma once
// initialize on both sides. The client's initialize is answered once every
// backend answered its own (or initialize_timeout passed): the merged
// capabilities and instructions of those that are ready. A backend is
// initialized with the client's capabilities (what we relay of them);
// a slow one is asked again (initialize is safe to repeat), then restarted
// like a crash; one that refuses is failed. A backend that is ready after
// the client's answer joins late: the client hears list_changed.
// A backend that answers initialize -32022 naming 2026-07-28 speaks that
// revision only: it is asked server/discover, and ready on its answer.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/timer.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Backend;
class Gateway;
struct Reply;

class Handshake {
 public:
  explicit Handshake(Gateway& gateway) : g_(gateway) {}

  void on_client_initialize(rpc::Message& message);
  void on_client_initialized();
  // server/discover (2026-07-28): answered like initialize, once backends
  // settled, with the merged capabilities and instructions; it changes no
  // state of the session beyond starting the backends' handshake.
  void on_client_discover(const json& id);
  // Starts initializing every running backend (once) and the bounded wait.
  void begin();
  // Initializes one backend (after begin(): a restarted one too).
  void initialize_backend(Backend& backend, int attempt = 1);
  // Runs fn once backends settled (at once when they have).
  void when_settled(std::function<void()> fn);
  // Re-checks after a backend changed state: runs the waiters once settled.
  void run_settle_waiters();
  // Shutdown: stop waiting, run every waiter now.
  void release_waiters();
  void cancel();
  // resources/subscribe or unsubscribe of `uri` at a backend of 2026-07-28
  // only, which takes subscriptions on its subscriptions/listen instead: the
  // listen is opened again with the new set (the old one cancelled).
  void subscribe(Backend& backend, const std::string& uri, bool on);

 private:
  bool all_answered() const;
  // The merged capabilities and instructions of the ready backends.
  std::pair<json, std::string> merged_view() const;
  void on_initialize_reply(Backend& backend, int attempt, TimePoint started, Reply&& reply);
  void on_ready(Backend& backend, double latency_ms);
  // Fails a backend that refused to start a session, for good.
  void refuse(Backend& backend, const std::string& reason);
  // It answered initialize: 2026-07-28 only. Asks server/discover instead,
  // every request from then on carrying the envelope.
  void discover_backend(Backend& backend, TimePoint started);
  void send_initialized(Backend& backend);
  void listen(Backend& backend);

  Gateway& g_;
  std::unique_ptr<Timer> timer_;
  std::vector<std::function<void()>> waiters_;
  std::vector<std::string> initialized_sent_;  // backends told notifications/initialized
  // Per modern backend (by index): the URIs the client subscribed to there,
  // and our open listen (its id, the process it went to).
  struct Listen {
    std::set<std::string> uris;
    std::string open_id;
    int serial = 0;
  };
  std::unordered_map<int, Listen> listens_;
  std::int64_t next_listen_ = 1;
};

}  // namespace mcpbraid
