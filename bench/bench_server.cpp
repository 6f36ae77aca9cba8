// bench_server.cpp — a fast fixture MCP server for the mcpbraid benchmark.
//
// The benchmark compares a client talking to this server directly with the
// same client talking to it through mcpbraid, so this server must cost as
// little as possible: whatever it spends is added to both sides and hides
// mcpbraid's share.
//
// One thread, one poll() loop: stdin is read in large chunks, every complete
// line is answered into one output buffer, and the buffer goes out with as few
// write() calls as the pipe allows.  `sleep` calls are parked in a min-heap of
// due times, so 10,000 of them can be in flight without a thread each.
//
// Tools: echo {text} -> the text; blob {bytes} -> a text of that many bytes;
// sleep {ms} -> "slept" after ms; t0..tN-1 (--tools N) are listed only.

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <queue>
#include <string>
#include <thread>
#include <vector>

#include "line_io.hpp"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: mcpbraid_bench_server [--start-delay-ms N] [--tools N] [--name NAME]\n"
    "  --start-delay-ms N   sleep N ms before reading stdin (a slow-starting server)\n"
    "  --tools N            also list N dummy tools t0..tN-1 (they cannot be called)\n"
    "  --name NAME          serverInfo.name (default bench)\n";

struct Options {
  long start_delay_ms = 0;
  long tools = 0;
  std::string name = "bench";
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--start-delay-ms" && has_value) {
      options.start_delay_ms = std::atol(argv[++i]);
    } else if (arg == "--tools" && has_value) {
      options.tools = std::atol(argv[++i]);
    } else if (arg == "--name" && has_value) {
      options.name = argv[++i];
    } else {
      std::fputs(kUsage, arg == "--help" ? stdout : stderr);
      std::exit(arg == "--help" ? 0 : 2);
    }
  }
  return options;
}

// The tools/list result never changes: render it once, not per request.
std::string render_tools_list(long extra_tools) {
  json object_schema = {{"type", "object"}};
  auto with_property = [&](const char* name, const char* type) {
    json schema = object_schema;
    schema["properties"][name] = {{"type", type}};
    schema["required"] = {name};
    return schema;
  };
  json tools = json::array();
  tools.push_back({{"name", "echo"},
                   {"description", "Returns its text argument."},
                   {"inputSchema", with_property("text", "string")}});
  tools.push_back({{"name", "blob"},
                   {"description", "Returns a text of `bytes` bytes."},
                   {"inputSchema", with_property("bytes", "integer")}});
  tools.push_back({{"name", "sleep"},
                   {"description", "Answers after `ms` milliseconds."},
                   {"inputSchema", with_property("ms", "integer")}});
  for (long i = 0; i < extra_tools; ++i) {
    // Not `"t" + std::to_string(i)`: g++ 12 -O3 reports a false -Wrestrict on it.
    std::string name = std::string("t").append(std::to_string(i));
    tools.push_back({{"name", name},
                     {"description", "Dummy tool " + name + " of the 10,000-tools figure."},
                     {"inputSchema", object_schema}});
  }
  return json{{"tools", std::move(tools)}}.dump();
}

// An answer held back until its due time (tools/call sleep).
struct Parked {
  Clock::time_point due;
  std::string line;
  bool operator>(const Parked& other) const { return due > other.due; }
};

class Server {
 public:
  explicit Server(const Options& options)
      : name_(options.name), tools_list_(render_tools_list(options.tools)) {}

  int run();

 private:
  void handle_line(std::string_view line);
  void handle_call(const std::string& id, const json& params);
  void release_due();
  int poll_timeout_ms() const;

  void append_result(const std::string& id, std::string_view result);
  void append_error(const std::string& id, int code, std::string_view message);
  static std::string text_result(std::string_view json_string);

  std::string name_;
  std::string tools_list_;
  bench::LineBuffer input_;
  bench::OutputQueue output_;
  std::priority_queue<Parked, std::vector<Parked>, std::greater<>> parked_;
};

int Server::run() {
  bench::set_non_blocking(STDOUT_FILENO);
  bool input_open = true;
  while (input_open || !parked_.empty() || !output_.empty()) {
    pollfd fds[2] = {{STDIN_FILENO, static_cast<short>(input_open ? POLLIN : 0), 0},
                     {STDOUT_FILENO, static_cast<short>(output_.empty() ? 0 : POLLOUT), 0}};
    if (::poll(fds, 2, poll_timeout_ms()) < 0 && errno != EINTR) return 1;
    if (fds[0].revents != 0) {
      ssize_t n = input_.fill(STDIN_FILENO);
      if (n <= 0 && !(n < 0 && errno == EAGAIN)) input_open = false;  // EOF: finish parked calls
      while (auto line = input_.next_line()) handle_line(*line);
    }
    release_due();
    if (!output_.write_some(STDOUT_FILENO)) return 0;  // the client went away
  }
  return 0;
}

void Server::handle_line(std::string_view line) {
  json message = json::parse(line.begin(), line.end(), nullptr, false);
  if (message.is_discarded() || !message.is_object()) {
    if (!line.empty()) append_error("null", -32700, "parse error");
    return;
  }
  auto id_it = message.find("id");
  auto method_it = message.find("method");
  if (id_it == message.end() || method_it == message.end() || !method_it->is_string())
    return;  // notifications (initialized, cancelled) and stray responses need no answer
  const std::string id = id_it->dump();
  const std::string& method = method_it->get_ref<const std::string&>();
  json params = message.value("params", json::object());

  if (method == "tools/call") return handle_call(id, params);
  if (method == "ping") return append_result(id, "{}");
  if (method == "tools/list") return append_result(id, tools_list_);
  if (method == "initialize") {
    json version = params.value("protocolVersion", json("2025-06-18"));
    json result = {{"protocolVersion", version},
                   {"capabilities", {{"tools", json::object()}}},
                   {"serverInfo", {{"name", name_}, {"version", "1.0"}}}};
    return append_result(id, result.dump());
  }
  append_error(id, -32601, "method not found");
}

void Server::handle_call(const std::string& id, const json& params) {
  std::string tool = params.value("name", "");
  json arguments = params.value("arguments", json::object());
  if (tool == "echo") {
    return append_result(id, text_result(arguments.value("text", json("")).dump()));
  }
  if (tool == "blob") {
    // Written straight into the output buffer: an 8 MiB text is not built twice.
    long bytes = arguments.value("bytes", 0L);
    std::string& out = output_.buffer();
    out += R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":{"content":[{"type":"text","text":")";
    out.append(static_cast<std::size_t>(bytes > 0 ? bytes : 0), 'x');
    out += "\"}]}}\n";
    return;
  }
  if (tool == "sleep") {
    long ms = arguments.value("ms", 0L);
    std::string line =
        R"({"jsonrpc":"2.0","id":)" + id + R"(,"result":)" + text_result(R"("slept")") + "}\n";
    parked_.push({Clock::now() + std::chrono::milliseconds(ms), std::move(line)});
    return;
  }
  append_error(id, -32602, "unknown tool");
}

// Moves the answers whose time has come to the output.
void Server::release_due() {
  auto now = Clock::now();
  while (!parked_.empty() && parked_.top().due <= now) {
    output_.buffer() += parked_.top().line;
    parked_.pop();
  }
}

// Until the next parked answer is due; -1 (forever) when none is parked.
int Server::poll_timeout_ms() const {
  if (parked_.empty()) return -1;
  auto wait = parked_.top().due - Clock::now();
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms > 0 ? static_cast<int>(ms) : 0;
}

void Server::append_result(const std::string& id, std::string_view result) {
  std::string& out = output_.buffer();
  out += R"({"jsonrpc":"2.0","id":)";
  out += id;
  out += R"(,"result":)";
  out += result;
  out += "}\n";
}

void Server::append_error(const std::string& id, int code, std::string_view message) {
  std::string& out = output_.buffer();
  out += R"({"jsonrpc":"2.0","id":)" + id + R"(,"error":{"code":)" + std::to_string(code) +
         R"(,"message":)" + json(message).dump() + "}}\n";
}

// A CallToolResult with one text item; json_string is already JSON-encoded.
std::string Server::text_result(std::string_view json_string) {
  std::string result = R"({"content":[{"type":"text","text":)";
  result += json_string;
  result += "}]}";
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);  // a vanished client shows up as EPIPE on write
  if (options.start_delay_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(options.start_delay_ms));
  return Server(options).run();
}
