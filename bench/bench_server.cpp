// bench_server.cpp — a fast fixture MCP server for the mcpbraid benchmark.
//
// The benchmark compares a client talking to this server directly with the
// same client talking to it through mcpbraid, so this server must cost as
// little as possible: whatever it spends is added to both sides and hides
// mcpbraid's share.
//
// One thread, one poll() loop: stdin is read in large chunks, every complete
// line is answered into one output buffer, and the buffer goes out with as few
// write() calls as the pipe allows (one write per answer when answers come one
// at a time).  No JSON library on a call's path: see the scanner below.
// `sleep` calls are parked in a min-heap of
// due times, so 10,000 of them can be in flight without a thread each.
//
// Tools: echo {text} -> the text; blob {bytes} -> a text of that many bytes;
// sleep {ms} -> "slept" after ms; touch -> "touched", then
// notifications/tools/list_changed; t0..tN-1 (--tools N) are listed only.

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
  tools.push_back({{"name", "touch"},
                   {"description", "Says its tools changed (notifications/tools/list_changed)."},
                   {"inputSchema", object_schema}});
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
  void handle_call(std::string_view id, std::string_view line);
  void release_due();
  int poll_timeout_ms() const;

  void append_result(std::string_view id, std::string_view result);
  void append_error(std::string_view id, int code, std::string_view message);

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
    // Nothing parked and nothing to write: a plain blocking read, no poll(),
    // so a call costs a read and a write (stdin is a blocking pipe unless the
    // parent shared a non-blocking one, then EAGAIN sends us to poll()).
    if (input_open && parked_.empty() && output_.empty()) {
      ssize_t n = input_.fill(STDIN_FILENO);
      if (n > 0 || (n < 0 && errno == EAGAIN)) {
        while (auto line = input_.next_line()) handle_line(*line);
        if (!output_.write_some(STDOUT_FILENO)) return 0;
        if (n > 0) continue;
      } else {
        input_open = false;  // EOF
        continue;
      }
    }
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

// ------------------------------------------------------------ the scanner
//
// The hot path reads no JSON document: a request's id, method, tool name and
// argument are found by scanning the line for their keys, as a server at the
// floor of what a call can cost would.  The load client and mcpbraid write
// compact JSON; the scanner also skips whitespace around ':'.  Only
// initialize goes through the JSON library (once per connection).

// The value after the first `"key"` followed by ':' at or after `from`;
// empty when absent.  A string value is returned with its quotes, a number or
// literal up to the next ',', '}' or ']'.
std::string_view value_of(std::string_view line, std::string_view key, std::size_t from = 0) {
  std::string quoted;
  quoted.reserve(key.size() + 2);
  quoted.append(1, '"').append(key).append(1, '"');
  for (std::size_t at = line.find(quoted, from); at != std::string_view::npos;
       at = line.find(quoted, at + 1)) {
    std::size_t i = at + quoted.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] != ':') continue;  // the text "key" inside a string
    ++i;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) return {};
    std::size_t begin = i;
    if (line[i] == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i)
        if (line[i] == '\\') ++i;
      return i < line.size() ? line.substr(begin, i + 1 - begin) : std::string_view{};
    }
    while (i < line.size() && line[i] != ',' && line[i] != '}' && line[i] != ']' && line[i] != ' ')
      ++i;
    return line.substr(begin, i - begin);
  }
  return {};
}

// The text of a JSON string token without its quotes (no escapes expected in
// method and tool names).
std::string_view unquoted(std::string_view token) {
  if (token.size() < 2 || token.front() != '"') return {};
  return token.substr(1, token.size() - 2);
}

long number_of(std::string_view token) {
  long value = 0;
  for (char c : token) {
    if (c < '0' || c > '9') break;
    value = value * 10 + (c - '0');
  }
  return value;
}

void Server::handle_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return;
  std::string_view method_token = value_of(line, "method");
  std::string_view id = value_of(line, "id");
  if (line.front() != '{') return append_error("null", -32700, "parse error");
  if (id.empty() || method_token.empty()) return;  // notifications and stray responses
  std::string_view method = unquoted(method_token);

  if (method == "tools/call") return handle_call(id, line);
  if (method == "ping") return append_result(id, "{}");
  if (method == "tools/list") return append_result(id, tools_list_);
  if (method == "initialize") {
    json message = json::parse(line.begin(), line.end(), nullptr, false);
    json params = message.is_object() ? message.value("params", json::object()) : json::object();
    json version = params.value("protocolVersion", json("2025-06-18"));
    json result = {{"protocolVersion", version},
                   {"capabilities", {{"tools", {{"listChanged", true}}}}},
                   {"serverInfo", {{"name", name_}, {"version", "1.0"}}}};
    return append_result(id, result.dump());
  }
  append_error(id, -32601, "method not found");
}

void Server::handle_call(std::string_view id, std::string_view line) {
  std::size_t params = line.find("\"params\"");
  if (params == std::string_view::npos) return append_error(id, -32602, "no params");
  std::string_view tool = unquoted(value_of(line, "name", params));
  if (tool == "echo") {
    std::string_view text = value_of(line, "text", params);
    std::string& out = output_.buffer();
    out += R"({"jsonrpc":"2.0","id":)";
    out += id;
    out += R"(,"result":{"content":[{"type":"text","text":)";
    out += text.empty() ? std::string_view("\"\"") : text;
    out += "}]}}\n";
    return;
  }
  if (tool == "blob") {
    // Written straight into the output buffer: an 8 MiB text is not built twice.
    long bytes = number_of(value_of(line, "bytes", params));
    std::string& out = output_.buffer();
    out += R"({"jsonrpc":"2.0","id":)";
    out += id;
    out += R"(,"result":{"content":[{"type":"text","text":")";
    out.append(static_cast<std::size_t>(bytes > 0 ? bytes : 0), 'x');
    out += "\"}]}}\n";
    return;
  }
  if (tool == "touch") {
    // "The tools changed": the answer, then list_changed (the list itself
    // stays the same; a gateway that caches it must fetch and merge again).
    std::string& out = output_.buffer();
    out += R"({"jsonrpc":"2.0","id":)";
    out += id;
    out += R"(,"result":{"content":[{"type":"text","text":"touched"}]}})";
    out += '\n';
    out += R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed"})";
    out += '\n';
    return;
  }
  if (tool == "sleep") {
    long ms = number_of(value_of(line, "ms", params));
    std::string answer = R"({"jsonrpc":"2.0","id":)";
    answer += id;
    answer += R"(,"result":{"content":[{"type":"text","text":"slept"}]}})";
    answer += '\n';
    parked_.push({Clock::now() + std::chrono::milliseconds(ms), std::move(answer)});
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

void Server::append_result(std::string_view id, std::string_view result) {
  std::string& out = output_.buffer();
  out += R"({"jsonrpc":"2.0","id":)";
  out += id;
  out += R"(,"result":)";
  out += result;
  out += "}\n";
}

void Server::append_error(std::string_view id, int code, std::string_view message) {
  std::string& out = output_.buffer();
  out += R"({"jsonrpc":"2.0","id":)";
  out += id;
  out += R"(,"error":{"code":)";
  out += std::to_string(code);
  out += R"(,"message":)";
  out += json(message).dump();
  out += "}}\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);  // a vanished client shows up as EPIPE on write
  if (options.start_delay_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(options.start_delay_ms));
  return Server(options).run();
}
