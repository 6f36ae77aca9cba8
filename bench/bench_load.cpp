// bench_load.cpp — the load client of the mcpbraid benchmark.
//
// Spawns the command given after `--` (mcpbraid, or the bench server itself for
// the direct baseline), speaks MCP over the child's stdin/stdout, runs one
// scenario and prints its figures as one JSON line on stdout.
//
// The client shares the machine with what it measures, so its hot paths stay
// cheap: requests are rendered from a template, and answers are not parsed
// into a DOM; only their top-level fields are located (an 8 MiB text is
// skipped with memchr).  All pipe I/O goes through one poll() pump, so the
// client never blocks writing while the child blocks writing to it.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "line_io.hpp"

extern char** environ;

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// ------------------------------------------------------------------ options

constexpr const char* kUsage = R"(usage: mcpbraid_bench_load SCENARIO [options] -- COMMAND [ARGS...]

Spawns COMMAND, initializes an MCP session over its stdin/stdout, runs SCENARIO
and prints one JSON line of results.

scenarios:
  latency        sequential tools/call echo: p50/p99 round trip (--calls, default 20000)
  throughput     pipelined echo calls (--calls 100000, --inflight 64): calls/s; one new
                 request written per answer read, as an editor's client does
  throughput-batched  the same, but all answers available are read before the window is
                 refilled in one write (both ends amortize wake-ups: a kinder figure)
  payload        sequential blob calls (--bytes 8388608, --calls 20): MB/s of answers
  startup        spawn until tools/list has --expect-tools tools (polled every 20 ms)
  idle-rss       VmRSS of COMMAND after the handshake and --settle-ms (default 1000)
  list           median time of one tools/list (--calls 9 after a warm-up)
  list-changed   the same, each list the first after the tools changed: `touch` (a tool of
                 the bench server, --prefix applies) sends list_changed; once the client
                 sees it, the next tools/list is timed (a gateway fetches and merges again)
  inflight-mem   VmRSS of COMMAND with --inflight (10000) sleep calls of --sleep-ms (3000)

options:
  --prefix P         tool name prefix: "bench__" through mcpbraid, "" directly (default)
  --expect-tools N   startup, list: the tool count tools/list must show
  --count-only S     startup, list: count only tools whose name contains S ("__" through
                     mcpbraid: its own tools, if any, are then not counted)
  --child-stderr F   COMMAND's stderr (default /dev/null)
  --timeout-ms N     give up after N ms in all (default 300000)
)";

struct Options {
  std::string scenario;
  long calls = -1;  // -1: the scenario's default
  long inflight = -1;
  long bytes = 8 * 1024 * 1024;
  long sleep_ms = 3000;
  long expect_tools = 0;
  long settle_ms = 1000;
  std::string prefix;
  std::string count_only;
  std::string child_stderr = "/dev/null";
  long timeout_ms = 300000;
  std::vector<std::string> command;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "mcpbraid_bench_load: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

long number_option(const std::string& name, const char* text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc() || *end != '\0' || value < 0) usage_error(name + ": not a count: " + text);
  return value;
}

void apply_defaults(Options& o) {
  static const std::map<std::string, long> default_calls = {{"latency", 20000},
                                                            {"throughput", 100000},
                                                            {"throughput-batched", 100000},
                                                            {"payload", 20},
                                                            {"list", 9}};
  auto it = default_calls.find(o.scenario);
  if (o.calls < 0) o.calls = it != default_calls.end() ? it->second : 0;
  if (o.inflight < 0) o.inflight = o.scenario == "inflight-mem" ? 10000 : 64;
}

Options parse_options(int argc, char** argv) {
  Options o;
  const std::map<std::string, long*> counts = {{"--calls", &o.calls},
                                               {"--inflight", &o.inflight},
                                               {"--bytes", &o.bytes},
                                               {"--sleep-ms", &o.sleep_ms},
                                               {"--expect-tools", &o.expect_tools},
                                               {"--settle-ms", &o.settle_ms},
                                               {"--timeout-ms", &o.timeout_ms}};
  const std::map<std::string, std::string*> strings = {{"--prefix", &o.prefix},
                                                       {"--count-only", &o.count_only},
                                                       {"--child-stderr", &o.child_stderr}};
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    bool has_value = i + 1 < argc;
    if (auto c = counts.find(arg); c != counts.end() && has_value) {
      *c->second = number_option(arg, argv[++i]);
    } else if (auto s = strings.find(arg); s != strings.end() && has_value) {
      *s->second = argv[++i];
    } else if (arg[0] != '-' && o.scenario.empty()) {
      o.scenario = arg;
    } else {
      usage_error("unexpected argument: " + arg);
    }
  }
  for (++i; i < argc; ++i) o.command.emplace_back(argv[i]);
  if (o.scenario.empty()) usage_error("no scenario");
  if (o.command.empty()) usage_error("no command after --");
  apply_defaults(o);
  return o;
}

// ------------------------------------------------------------ the child

Clock::time_point g_deadline;

// The spawned command with a pipe on its stdin and one on its stdout.
class Peer {
 public:
  Peer(const std::vector<std::string>& command, const std::string& stderr_path) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    // This process ignores SIGPIPE, and an ignored signal survives exec.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    for (const auto& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int rc = ::posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_child_ = to_child[1];
    from_child_ = from_child[0];
    if (rc != 0) {
      ::close(to_child_);
      ::close(from_child_);
      throw std::runtime_error("cannot run " + command[0] + ": " + std::strerror(rc));
    }
    bench::set_non_blocking(to_child_);
    bench::set_non_blocking(from_child_);
  }

  ~Peer() { stop(); }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  pid_t pid() const { return pid_; }

  void send(std::string_view line) {
    std::string& out = output_.buffer();
    out += line;
    out += '\n';
  }

  // Writes what the pipe takes now; the rest goes out while waiting for input.
  void flush() {
    if (!output_.write_some(to_child_)) throw std::runtime_error("the child closed its stdin");
  }

  // The next line, waiting for it if none is buffered; valid until the next
  // call.  Throws when the child closes its stdout or the deadline passes.
  std::string_view next_line() {
    for (;;) {
      if (auto line = input_.next_line()) return *line;
      pump(g_deadline);
    }
  }

  // A line already received, without waiting.
  std::optional<std::string_view> buffered_line() { return input_.next_line(); }

  // Waits until input arrives or `until` passes; false on timeout.
  bool wait_input(Clock::time_point until) { return pump(std::min(until, g_deadline)); }

  // Closes the child's stdin (the MCP way to say goodbye) and reaps it; kills
  // it if it takes longer than mcpbraid's own shutdown ladder should.
  void stop() {
    if (pid_ <= 0) return;
    ::close(to_child_);
    ::close(from_child_);
    auto give_up = Clock::now() + 10s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > give_up) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
  }

 private:
  // One poll() round: writes pending output, reads available input.
  // Returns true when input was read, false on timeout.
  bool pump(Clock::time_point until) {
    flush();
    auto now = Clock::now();
    if (now >= g_deadline) throw std::runtime_error("timed out");
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
    pollfd fds[2] = {{from_child_, POLLIN, 0},
                     {to_child_, static_cast<short>(output_.empty() ? 0 : POLLOUT), 0}};
    int ready = ::poll(fds, 2, static_cast<int>(std::max<long>(wait, 0)));
    if (ready < 0 && errno != EINTR) throw std::runtime_error("poll failed");
    if (ready <= 0 || fds[0].revents == 0) return false;
    ssize_t n = input_.fill(from_child_);
    if (n == 0) throw std::runtime_error("the child closed its stdout (exited?)");
    if (n < 0 && errno != EAGAIN) throw std::runtime_error("read failed");
    return n > 0;
  }

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  bench::LineBuffer input_;
  bench::OutputQueue output_;
};

// ------------------------------------------------------- reading answers

// The top-level fields of a JSON-RPC message, located without a DOM.
struct Envelope {
  std::optional<long long> id;  // integer ids only: this client sends no others
  std::string_view method;      // requests and notifications
  std::string_view result;      // raw JSON
  bool error = false;           // a JSON-RPC error response
  std::size_t bytes = 0;        // the line with its newline
};

// Walks one JSON text; strings are skipped with memchr, so a long text costs
// a memory scan, not a character loop.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool envelope(Envelope& out) {
    skip_space();
    if (!consume('{')) return false;
    skip_space();
    if (consume('}')) return true;
    do {
      std::string_view key;
      skip_space();
      if (!string(&key)) return false;
      skip_space();
      if (!consume(':')) return false;
      skip_space();
      const char* start = p_;
      if (!value()) return false;
      record(out, key, std::string_view(start, static_cast<std::size_t>(p_ - start)));
      skip_space();
    } while (consume(','));
    return consume('}');
  }

 private:
  static void record(Envelope& out, std::string_view key, std::string_view raw) {
    if (key == "id") {
      long long id = 0;
      auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
      if (ec == std::errc() && end == raw.data() + raw.size()) out.id = id;
    } else if (key == "method" && raw.size() >= 2) {
      out.method = raw.substr(1, raw.size() - 2);
    } else if (key == "result") {
      out.result = raw;
    } else if (key == "error") {
      out.error = true;
    }
  }

  bool consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }

  bool string(std::string_view* out) {
    if (!consume('"')) return false;
    const char* start = p_;
    for (;;) {
      auto* quote = static_cast<const char*>(std::memchr(p_, '"', end_ - p_));
      if (quote == nullptr) return false;
      const char* escapes = quote;
      while (escapes > start && escapes[-1] == '\\') --escapes;
      p_ = quote + 1;
      if ((quote - escapes) % 2 == 0) {  // not itself escaped
        if (out) *out = std::string_view(start, static_cast<std::size_t>(quote - start));
        return true;
      }
    }
  }

  bool value() {
    if (p_ == end_) return false;
    if (*p_ == '"') return string(nullptr);
    if (*p_ == '{' || *p_ == '[') return container();
    while (p_ != end_ && std::strchr(",}] \t\r\n", *p_) == nullptr) ++p_;  // a scalar
    return true;
  }

  bool container() {
    int depth = 0;
    while (p_ != end_) {
      if (*p_ == '"') {
        if (!string(nullptr)) return false;
        continue;
      }
      char c = *p_++;
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) return true;
    }
    return false;
  }

  const char* p_;
  const char* end_;
};

// A tools/call that failed: a JSON-RPC error, or a result with isError (how
// mcpbraid refuses a call).  Refusals are short, so long results (an 8 MiB
// blob) are not searched.
bool failed(const Envelope& e) {
  constexpr std::size_t kShortResult = 64 * 1024;
  if (e.error || e.result.empty()) return true;
  return e.result.size() <= kShortResult && e.result.find(R"("isError":true)") != e.result.npos;
}

// A tools/call request with everything but the id rendered once.
class CallTemplate {
 public:
  CallTemplate(const std::string& tool, const json& arguments)
      : tail_(R"(,"method":"tools/call","params":)" +
              json{{"name", tool}, {"arguments", arguments}}.dump() + "}") {}

  std::string_view render(long long id) {
    line_.assign(R"({"jsonrpc":"2.0","id":)");
    line_ += std::to_string(id);
    line_ += tail_;
    return line_;
  }

 private:
  std::string tail_;
  std::string line_;  // reused: no allocation per call
};

// ------------------------------------------------------------ the session

// An MCP client session over a Peer: ids, handshake, requests from the other
// side (answered), notifications (tools/list_changed remembered).
class Client {
 public:
  Client(Peer& peer, std::string prefix) : peer_(peer), prefix_(std::move(prefix)) {}

  Peer& peer() { return peer_; }
  long long next_id() { return next_id_++; }
  CallTemplate call(const std::string& tool, const json& arguments) const {
    return CallTemplate(prefix_ + tool, arguments);
  }

  // Sends one request and returns its answer's line (valid until the next read).
  std::string_view request(const std::string& method, const json& params) {
    long long id = next_id();
    peer_.send(json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump());
    peer_.flush();
    return await(id);
  }

  void notify(const std::string& method) {
    peer_.send(json{{"jsonrpc", "2.0"}, {"method", method}}.dump());
    peer_.flush();
  }

  // The next answer to one of our requests; nullopt if `wait` is false and
  // none is buffered.  Requests and notifications on the way are handled.
  std::optional<Envelope> next_response(bool wait) {
    for (;;) {
      std::optional<std::string_view> line =
          wait ? std::optional(peer_.next_line()) : peer_.buffered_line();
      if (!line) return std::nullopt;
      Envelope e;
      e.bytes = line->size() + 1;
      if (!Scanner(*line).envelope(e)) throw std::runtime_error("unreadable line from the child");
      if (e.method.empty()) return e;
      handle_incoming(e);
    }
  }

  // The answer to request `id` (valid until the next read); requests and
  // notifications on the way are handled, other answers dropped.
  std::string_view await(long long id) {
    for (;;) {
      std::string_view line = peer_.next_line();
      Envelope e;
      if (!Scanner(line).envelope(e)) throw std::runtime_error("unreadable line from the child");
      if (!e.method.empty())
        handle_incoming(e);
      else if (e.id == id)
        return line;
    }
  }

  // Handles what arrives until `until`; with `or_list_changed`, returns as
  // soon as a notifications/tools/list_changed has come (since the last
  // take_tools_changed()).
  void idle_until(Clock::time_point until, bool or_list_changed = false) {
    drain_buffered();  // what came with the last answer (a list_changed after it)
    while (Clock::now() < until && !(or_list_changed && tools_changed_)) {
      if (peer_.wait_input(until)) drain_buffered();
    }
  }

  // True once since the last call if a notifications/tools/list_changed came.
  bool take_tools_changed() { return std::exchange(tools_changed_, false); }

 private:
  // Answers nobody waits for are dropped (none are expected while idle).
  void drain_buffered() {
    while (next_response(false)) {
    }
  }

  void handle_incoming(const Envelope& e) {
    if (e.method == "notifications/tools/list_changed") tools_changed_ = true;
    if (!e.id) return;  // a notification
    json answer = {{"jsonrpc", "2.0"}, {"id", *e.id}};
    if (e.method == "ping")
      answer["result"] = json::object();
    else
      answer["error"] = {{"code", -32601}, {"message", "not supported by the bench client"}};
    peer_.send(answer.dump());
    peer_.flush();
  }

  Peer& peer_;
  std::string prefix_;
  long long next_id_ = 1;
  bool tools_changed_ = false;
};

// --------------------------------------------------------------- helpers

double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}
double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

double round1(double v) {
  return std::round(v * 10) / 10;
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return percentile(samples, 0.5);
}

// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM); 0 if absent.
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return 0;
}

// On-CPU time of a process, all its threads, from the scheduler's own
// accounting (ns resolution, unlike the 10 ms ticks of /proc/<pid>/stat).
// Unlike wall time, it hardly moves when something else runs on the machine.
std::chrono::nanoseconds cpu_time(pid_t pid) {
  std::chrono::nanoseconds total{0};
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    long long ns = 0;
    std::ifstream(task.path() / "schedstat") >> ns;
    total += std::chrono::nanoseconds(ns);
  }
  return total;
}

// CPU µs per call the spawned process spent since `since` (its cpu_time()).
double cpu_us_per_call(pid_t pid, std::chrono::nanoseconds since, long calls) {
  if (calls <= 0) return 0;
  return round1(micros(cpu_time(pid) - since) / static_cast<double>(calls));
}

json initialize(Client& client) {
  json params = {{"protocolVersion", "2025-06-18"},
                 {"capabilities", json::object()},
                 {"clientInfo", {{"name", "mcpbraid_bench_load"}, {"version", "1.0"}}}};
  std::string_view answer = client.request("initialize", params);
  Envelope e;
  Scanner(answer).envelope(e);
  if (e.error) throw std::runtime_error("initialize failed: " + std::string(answer));
  client.notify("notifications/initialized");
  return json::parse(e.result);
}

// One tools/list: how long it took, the answer's size, and the number of
// tools whose name contains `count_only` (all tools when it is empty).
struct ToolsList {
  std::size_t tools = 0;
  std::size_t bytes = 0;
  Clock::duration took{};
};

ToolsList list_tools(Client& client, const std::string& count_only = {}) {
  auto start = Clock::now();
  std::string_view answer = client.request("tools/list", json::object());
  ToolsList list;
  list.took = Clock::now() - start;  // before parsing: the client's own cost is not the figure
  list.bytes = answer.size() + 1;
  json message = json::parse(answer);
  if (!message.contains("result")) throw std::runtime_error("tools/list failed");
  for (const json& tool : message["result"]["tools"])
    list.tools += tool.value("name", "").find(count_only) != std::string::npos;
  return list;
}

// Keeps `inflight` calls outstanding until `count` are answered; returns the
// number of failed calls.
// Keeps `inflight` calls in flight.  By default one new request is written
// (one write()) for each answer read, as an editor's client does; `batched`
// instead reads every answer available and then refills the window in one
// write, which lets both ends amortize their wake-ups over many calls.
long pipelined(Client& client, CallTemplate& call, long count, long inflight, bool batched) {
  long sent = 0, done = 0, failures = 0;
  Peer& peer = client.peer();
  if (!batched) {
    for (; sent < count && sent < inflight; ++sent) peer.send(call.render(client.next_id()));
    peer.flush();
    while (done < count) {
      failures += failed(*client.next_response(true));
      ++done;
      if (sent < count) {
        peer.send(call.render(client.next_id()));
        peer.flush();
        ++sent;
      }
    }
    return failures;
  }
  while (done < count) {
    for (; sent < count && sent - done < inflight; ++sent) peer.send(call.render(client.next_id()));
    peer.flush();
    for (auto e = client.next_response(true); e; e = client.next_response(false)) {
      failures += failed(*e);
      ++done;
    }
  }
  return failures;
}

// -------------------------------------------------------------- scenarios

json latency(Client& client, const Options& o) {
  CallTemplate echo = client.call("echo", {{"text", "hello, benchmark"}});
  long failures = 0;
  auto call_once = [&] {
    client.peer().send(echo.render(client.next_id()));
    client.peer().flush();
    failures += failed(*client.next_response(true));
  };
  for (long i = 0; i < std::min(1000L, o.calls / 10); ++i) call_once();  // warm-up
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(o.calls));
  auto cpu_before = cpu_time(client.peer().pid());
  for (long i = 0; i < o.calls; ++i) {
    auto start = Clock::now();
    call_once();
    samples.push_back(micros(Clock::now() - start));
  }
  double cpu_us = cpu_us_per_call(client.peer().pid(), cpu_before, o.calls);
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double s : samples) sum += s;
  return {{"calls", o.calls},
          {"p50_us", round1(percentile(samples, 0.50))},
          {"p99_us", round1(percentile(samples, 0.99))},
          {"mean_us", round1(samples.empty() ? 0 : sum / static_cast<double>(samples.size()))},
          {"min_us", round1(samples.empty() ? 0 : samples.front())},
          {"cpu_us_per_call", cpu_us},
          {"errors", failures}};
}

json throughput(Client& client, const Options& o) {
  CallTemplate echo = client.call("echo", {{"text", "hello, benchmark"}});
  bool batched = o.scenario == "throughput-batched";
  long failures =
      pipelined(client, echo, std::min(2000L, o.calls / 10), o.inflight, batched);  // warm-up
  auto cpu_before = cpu_time(client.peer().pid());
  auto start = Clock::now();
  failures += pipelined(client, echo, o.calls, o.inflight, batched);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {{"calls", o.calls},
          {"inflight", o.inflight},
          {"calls_per_s", std::round(static_cast<double>(o.calls) / seconds)},
          {"cpu_us_per_call", cpu_us_per_call(client.peer().pid(), cpu_before, o.calls)},
          {"errors", failures}};
}

json payload(Client& client, const Options& o) {
  CallTemplate blob = client.call("blob", {{"bytes", o.bytes}});
  Peer& peer = client.peer();
  auto call_once = [&](std::size_t& bytes, long& failures) {
    peer.send(blob.render(client.next_id()));
    peer.flush();
    Envelope e = *client.next_response(true);
    failures += failed(e) || e.bytes < static_cast<std::size_t>(o.bytes);
    bytes += e.bytes;
  };
  std::size_t bytes = 0;
  long failures = 0;
  call_once(bytes, failures);  // warm-up: buffers grow to size once
  bytes = 0;
  auto cpu_before = cpu_time(peer.pid());
  auto start = Clock::now();
  for (long i = 0; i < o.calls; ++i) call_once(bytes, failures);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {{"calls", o.calls},
          {"bytes_per_call", o.calls ? bytes / static_cast<std::size_t>(o.calls) : 0},
          {"mb_per_s", round1(static_cast<double>(bytes) / 1e6 / seconds)},
          {"cpu_us_per_call", cpu_us_per_call(peer.pid(), cpu_before, o.calls)},
          {"errors", failures}};
}

json startup(Client& client, const Options& o, Clock::time_point spawned) {
  initialize(client);
  double init_ms = millis(Clock::now() - spawned);
  long polls = 0;
  std::size_t tools = 0;
  for (;;) {
    client.take_tools_changed();
    tools = list_tools(client, o.count_only).tools;
    ++polls;
    if (static_cast<long>(tools) >= o.expect_tools) break;
    client.idle_until(Clock::now() + 20ms, /*or_list_changed=*/true);
  }
  return {{"init_ms", round1(init_ms)},
          {"ready_ms", round1(millis(Clock::now() - spawned))},
          {"tools", tools},
          {"polls", polls}};
}

json idle_rss(Client& client, const Options& o) {
  initialize(client);
  std::size_t tools = list_tools(client, o.count_only).tools;
  client.idle_until(Clock::now() + std::chrono::milliseconds(o.settle_ms));
  pid_t pid = client.peer().pid();
  return {{"tools", tools},
          {"rss_kib", status_kib(pid, "VmRSS")},
          {"hwm_kib", status_kib(pid, "VmHWM")}};
}

// The handshake and a first tools/list, which must show --expect-tools.
ToolsList initialize_and_list(Client& client, const Options& o) {
  initialize(client);
  ToolsList warm = list_tools(client, o.count_only);
  if (static_cast<long>(warm.tools) < o.expect_tools)
    throw std::runtime_error("tools/list shows " + std::to_string(warm.tools) + " tools, not " +
                             std::to_string(o.expect_tools));
  return warm;
}

json list(Client& client, const Options& o) {
  ToolsList warm = initialize_and_list(client, o);
  std::vector<double> samples;
  for (long i = 0; i < o.calls; ++i) samples.push_back(micros(list_tools(client).took));
  return {
      {"tools", warm.tools},
      {"bytes", warm.bytes},
      {"median_us", round1(median(samples))},
      {"min_us", round1(samples.empty() ? 0 : *std::min_element(samples.begin(), samples.end()))}};
}

// Each tools/list timed is the first after a change: `touch` makes the
// server send list_changed; the list is requested once the client saw it.
json list_changed(Client& client, const Options& o) {
  initialize_and_list(client, o);
  std::vector<double> samples;
  for (long i = 0; i < o.calls; ++i) {
    client.take_tools_changed();
    client.request("tools/call", {{"name", o.prefix + "touch"}, {"arguments", json::object()}});
    auto until = Clock::now() + 10s;
    while (!client.take_tools_changed()) {
      if (Clock::now() >= until) throw std::runtime_error("no list_changed after touch");
      client.idle_until(until, /*or_list_changed=*/true);
    }
    ToolsList list = list_tools(client, o.count_only);
    if (static_cast<long>(list.tools) < o.expect_tools)
      throw std::runtime_error("tools/list after a change shows " + std::to_string(list.tools) +
                               " tools");
    samples.push_back(micros(list.took));
  }
  return {
      {"calls", o.calls},
      {"median_us", round1(median(samples))},
      {"max_us", round1(samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end()))}};
}

json inflight_mem(Client& client, const Options& o) {
  initialize(client);
  list_tools(client);
  pid_t pid = client.peer().pid();
  long before_kib = status_kib(pid, "VmRSS");

  CallTemplate sleep = client.call("sleep", {{"ms", o.sleep_ms}});
  CallTemplate echo = client.call("echo", {{"text", "barrier"}});
  Peer& peer = client.peer();
  auto start = Clock::now();
  for (long i = 0; i < o.inflight; ++i) peer.send(sleep.render(client.next_id()));
  // The echo is answered only after the server has read every sleep before
  // it (mcpbraid forwards in order): then all of them are in flight.
  long long barrier = client.next_id();
  peer.send(echo.render(barrier));
  long early = 0, failures = 0;
  for (;;) {
    Envelope e = *client.next_response(true);
    if (e.id == barrier) break;
    ++early;
    failures += failed(e);
  }
  double sent_ms = millis(Clock::now() - start);
  long rss_kib = status_kib(pid, "VmRSS");

  long done = early;
  while (done < o.inflight) {
    failures += failed(*client.next_response(true));
    ++done;
  }
  return {{"inflight", o.inflight},
          {"early_answers", early},
          {"all_sent_ms", round1(sent_ms)},
          {"rss_before_kib", before_kib},
          {"rss_kib", rss_kib},
          {"hwm_kib", status_kib(pid, "VmHWM")},
          {"bytes_per_request", o.inflight ? (rss_kib - before_kib) * 1024 / o.inflight : 0},
          {"errors", failures}};
}

json run_scenario(const Options& o) {
  auto spawned = Clock::now();
  Peer peer(o.command, o.child_stderr);
  Client client(peer, o.prefix);
  if (o.scenario == "startup") return startup(client, o, spawned);
  if (o.scenario == "idle-rss") return idle_rss(client, o);
  if (o.scenario == "list") return list(client, o);
  if (o.scenario == "list-changed") return list_changed(client, o);
  if (o.scenario == "inflight-mem") return inflight_mem(client, o);
  initialize(client);
  list_tools(client);
  if (o.scenario == "latency") return latency(client, o);
  if (o.scenario == "throughput" || o.scenario == "throughput-batched")
    return throughput(client, o);
  if (o.scenario == "payload") return payload(client, o);
  usage_error("unknown scenario: " + o.scenario);
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);  // a child that dies shows up as EPIPE, reported below
  g_deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  try {
    json result = run_scenario(options);
    result["scenario"] = options.scenario;
    std::printf("%s\n", result.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mcpbraid_bench_load: %s: %s\n", options.scenario.c_str(), e.what());
    return 1;
  }
}
