#include "backends/handshake.hpp"

#include <algorithm>

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/modern.hpp"
#include "core/session.hpp"
#include "core/shape.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

void Handshake::on_client_initialize(rpc::Message& message) {
  const json& id = message.body["id"];
  auto params_it = message.body.find("params");
  json params =
      params_it != message.body.end() && params_it->is_object() ? *params_it : json::object();
  ClientSession& session = g_.session();
  if (!session.on_initialize(params))
    return g_.client().reply_error(id, rpc::kInvalidRequest,
                                   "Invalid Request: initialize was already received");
  auto info = params.value("clientInfo", json::object());
  trace::info("client.initialize")
      .kv("client", info.is_object() ? string_field(info, "name") : std::string())
      .kv("requested", params.value("protocolVersion", json()).dump())
      .kv("version", session.protocol_version());
  begin();
  when_settled([this, id] {
    auto [capabilities, instructions] = merged_view();
    json result{{"protocolVersion", g_.session().protocol_version()},
                {"capabilities", std::move(capabilities)},
                {"serverInfo", {{"name", "mcpbraid"}, {"version", MCPBRAID_VERSION}}}};
    if (!instructions.empty()) result["instructions"] = instructions;
    g_.client().reply(id, std::move(result));
  });
}

void Handshake::on_client_discover(const json& id) {
  begin();
  when_settled([this, id] {
    auto [capabilities, instructions] = merged_view();
    trace::info("client.discover").kv("id", id.dump());
    g_.client().reply(id, modern::discover_result(std::move(capabilities), instructions));
  });
}

std::pair<json, std::string> Handshake::merged_view() const {
  std::vector<BackendView> ready, searched, listed;
  bool some_pending = false;
  for (auto& backend : g_.backends()) {
    if (backend->state() == BackendState::ready) {
      ready.push_back({backend->name(), backend->capabilities(), backend->instructions()});
      (backend->config().expose == Expose::search ? searched : listed).push_back(ready.back());
    } else if (backend->state() == BackendState::starting && backend->running())
      some_pending = true;
  }
  std::string instructions = g_.config().search_mode() ? search_instructions(searched, listed)
                                                       : combine_instructions(ready);
  return {merge_capabilities(ready, some_pending), std::move(instructions)};
}

void Handshake::on_client_initialized() {
  if (!g_.session().on_initialized()) return;
  for (auto& backend : g_.backends())
    if (backend->state() == BackendState::ready) send_initialized(*backend);
}

void Handshake::begin() {
  if (!g_.session().begin()) return;
  for (auto& backend : g_.backends())
    if (backend->running()) initialize_backend(*backend);
  Milliseconds wait = g_.config().initialize_timeout;
  timer_ = std::make_unique<Timer>(g_.io(), wait);
  timer_->async_wait([this, wait](asio::error_code ec) {
    if (ec) return;
    if (!all_answered()) {
      for (auto& backend : g_.backends())
        if (backend->state() == BackendState::starting && backend->running())
          trace::warn("backend.slow_initialize")
              .kv("server", backend->name())
              .kv("waited_ms", static_cast<std::int64_t>(wait.count()));
    }
    g_.session().settle();
    run_settle_waiters();
  });
  run_settle_waiters();  // nothing to wait for if no backend is running
}

void Handshake::initialize_backend(Backend& backend, int attempt) {
  json params{{"protocolVersion", g_.session().protocol_version()},
              {"capabilities", backend_client_capabilities(g_.session().capabilities())},
              {"clientInfo", g_.session().client_info()}};
  std::erase(initialized_sent_, backend.name());
  TimePoint started = Clock::now();
  backend.request("initialize", std::move(params),
                  [this, &backend, started, attempt](Reply&& reply) {
                    on_initialize_reply(backend, attempt, started, std::move(reply));
                  });
}

void Handshake::on_initialize_reply(Backend& backend, int attempt, TimePoint started,
                                    Reply&& reply) {
  if (backend.removed()) return;  // a reload took it out meanwhile
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  Gateway::HandlingScope scope(g_, Gateway::Handling{nullptr, "initialize", backend.name()});
  if (reply.ok()) {
    if (auto problem = shape::initialize_result(reply.value)) {
      reply.kind = Reply::Kind::failure;
      reply.reason = "bad answer: " + *problem;
      reply.bad_answer = true;
    }
  }
  bool finishing = g_.session().finishing();
  if (reply.kind == Reply::Kind::failure && !reply.bad_answer && backend.running() && !finishing) {
    // No answer in time from a live child: a slow start. initialize is
    // safe to send again; past the attempts, restart it like a crash.
    if (auto delay = initialize_retry_delay(attempt, backend.failsafe().retry, g_.jitter())) {
      trace::warn("backend.initialize_retry")
          .kv("server", backend.name())
          .kv("attempt", attempt + 1)
          .kv("reason", reply.reason);
      auto timer = std::make_shared<Timer>(g_.io(), *delay);
      timer->async_wait([this, &backend, attempt, timer](asio::error_code ec) {
        if (!ec && !g_.session().finishing() && backend.running())
          initialize_backend(backend, attempt + 1);
      });
      return;
    }
    backend.set_failed("initialize failed: " + reply.reason);
    trace::error("backend.initialize_failed")
        .kv("server", backend.name())
        .kv("reason", backend.last_error());
    std::string why = backend.last_error();
    backend.stop([this, &backend, why] {
      if (g_.session().finishing()) return;
      backend.set_failed(why);
      g_.supervisor().schedule_restart(backend);
      run_settle_waiters();
    });
    return;
  }
  // A server of 2026-07-28 only: no handshake, it is discovered instead.
  if (reply.kind == Reply::Kind::error && modern::offers_stateless(reply.value))
    return discover_backend(backend, started);
  if (!reply.ok()) {
    return refuse(backend, reply.kind == Reply::Kind::error
                               ? "initialize failed: " + string_field(reply.value, "message")
                               : "initialize failed: " + reply.reason);
  }
  backend.set_ready(std::move(reply.value));
  on_ready(backend, ms);
}

// A live backend that refuses to start a session will not do better later.
void Handshake::refuse(Backend& backend, const std::string& reason) {
  backend.set_failed(reason);
  trace::error("backend.initialize_failed").kv("server", backend.name()).kv("reason", reason);
  // Stopped, it would report how it ended ("exited with status 0"): the
  // refusal is the reason that stays.
  backend.stop([&backend, reason] { backend.set_failed(reason); });
  run_settle_waiters();
}

void Handshake::discover_backend(Backend& backend, TimePoint started) {
  backend.set_envelope(modern::backend_envelope(
      g_.session().client_info(), backend_client_capabilities(g_.session().capabilities())));
  trace::info("backend.stateless").kv("server", backend.name()).kv("protocol", modern::kVersion);
  backend.request("server/discover", json::object(), [this, &backend, started](Reply&& reply) {
    if (backend.removed()) return;
    Gateway::HandlingScope scope(g_, Gateway::Handling{nullptr, "server/discover", backend.name()});
    std::string problem;
    if (reply.ok()) {
      auto read = modern::read_discover(reply.value);
      if (read.problem.empty()) {
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        backend.set_ready(std::move(read.initialize_result));
        return on_ready(backend, ms);
      }
      problem = read.problem;
    } else {
      problem =
          reply.kind == Reply::Kind::error ? string_field(reply.value, "message") : reply.reason;
    }
    refuse(backend, "server/discover failed: " + problem);
  });
}

// The move to ready: tell it the client is initialized, replay setLevel,
// and either refresh its lists (a restart) or announce it (a late join).
void Handshake::on_ready(Backend& backend, double latency_ms) {
  const std::string& version = g_.session().protocol_version();
  trace::info("backend.ready")
      .kv("server", backend.name())
      .kv("name", string_field(backend.server_info(), "name"))
      .kv("protocol", backend.protocol_version())
      .kv("latency_ms", latency_ms);
  if (!backend.protocol_version().empty() && backend.protocol_version() != version)
    trace::info("backend.version_differs")
        .kv("server", backend.name())
        .kv("client", version)
        .kv("backend", backend.protocol_version());
  if (g_.session().backends_may_be_initialized()) send_initialized(backend);
  if (backend.modern()) listen(backend);
  g_.supervisor().on_healthy(backend);
  bool restarted = backend.restarts() > 0;
  if (restarted) g_.lists().refresh_after_restart(backend);
  g_.router().replay_log_level(backend);
  // A first start that missed the client's initialize answer.
  bool late = g_.session().settled() && !restarted;
  run_settle_waiters();
  if (late) {
    trace::info("backend.late_join").kv("server", backend.name());
    g_.lists().announce_all();
  }
}

// A modern backend sends list_changed only on a subscriptions/listen
// stream: one per backend process, for the lists it says change.
void Handshake::listen(Backend& backend) {
  json filter = json::object();
  const json& caps = backend.capabilities();
  auto changes = [&caps](const char* kind) {
    auto it = caps.find(kind);
    return it != caps.end() && it->is_object() && it->value("listChanged", false);
  };
  if (changes("tools")) filter["toolsListChanged"] = true;
  if (changes("prompts")) filter["promptsListChanged"] = true;
  if (changes("resources")) filter["resourcesListChanged"] = true;
  Listen& mine = listens_[g_.index_of(backend)];
  if (!mine.uris.empty()) filter["resourceSubscriptions"] = mine.uris;
  // The listen it replaces, on this same process: withdrawn.
  std::string replaced;
  if (!mine.open_id.empty() && mine.serial == backend.serial()) {
    replaced = mine.open_id;
    backend.notify("notifications/cancelled",
                   {{"requestId", replaced}, {"reason", "mcpbraid: subscriptions changed"}});
  }
  mine.open_id.clear();
  if (filter.empty()) return;
  mine.open_id = "mcpbraid-listen-" + std::to_string(next_listen_++);
  mine.serial = backend.serial();
  trace::debug("backend.listen")
      .kv("server", backend.name())
      .kv("id", mine.open_id)
      .kv("replaces", replaced)
      .kv("filter", filter.dump());
  backend.open_stream(mine.open_id, "subscriptions/listen", {{"notifications", filter}});
}

void Handshake::subscribe(Backend& backend, const std::string& uri, bool on) {
  Listen& mine = listens_[g_.index_of(backend)];
  bool changed = on ? mine.uris.insert(uri).second : mine.uris.erase(uri) > 0;
  if (changed && backend.state() == BackendState::ready) listen(backend);
}

void Handshake::send_initialized(Backend& backend) {
  if (backend.modern()) return;  // no handshake to finish
  if (std::find(initialized_sent_.begin(), initialized_sent_.end(), backend.name()) !=
      initialized_sent_.end())
    return;
  initialized_sent_.push_back(backend.name());
  backend.notify("notifications/initialized");
}

bool Handshake::all_answered() const {
  for (const auto& backend : g_.backends())
    if (backend->state() == BackendState::starting && backend->running()) return false;
  return true;
}

void Handshake::when_settled(std::function<void()> fn) {
  if (g_.session().settled() || all_answered()) return fn();
  waiters_.push_back(std::move(fn));
}

void Handshake::run_settle_waiters() {
  bool answered = all_answered();
  if (!(g_.session().settled() || answered)) return;
  if (answered) {
    if (timer_) timer_->cancel();
    g_.session().settle();
  }
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& fn : waiters) fn();
}

void Handshake::release_waiters() {
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& fn : waiters) fn();
}

void Handshake::cancel() {
  if (timer_) timer_->cancel();
}

}  // namespace mcpbraid
