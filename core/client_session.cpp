#include "core/client_session.hpp"

#include <algorithm>
#include <cassert>

#include "core/session.hpp"

namespace mcpbraid {

bool ClientSession::on_initialize(const json& params) {
  // A second initialize is a protocol error the caller answers; the first
  // one's capabilities and version stay what backends were told.
  if (initialize_params_) return false;
  initialize_params_ = params.is_object() ? params : json::object();
  const json& p = *initialize_params_;
  capabilities_ = p.value("capabilities", json::object());
  if (!capabilities_.is_object()) capabilities_ = json::object();
  protocol_version_ = negotiate_version(p.value("protocolVersion", json()));
  check();
  return true;
}

void ClientSession::on_backend_request() {
  // Only before an initialize: a client that initializes after its first
  // request stays implicit (backends may already have been initialized on
  // its behalf, and told notifications/initialized).
  if (!initialize_params_) implicit_ = true;
  check();
}

void ClientSession::on_envelope(const json& client_info, const json& capabilities) {
  bool first = !modern_;
  modern_ = true;
  if (!first || initialize_params_) return check();
  envelope_client_info_ = client_info;
  capabilities_ = capabilities.is_object() ? capabilities : json::object();
  check();
}

bool ClientSession::begin() {
  if (phase_ != HandshakePhase::idle) return false;
  phase_ = HandshakePhase::initializing;
  // Backends are offered a version even when the client never said one.
  if (protocol_version_.empty()) protocol_version_ = kLatestProtocolVersion;
  check();
  return true;
}

bool ClientSession::settle() {
  if (phase_ != HandshakePhase::initializing) return false;
  phase_ = HandshakePhase::settled;
  check();
  return true;
}

bool ClientSession::on_initialized() {
  if (client_initialized_) return false;
  client_initialized_ = true;
  check();
  return true;
}

void ClientSession::on_eof() {
  if (connection_ == Connection::open) connection_ = Connection::draining;
  check();
}

void ClientSession::on_signal() {
  if (connection_ == Connection::open) connection_ = Connection::draining;
  // Whatever waits for backends runs now (they are failed as shutting down).
  phase_ = HandshakePhase::settled;
  check();
}

bool ClientSession::finish() {
  if (connection_ == Connection::finishing) return false;
  connection_ = Connection::finishing;
  check();
  return true;
}

json ClientSession::client_info() const {
  if (initialize_params_) {
    json info = initialize_params_->value("clientInfo", json::object());
    if (info.is_object() && info.contains("name")) return info;
  } else if (envelope_client_info_.is_object() && envelope_client_info_.contains("name")) {
    return envelope_client_info_;
  }
  return {{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}};
}

void ClientSession::check() const {
  assert(capabilities_.is_object());
  assert(!initialize_params_ || initialize_params_->is_object());
  // A version is known once the client negotiated one or backends are asked.
  assert(!initialize_params_ || !protocol_version_.empty());
  assert(phase_ != HandshakePhase::initializing || !protocol_version_.empty());
  // And it is always one we support (negotiate_version's rule).
  [[maybe_unused]] const auto& all = supported_protocol_versions();
  assert(protocol_version_.empty() ||
         std::find(all.begin(), all.end(), protocol_version_) != all.end());
}

}  // namespace mcpbraid
