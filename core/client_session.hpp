#pragma once
// The client's side of the session as one state machine: what the client
// said (initialize, notifications/initialized) and two small phases.
//
//   handshake:  idle -> initializing -> settled
//     idle          nothing asked of backends yet (they are spawned, not
//                   initialized: initialize waits for the client's
//                   capabilities)
//     initializing  backends are being initialized; the bounded wait runs
//     settled       every backend answered, or the wait ran out
//   connection: open -> draining -> finishing
//     draining      the client closed stdin (finish what is in flight), or
//                   a signal came
//     finishing     stopping children
//
// A signal jumps both: draining, and settled (nobody waits for backends
// while shutting down). Transitions say whether they changed anything, so
// the caller acts once. Pure: no timers, no backends; the gateway drives it.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mcpbraid {

using json = nlohmann::json;

enum class HandshakePhase { idle, initializing, settled };
enum class Connection { open, draining, finishing };

class ClientSession {
 public:
  // The client's initialize. False (nothing changed) when one was already
  // received. Params that are not an object count as {}; capabilities that
  // are not an object as {}. The version is negotiated here, even after
  // backends were initialized (an implicit session that initializes late):
  // the client is answered with what it asked for when we support it.
  bool on_initialize(const json& params);
  // A request that needs backends arrived; before any initialize it makes
  // the session implicit (a shell pipe that never initializes).
  void on_backend_request();
  // A 2026-07-28 request's envelope (core/modern). Until an initialize
  // came, the first envelope says what backends are told the client is: its
  // clientInfo and capabilities (what a backend then asks for during a call
  // becomes that call's input_required result). A later envelope changes
  // nothing: backends were initialized with the first.
  void on_envelope(const json& client_info, const json& capabilities);
  // Start initializing backends: true only the first time (idle ->
  // initializing). Fixes the protocol version backends are offered:
  // kLatestProtocolVersion when the client negotiated none yet.
  bool begin();
  // The bounded wait ended (all answered, or the timeout): initializing ->
  // settled. True when it changed. From idle it changes nothing: nothing was
  // asked of backends, so there is nothing to have waited for.
  bool settle();
  // notifications/initialized: true the first time (tell the ready
  // backends now).
  bool on_initialized();
  void on_eof();     // open -> draining
  void on_signal();  // -> draining, and settled: do not wait for backends
  // -> finishing; false when already finishing. From open it goes straight
  // there (finishing implies draining).
  bool finish();

  HandshakePhase phase() const { return phase_; }
  Connection connection() const { return connection_; }
  // begin() happened (or a signal made waiting moot): a backend that
  // (re)starts is initialized at once rather than at begin().
  bool begun() const { return phase_ != HandshakePhase::idle; }
  bool settled() const { return phase_ == HandshakePhase::settled; }
  bool draining() const { return connection_ != Connection::open; }  // draining or finishing
  bool finishing() const { return connection_ == Connection::finishing; }

  // Whether a backend that becomes ready should get notifications/initialized
  // now: the client sent it, or the session is implicit (nobody will).
  bool backends_may_be_initialized() const { return client_initialized_ || implicit_; }
  // Whether list_changed may be sent to the client: it sent initialized (the
  // spec forbids notifications before) and is still there to hear it.
  bool may_notify_list_changed() const { return client_initialized_ && !draining(); }
  // The fast tools/call path is allowed: settled (routes are known, nothing
  // queued ahead of it) and open.
  bool fast_path() const { return settled() && !draining(); }

  const std::optional<json>& initialize_params() const { return initialize_params_; }
  const json& capabilities() const { return capabilities_; }
  // "" until negotiated by initialize or fixed by begin().
  const std::string& protocol_version() const { return protocol_version_; }
  bool implicit() const { return implicit_; }
  // Requests came with envelopes and no initialize: the client speaks only
  // 2026-07-28, which allows no unsolicited notifications and no requests
  // from servers outside a call (relay drops or refuses them).
  bool modern_only() const { return modern_ && !initialize_params_; }
  bool client_initialized() const { return client_initialized_; }
  // What backends are told the client is: its clientInfo when that is an
  // object with a name, else {"name":"mcpbraid","version":MCPBRAID_VERSION}
  // (a pipe sends no initialize, and clientInfo is required by the spec).
  json client_info() const;

 private:
  void check() const;  // the invariants, asserted after every transition

  HandshakePhase phase_ = HandshakePhase::idle;
  Connection connection_ = Connection::open;
  std::optional<json> initialize_params_;
  json capabilities_ = json::object();
  std::string protocol_version_;
  bool client_initialized_ = false;
  bool implicit_ = false;
  bool modern_ = false;
  json envelope_client_info_;  // the first envelope's clientInfo (null if none)
};

}  // namespace mcpbraid
