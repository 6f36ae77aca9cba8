// The client-side session machine (core/client_session): the handshake
// phase, the connection, and the predicates the gateway decides by. Each
// predicate must say what the gateway's loose flags said before.
#include <doctest/doctest.h>

#include <string>

#include "core/client_session.hpp"
#include "core/session.hpp"

using mcpbraid::ClientSession;
using mcpbraid::Connection;
using mcpbraid::HandshakePhase;
using mcpbraid::json;

namespace {

json init_params(const char* version = "2025-06-18") {
  return {{"protocolVersion", version},
          {"capabilities", {{"roots", {{"listChanged", true}}}}},
          {"clientInfo", {{"name", "inspector"}, {"version", "1.2"}}}};
}

}  // namespace

TEST_CASE("a new session is idle and open, with nothing said by the client") {
  ClientSession s;
  CHECK(s.phase() == HandshakePhase::idle);
  CHECK(s.connection() == Connection::open);
  CHECK_FALSE(s.begun());
  CHECK_FALSE(s.settled());
  CHECK_FALSE(s.draining());
  CHECK_FALSE(s.finishing());
  CHECK_FALSE(s.initialize_params());
  CHECK(s.capabilities() == json::object());
  CHECK(s.protocol_version().empty());
  CHECK_FALSE(s.implicit());
  CHECK_FALSE(s.client_initialized());
  CHECK_FALSE(s.backends_may_be_initialized());
  CHECK_FALSE(s.may_notify_list_changed());
  CHECK_FALSE(s.fast_path());
}

TEST_CASE("the handshake goes idle -> initializing -> settled, each step once") {
  ClientSession s;
  CHECK_FALSE(s.settle());  // nothing was asked of backends: nothing to settle
  CHECK(s.phase() == HandshakePhase::idle);
  CHECK(s.begin());
  CHECK(s.phase() == HandshakePhase::initializing);
  CHECK(s.begun());
  CHECK_FALSE(s.settled());
  CHECK_FALSE(s.fast_path());
  CHECK_FALSE(s.begin());
  CHECK(s.phase() == HandshakePhase::initializing);
  CHECK(s.settle());
  CHECK(s.phase() == HandshakePhase::settled);
  CHECK(s.settled());
  CHECK(s.fast_path());
  CHECK_FALSE(s.settle());
  CHECK_FALSE(s.begin());
  CHECK(s.phase() == HandshakePhase::settled);
}

TEST_CASE("the client's initialize is kept once: capabilities, version, params") {
  ClientSession s;
  json params = init_params();
  CHECK(s.on_initialize(params));
  REQUIRE(s.initialize_params());
  CHECK(*s.initialize_params() == params);
  CHECK(s.capabilities() == json{{"roots", {{"listChanged", true}}}});
  CHECK(s.protocol_version() == "2025-06-18");
  CHECK_FALSE(s.implicit());

  SUBCASE("a duplicate initialize changes nothing") {
    CHECK_FALSE(s.on_initialize({{"protocolVersion", "2024-11-05"},
                                 {"capabilities", {{"sampling", json::object()}}},
                                 {"clientInfo", {{"name", "other"}}}}));
    CHECK(*s.initialize_params() == params);
    CHECK(s.capabilities() == json{{"roots", {{"listChanged", true}}}});
    CHECK(s.protocol_version() == "2025-06-18");
    CHECK(s.client_info()["name"] == "inspector");
  }
  SUBCASE("begin keeps the negotiated version") {
    CHECK(s.begin());
    CHECK(s.protocol_version() == "2025-06-18");
  }
}

TEST_CASE("the version is negotiated: supported is kept, anything else is the latest") {
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    CAPTURE(version);
    ClientSession s;
    s.on_initialize({{"protocolVersion", version}});
    CHECK(s.protocol_version() == version);
  }
  for (json requested : {json("2099-01-01"), json(""), json(20250618), json(nullptr)}) {
    CAPTURE(requested.dump());
    ClientSession s;
    s.on_initialize({{"protocolVersion", requested}});
    CHECK(s.protocol_version() == mcpbraid::kLatestProtocolVersion);
  }
  ClientSession absent;
  absent.on_initialize(json::object());
  CHECK(absent.protocol_version() == mcpbraid::kLatestProtocolVersion);
}

TEST_CASE("without an initialize, begin offers backends the latest version") {
  ClientSession s;
  CHECK(s.protocol_version().empty());
  s.begin();
  CHECK(s.protocol_version() == mcpbraid::kLatestProtocolVersion);
}

TEST_CASE("an initialize after begin is still negotiated for the client's answer") {
  ClientSession s;
  s.on_backend_request();
  s.begin();
  CHECK(s.protocol_version() == mcpbraid::kLatestProtocolVersion);
  CHECK(s.on_initialize(init_params("2024-11-05")));
  CHECK(s.protocol_version() == "2024-11-05");
}

TEST_CASE("malformed initialize params and capabilities count as empty objects") {
  ClientSession array_params;
  CHECK(array_params.on_initialize(json::array({1})));
  CHECK(*array_params.initialize_params() == json::object());
  CHECK(array_params.capabilities() == json::object());
  CHECK(array_params.protocol_version() == mcpbraid::kLatestProtocolVersion);
  // Still the one initialize: a second is refused.
  CHECK_FALSE(array_params.on_initialize(init_params()));

  for (json caps : {json(nullptr), json(true), json::array(), json("roots")}) {
    CAPTURE(caps.dump());
    ClientSession s;
    s.on_initialize({{"capabilities", caps}});
    CHECK(s.capabilities() == json::object());
  }
}

TEST_CASE("a request before any initialize makes the session implicit") {
  ClientSession s;
  s.on_backend_request();
  CHECK(s.implicit());
  CHECK(s.backends_may_be_initialized());
  // Implicit is not initialized: the client said nothing, so no list_changed.
  CHECK_FALSE(s.client_initialized());
  CHECK(s.begin());
  CHECK(s.settle());
  CHECK_FALSE(s.may_notify_list_changed());
  // An initialize that comes later does not undo it: backends were told.
  CHECK(s.on_initialize(init_params()));
  CHECK(s.implicit());
}

TEST_CASE("a request after initialize does not make the session implicit") {
  ClientSession s;
  s.on_initialize(init_params());
  s.on_backend_request();
  CHECK_FALSE(s.implicit());
  CHECK_FALSE(s.backends_may_be_initialized());
}

TEST_CASE("notifications/initialized: true once, then backends and list_changed may follow") {
  ClientSession s;
  s.on_initialize(init_params());
  CHECK_FALSE(s.backends_may_be_initialized());
  CHECK_FALSE(s.may_notify_list_changed());
  CHECK(s.on_initialized());
  CHECK(s.client_initialized());
  CHECK(s.backends_may_be_initialized());
  CHECK(s.may_notify_list_changed());
  CHECK_FALSE(s.on_initialized());
  CHECK(s.client_initialized());
}

TEST_CASE("the connection goes open -> draining -> finishing") {
  ClientSession s;
  s.on_initialize(init_params());
  s.on_initialized();
  s.begin();
  s.settle();
  CHECK(s.fast_path());
  CHECK(s.may_notify_list_changed());
  s.on_eof();
  CHECK(s.connection() == Connection::draining);
  CHECK(s.draining());
  CHECK_FALSE(s.finishing());
  CHECK_FALSE(s.fast_path());
  CHECK_FALSE(s.may_notify_list_changed());
  // What the client said is still known: backends still get it.
  CHECK(s.backends_may_be_initialized());
  CHECK(s.finish());
  CHECK(s.connection() == Connection::finishing);
  CHECK(s.draining());
  CHECK(s.finishing());
  CHECK_FALSE(s.finish());
  s.on_eof();  // never back to draining
  CHECK(s.connection() == Connection::finishing);
  s.on_signal();
  CHECK(s.connection() == Connection::finishing);
}

TEST_CASE("finish from open still counts as draining") {
  ClientSession s;
  CHECK(s.finish());
  CHECK(s.finishing());
  CHECK(s.draining());
}

TEST_CASE("EOF during initializing drains, and the wait still settles") {
  ClientSession s;
  s.on_initialize(init_params());
  s.begin();
  s.on_eof();
  CHECK(s.phase() == HandshakePhase::initializing);
  CHECK(s.draining());
  CHECK_FALSE(s.settled());
  CHECK(s.settle());
  CHECK(s.settled());
  CHECK_FALSE(s.fast_path());  // settled, but the client is gone
}

TEST_CASE("EOF before anything was asked leaves the handshake idle") {
  ClientSession s;
  s.on_eof();
  CHECK(s.phase() == HandshakePhase::idle);
  CHECK(s.draining());
  CHECK(s.finish());
  CHECK(s.phase() == HandshakePhase::idle);
}

TEST_CASE("a signal before settle ends the wait and drains") {
  ClientSession s;
  s.on_initialize(init_params());
  s.begin();
  s.on_signal();
  CHECK(s.phase() == HandshakePhase::settled);
  CHECK(s.connection() == Connection::draining);
  CHECK_FALSE(s.settle());  // the timer that fires later changes nothing
  CHECK_FALSE(s.fast_path());
  CHECK(s.finish());
  CHECK(s.finishing());
}

TEST_CASE("a signal while idle settles too: nothing will be started") {
  ClientSession s;
  s.on_signal();
  CHECK(s.settled());
  CHECK(s.begun());
  CHECK(s.draining());
  CHECK_FALSE(s.begin());
  CHECK(s.protocol_version().empty());
}

TEST_CASE("a signal after EOF keeps draining and settles") {
  ClientSession s;
  s.begin();
  s.on_eof();
  s.on_signal();
  CHECK(s.connection() == Connection::draining);
  CHECK(s.settled());
}

TEST_CASE("client_info is the client's when it is an object with a name") {
  ClientSession s;
  s.on_initialize(init_params());
  CHECK(s.client_info() == json{{"name", "inspector"}, {"version", "1.2"}});
}

TEST_CASE("client_info falls back to mcpbraid's own") {
  const json ours{{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}};
  ClientSession none;
  CHECK(none.client_info() == ours);
  for (json info :
       {json(nullptr), json("inspector"), json::array({"inspector"}), json{{"version", "1.2"}}}) {
    CAPTURE(info.dump());
    ClientSession s;
    s.on_initialize({{"clientInfo", info}});
    CHECK(s.client_info() == ours);
  }
  ClientSession absent;
  absent.on_initialize({{"protocolVersion", "2025-06-18"}});
  CHECK(absent.client_info() == ours);
}
