#include "cli/gateway_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/session.hpp"
#include "core/trace.hpp"
#include "core/utf8.hpp"

namespace mcpbraid::cli {

namespace {

struct Pipe {
  int read = -1;
  int write = -1;
};

// Close-on-exec: a server the gateway spawns must not hold our ends, or
// neither side would ever see end of input.
Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  return {fds[0], fds[1]};
}

}  // namespace

GatewayClient::GatewayClient(Config config) {
  Pipe requests = make_pipe();
  Pipe answers = make_pipe();
  gateway_in_ = requests.read;
  gateway_out_ = answers.write;
  gateway_ = std::make_unique<Gateway>(io_, std::move(config), GatewayOptions{{}, 0, false});
  writer_ = std::make_unique<LineWriter>(io_, requests.write);
  reader_ = std::make_unique<LineReader>(
      io_, answers.read, [this](std::string& line) { on_line(line); }, [] {},
      gateway_->config().max_line);
}

GatewayClient::~GatewayClient() {
  // Once run() started the gateway, its client channel owns these.
  if (gateway_in_ >= 0) ::close(gateway_in_);
  if (gateway_out_ >= 0) ::close(gateway_out_);
}

void GatewayClient::run(std::function<void()> begin) {
  ::signal(SIGPIPE, SIG_IGN);  // a server that goes away: EPIPE, not death
  // The gateway stops itself on these (its own signal set); we only note
  // that the user asked for it.
  signals_.async_wait([this](asio::error_code ec, int) {
    if (!ec) interrupted_ = true;
  });
  reader_->start();
  asio::post(io_, std::move(begin));
  int in = gateway_in_, out = gateway_out_;
  gateway_in_ = gateway_out_ = -1;
  gateway_->run(in, out);
  signals_.cancel();
}

void GatewayClient::close() {
  // LineWriter::close drops what is queued: the last request (a
  // notifications/cancelled) must go out first.
  if (writer_->idle() || writer_->broken()) return writer_->close();
  writer_->set_on_written([this] {
    if (writer_->idle() || writer_->broken()) writer_->close();
  });
}

void GatewayClient::request(const std::string& method, json params, OnResponse done) {
  std::int64_t id = next_id_++;
  pending_.emplace(id, std::move(done));
  writer_->send(rpc::to_line(rpc::make_request(id, method, std::move(params))));
}

void GatewayClient::notify(const std::string& method, json params) {
  writer_->send(rpc::to_line(rpc::make_notification(method, std::move(params))));
}

void GatewayClient::initialize(OnResponse done) {
  json params = {{"protocolVersion", kLatestProtocolVersion},
                 {"capabilities", json::object()},
                 {"clientInfo", {{"name", "mcpbraid-cli"}, {"version", MCPBRAID_VERSION}}}};
  request("initialize", std::move(params), [this, done = std::move(done)](const json& response) {
    if (response.contains("result")) notify("notifications/initialized", json::object());
    done(response);
  });
}

void GatewayClient::list_tools(OnTools done) {
  list_page(std::make_shared<json>(json::array()), "", std::move(done));
}

void GatewayClient::list_page(std::shared_ptr<json> tools, std::string cursor, OnTools done) {
  json params = json::object();
  if (!cursor.empty()) params["cursor"] = cursor;
  request("tools/list", std::move(params),
          [this, tools, done = std::move(done)](const json& response) {
            const json* result = response.contains("result") ? &response["result"] : nullptr;
            if (!result || !result->is_object()) {
              std::string error =
                  response.value("/error/message"_json_pointer, std::string("tools/list failed"));
              return done(std::move(*tools), error);
            }
            if (auto it = result->find("tools"); it != result->end() && it->is_array())
              for (const json& tool : *it) tools->push_back(tool);
            auto next = result->find("nextCursor");
            if (next != result->end() && next->is_string() && !next->get<std::string>().empty())
              return list_page(tools, next->get<std::string>(), done);
            done(std::move(*tools), "");
          });
}

void GatewayClient::on_line(std::string& line) {
  json message = json::parse(line, nullptr, false);
  if (!message.is_object()) {
    trace::warn("client.bad_line").kv("line", first_line(line, 200));
    return;
  }
  auto method = message.find("method");
  if (method != message.end() && method->is_string()) {
    if (message.contains("id")) return on_server_request(message);
    if (on_notification_)
      on_notification_(method->get<std::string>(), message.value("params", json::object()));
    return;
  }
  auto id = message.find("id");
  if (id == message.end() || !id->is_number_integer()) return;
  auto it = pending_.find(id->get<std::int64_t>());
  if (it == pending_.end()) return;
  OnResponse done = std::move(it->second);
  pending_.erase(it);
  done(message);
}

// What a server asks the client. We declare no capabilities, so the gateway
// itself refuses roots, sampling and elicitation; what still comes gets an
// honest answer: ping, roots/list (none), the rest not supported.
void GatewayClient::on_server_request(const json& message) {
  const json& id = message["id"];
  std::string method = message["method"].get<std::string>();
  json answer;
  if (method == "ping")
    answer = rpc::make_result(id, json::object());
  else if (method == "roots/list")
    answer = rpc::make_result(id, {{"roots", json::array()}});
  else
    answer = rpc::make_error(id, rpc::kMethodNotFound,
                             "mcpbraid (command line): " + method + " is not supported");
  writer_->send(rpc::to_line(answer));
}

std::string first_line(const std::string& text, std::size_t max) {
  std::string line = text.substr(0, text.find_first_of("\r\n"));
  if (line.size() <= max) return line;
  return line.substr(0, utf8_cut(line, max)) + "…";
}

}  // namespace mcpbraid::cli
