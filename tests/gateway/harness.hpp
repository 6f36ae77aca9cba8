#pragma once
// A test harness for the gateway's logic: the real Gateway and its parts,
// in front of fake transports (no processes), with the client on pipes and
// time on the manual clock. Everything runs on the test's thread: pump()
// polls the io_context until nothing is ready, advance() moves time.
#include <fcntl.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/gateway.hpp"
#include "backends/timer.hpp"
#include "backends/transport.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"

namespace mcpbraid::test {

// One spawn of a fake server: what the backend sent it, and hooks to answer.
struct FakeServer {
  std::string name;
  int spawn = 0;               // 1 for the first start of this server, 2 after a restart...
  std::vector<json> received;  // every line the backend sent, parsed
  TransportEvents events;
  bool running = false;
  bool stopped = false;  // stop() was called
  bool paused = false;
  TimePoint started_at{};

  // What the server says to a request: a result (answered on the next poll)
  // or nullopt (held: answer later with reply()). Default (default_answer):
  // initialize with `capabilities`, tools/list with `tools`, prompts/list
  // with `prompts`, ping {}; everything else held. A custom on_request may
  // hold or change some requests and return default_answer() for the rest.
  std::function<std::optional<json>(FakeServer&, const json& request)> on_request;
  json capabilities = {{"tools", {{"listChanged", true}}}};
  json tools = json::array();
  json prompts = json::array();  // listed only if `capabilities` has "prompts"

  std::optional<json> default_answer(const json& request) const {
    std::string method = request.value("method", "");
    if (method == "initialize")
      return json{{"protocolVersion", "2025-11-25"},
                  {"capabilities", capabilities},
                  {"serverInfo", {{"name", name}, {"version", "1"}}}};
    if (method == "tools/list") return json{{"tools", tools}};
    if (method == "prompts/list") return json{{"prompts", prompts}};
    if (method == "ping") return json::object();
    return std::nullopt;
  }

  // Requests received with this method, in order.
  std::vector<json> requests(const std::string& method) const {
    std::vector<json> out;
    for (const auto& m : received)
      if (m.contains("id") && m.value("method", "") == method) out.push_back(m);
    return out;
  }
  std::vector<json> notifications(const std::string& method) const {
    std::vector<json> out;
    for (const auto& m : received)
      if (!m.contains("id") && m.value("method", "") == method) out.push_back(m);
    return out;
  }
  // Sends one line to the backend now (as if it came from the server).
  void say(const json& message) {
    std::string line = message.dump();
    if (events.on_line) events.on_line(line);
  }
  void reply(const json& id, json result) {
    say({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  }
  void reply_error(const json& id, int code, const std::string& message) {
    say({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
  }
  // The server goes away (a crash): the backend hears how it ended.
  void exit(const std::string& reason = "exited with status 1") {
    running = false;
    if (events.on_closed) events.on_closed(reason);
  }
};

// Every fake server of one test, by name, every spawn kept.
class FakeWorld {
 public:
  explicit FakeWorld(asio::io_context& io) : io_(io) {}

  // Called for each new spawn before it starts: set tools, handlers.
  std::function<void(FakeServer&)> configure;
  // Servers whose start fails ("spawn failed").
  std::vector<std::string> fail_start;

  TransportFactory factory();
  FakeServer& server(const std::string& name, int spawn = -1) {
    auto& all = spawns_.at(name);
    return *all.at(spawn < 0 ? all.size() - 1 : static_cast<std::size_t>(spawn - 1));
  }
  int spawns(const std::string& name) const {
    auto it = spawns_.find(name);
    return it == spawns_.end() ? 0 : static_cast<int>(it->second.size());
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context& io_;
  std::map<std::string, std::vector<std::shared_ptr<FakeServer>>> spawns_;
  friend class FakeTransport;
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(FakeWorld& world, std::shared_ptr<FakeServer> server)
      : world_(world), server_(std::move(server)) {}
  bool start(std::string* error) override {
    for (const auto& name : world_.fail_start)
      if (name == server_->name) {
        *error = "fake: cannot start " + name;
        return false;
      }
    server_->running = true;
    server_->started_at = Clock::now();
    return true;
  }
  void send(std::string line) override {
    if (!server_->running) return;
    json message = json::parse(line);
    server_->received.push_back(message);
    if (!message.contains("id") || !message.contains("method")) return;
    std::optional<json> result = server_->on_request ? server_->on_request(*server_, message)
                                                     : server_->default_answer(message);
    if (!result) return;
    // Answers come on a later poll, as from a real pipe: never inside send().
    std::weak_ptr<FakeServer> weak = server_;
    asio::post(world_.io(), [weak, id = message["id"], result = std::move(*result)]() mutable {
      auto server = weak.lock();
      if (server && server->running) server->reply(id, std::move(result));
    });
  }
  bool running() const override { return server_->running; }
  void pause() override { server_->paused = true; }
  void resume() override { server_->paused = false; }
  void stop(std::function<void()> on_stopped) override {
    server_->running = false;
    server_->stopped = true;
    if (on_stopped) asio::post(world_.io(), std::move(on_stopped));
  }
  TimePoint started_at() const override { return server_->started_at; }
  std::optional<std::string> exit_description() const override {
    if (server_->running) return std::nullopt;
    return std::string("stopped");
  }

 private:
  FakeWorld& world_;
  std::shared_ptr<FakeServer> server_;
};

inline TransportFactory FakeWorld::factory() {
  return [this](const ServerConfig& config, TransportEvents events) -> std::unique_ptr<Transport> {
    auto server = std::make_shared<FakeServer>();
    server->name = config.name;
    server->events = std::move(events);
    auto& all = spawns_[config.name];
    server->spawn = static_cast<int>(all.size()) + 1;
    if (configure) configure(*server);
    all.push_back(server);
    return std::make_unique<FakeTransport>(*this, server);
  };
}

// A tool definition for FakeServer::tools.
inline json tool(const std::string& name, bool read_only = false) {
  json t{{"name", name}, {"inputSchema", {{"type", "object"}}}};
  if (read_only) t["annotations"] = {{"readOnlyHint", true}};
  return t;
}

// The text of a tools/call answer's first content item ("" when there is none).
inline std::string tool_text(const json& answer) {
  const json& result = answer.value("result", json::object());
  const json& content = result.value("content", json::array());
  if (!content.is_array() || content.empty()) return "";
  return content[0].value("text", "");
}

// The gateway on a config (the JSON text of a config file; each server
// needs a "command", which is never run), its client on two pipes.
class Harness {
 public:
  explicit Harness(const std::string& config_text,
                   std::function<void(FakeServer&)> configure = nullptr)
      : world_(io_) {
    Clock::set_manual();
    world_.configure = std::move(configure);
    if (::pipe2(to_gateway_, O_CLOEXEC) != 0 || ::pipe2(from_gateway_, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    ::fcntl(from_gateway_[0], F_SETFL, O_NONBLOCK);
    Config config = parse_config_text(config_text, "test.json");
    gateway_ = std::make_unique<Gateway>(io_, std::move(config),
                                         GatewayOptions{world_.factory(), /*seed=*/1, true});
    gateway_->start(to_gateway_[0], from_gateway_[1]);
    pump();
  }
  ~Harness() {
    gateway_.reset();
    ::close(to_gateway_[1]);
    ::close(from_gateway_[0]);
    Clock::set_real();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  Gateway& gateway() { return *gateway_; }
  FakeWorld& world() { return world_; }
  FakeServer& server(const std::string& name, int spawn = -1) { return world_.server(name, spawn); }

  // Runs every handler that is ready (the client's lines, fake answers,
  // due timers) until nothing is left to do now.
  void pump() {
    auto since = std::chrono::steady_clock::now();
    for (int idle = 0, rounds = 0; (idle < 3 || *kick_pending_) && rounds < 100000; ++rounds) {
      if (io_.stopped()) break;
      idle = io_.poll() > 0 ? 0 : idle + 1;
      if (*kick_pending_) {
        // The timerfd fires a moment after it is armed: poll until it has.
        rounds = 0;
        if (std::chrono::steady_clock::now() - since > std::chrono::seconds(5))
          throw std::runtime_error("harness: the reactor never checked its timers");
      }
    }
    drain_output();
  }
  // Moves the manual clock, in steps of at most `step`, pumping after each.
  void advance(Milliseconds by, Milliseconds step = Milliseconds(5)) {
    while (by.count() > 0) {
      Milliseconds d = std::min(by, step);
      Clock::advance(d);
      by -= d;
      kick_timers();
      pump();
    }
  }
  // Makes the reactor look at its timer queue; pump() waits until it has.
  // The build's ASIO_DISABLE_TIMERFD is not known to every Asio (1.22.1 has
  // no such switch): with a timerfd, the reactor checks timers only when the
  // timerfd fires, and it was armed for the real time left, so time moved by
  // hand would go unseen. A timer due long ago is the earliest: scheduling it
  // re-arms the timerfd to fire at once, and that check runs every timer due
  // by Clock::now() along with it. Without a timerfd it fires on the next poll.
  void kick_timers() {
    auto kick = std::make_shared<Timer>(io_);
    *kick_pending_ = true;
    kick->expires_at(TimePoint{});
    kick->async_wait([kick, pending = kick_pending_](asio::error_code) { *pending = false; });
  }
  // Moves the clock in steps of `step` until done() holds (checked before
  // each step), at most `limit`: the time it took. To find when something
  // happens (a retry, a restart) to the millisecond.
  Milliseconds advance_until(const std::function<bool()>& done, Milliseconds limit,
                             Milliseconds step = Milliseconds(1)) {
    Milliseconds taken(0);
    while (!done() && taken < limit) {
      advance(step, step);
      taken += step;
    }
    return taken;
  }
  // A line from the client.
  void send(const json& message) { send_line(message.dump()); }
  void send_line(const std::string& line) {
    std::string data = line + "\n";
    if (::write(to_gateway_[1], data.data(), data.size()) != static_cast<ssize_t>(data.size()))
      throw std::runtime_error("write to the gateway failed");
    pump();
  }
  void request(const json& id, const std::string& method, json params = json::object()) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  }
  void notify(const std::string& method, json params = json::object()) {
    send({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
  }
  // The client's handshake: initialize (answered once backends settle) and initialized.
  json initialize(json capabilities = json::object()) {
    request("init", "initialize",
            {{"protocolVersion", "2025-11-25"},
             {"capabilities", std::move(capabilities)},
             {"clientInfo", {{"name", "harness"}, {"version", "1"}}}});
    auto answer = take_answer("init");
    notify("notifications/initialized");
    return answer ? *answer : json();
  }
  // The client closes stdin.
  void close_input() {
    ::close(to_gateway_[1]);
    to_gateway_[1] = -1;
    pump();
  }
  bool stopped() const { return io_.stopped(); }

  // Everything the client received, in order (consumed).
  std::vector<json> take_all() {
    drain_output();
    std::vector<json> out(received_.begin(), received_.end());
    received_.clear();
    return out;
  }
  // The answer to request `id`, removed from what was received; nullopt if none yet.
  std::optional<json> take_answer(const json& id) {
    drain_output();
    for (auto it = received_.begin(); it != received_.end(); ++it)
      if (it->contains("id") && (*it)["id"] == id && !it->contains("method")) {
        json found = std::move(*it);
        received_.erase(it);
        return found;
      }
    return std::nullopt;
  }
  // Notifications (or requests) from the gateway with this method (consumed).
  std::vector<json> take_method(const std::string& method) {
    drain_output();
    std::vector<json> out;
    for (auto it = received_.begin(); it != received_.end();) {
      if (it->value("method", "") == method) {
        out.push_back(std::move(*it));
        it = received_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

 private:
  void drain_output() {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::read(from_gateway_[0], buffer, sizeof buffer);
      if (n <= 0) break;
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
    for (std::size_t nl; (nl = pending_.find('\n')) != std::string::npos;) {
      received_.push_back(json::parse(pending_.substr(0, nl)));
      pending_.erase(0, nl + 1);
    }
  }

  asio::io_context io_;
  FakeWorld world_;
  int to_gateway_[2] = {-1, -1};
  int from_gateway_[2] = {-1, -1};
  std::unique_ptr<Gateway> gateway_;
  std::shared_ptr<bool> kick_pending_ = std::make_shared<bool>(false);
  std::string pending_;
  std::deque<json> received_;
};

}  // namespace mcpbraid::test
