#pragma once
// An MCP client of a gateway run in this process, for the one-shot terminal
// commands (`mcpbraid tools`, `mcpbraid call`). The gateway serves one end of
// two pipes and this class speaks MCP on the other, both on one io_context:
// the commands see exactly what an editor sees (names, filters, progress,
// errors), and can still ask the gateway's parts what became of each server.
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "backends/gateway.hpp"
#include "backends/stream.hpp"
#include "core/config.hpp"

namespace mcpbraid::cli {

class GatewayClient {
 public:
  // The whole response message: it has "result" or "error".
  using OnResponse = std::function<void(const json& response)>;
  using OnNotification = std::function<void(const std::string& method, const json& params)>;
  // What tools/list gave, all pages; `error` set (and `tools` partial) when
  // a page failed.
  using OnTools = std::function<void(json tools, std::string error)>;

  // No restarts: a server that exits stays down, as for `health --probe`.
  explicit GatewayClient(Config config);
  ~GatewayClient();
  GatewayClient(const GatewayClient&) = delete;
  GatewayClient& operator=(const GatewayClient&) = delete;

  // Starts the gateway and its servers, runs `begin` on the loop, and
  // returns once the gateway has stopped every server: after close(), or on
  // SIGINT/SIGTERM (then interrupted() is true).
  void run(std::function<void()> begin);
  // Our end closes: the gateway answers what is open, stops its servers and
  // ends the loop.
  void close();
  bool interrupted() const { return interrupted_; }

  void request(const std::string& method, json params, OnResponse done);
  void notify(const std::string& method, json params);
  void set_on_notification(OnNotification fn) { on_notification_ = std::move(fn); }
  // initialize (the latest protocol version, no capabilities), then
  // notifications/initialized when it succeeded.
  void initialize(OnResponse done);
  // tools/list, following nextCursor.
  void list_tools(OnTools done);

  Gateway& gateway() { return *gateway_; }
  asio::io_context& io() { return io_; }
  // The id the next request() gets (for notifications/cancelled).
  std::int64_t next_id() const { return next_id_; }

 private:
  void on_line(std::string& line);
  void on_server_request(const json& message);
  void list_page(std::shared_ptr<json> tools, std::string cursor, OnTools done);

  asio::io_context io_{1};
  int gateway_in_ = -1;   // the gateway reads our requests here
  int gateway_out_ = -1;  // and writes its answers here
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<LineWriter> writer_;
  std::unique_ptr<LineReader> reader_;
  asio::signal_set signals_{io_, SIGINT, SIGTERM};
  std::map<std::int64_t, OnResponse> pending_;
  std::int64_t next_id_ = 1;
  OnNotification on_notification_;
  bool interrupted_ = false;
};

// The first line of `text`, at most `max` bytes (cut on a UTF-8 boundary,
// "…" added when cut).
std::string first_line(const std::string& text, std::size_t max);

}  // namespace mcpbraid::cli
