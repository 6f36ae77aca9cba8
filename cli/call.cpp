#include "cli/call.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "backends/timer.hpp"
#include "cli/gateway_client.hpp"
#include "core/config.hpp"
#include "core/trace.hpp"

namespace mcpbraid::cli {

namespace {

constexpr int kExitToolError = 1;
constexpr int kExitError = 2;
constexpr int kExitInterrupted = 130;
constexpr const char* kProgressToken = "mcpbraid-call";
constexpr int kBarWidth = 30;
constexpr std::size_t kProgressMessageWidth = 60;

int fail(const std::string& text) {
  std::fprintf(stderr, "mcpbraid call: %s\n", text.c_str());
  return kExitError;
}

std::optional<Milliseconds> timeout_of(const std::string& text) {
  auto d = parse_duration(json(text));
  if (!d || d->count() <= 0) return std::nullopt;
  return d;
}

// The arguments object from the command line or stdin; nullopt after a
// message on stderr.
std::optional<json> read_arguments(const std::string& text_or_dash) {
  std::string text = text_or_dash;
  const char* source = "ARGS-JSON";
  if (text == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    source = "the arguments on stdin";
  }
  json arguments;
  try {
    arguments = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(std::string(source) + " is not valid JSON: " + e.what());
    return std::nullopt;
  }
  if (!arguments.is_object()) {
    fail(std::string(source) + " must be a JSON object, not " + arguments.type_name());
    return std::nullopt;
  }
  return arguments;
}

// Progress on stderr: a bar redrawn in place on a terminal, a line per
// notification otherwise.
class ProgressView {
 public:
  explicit ProgressView(bool terminal) : terminal_(terminal) {}

  void show(const json& params) {
    const json progress = params.value("progress", json(nullptr));
    const json total = params.value("total", json(nullptr));
    if (!progress.is_number()) return;
    std::string message =
        params.contains("message") && params["message"].is_string()
            ? first_line(params["message"].get<std::string>(), kProgressMessageWidth)
            : "";
    std::string count = progress.dump() + (total.is_number() ? "/" + total.dump() : "");
    if (!terminal_) {
      std::fprintf(stderr, "progress %s%s%s\n", count.c_str(), message.empty() ? "" : " ",
                   message.c_str());
      return;
    }
    std::string bar;
    if (total.is_number() && total.get<double>() > 0) {
      double fraction = std::clamp(progress.get<double>() / total.get<double>(), 0.0, 1.0);
      int filled = static_cast<int>(fraction * kBarWidth);
      bar = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "] " +
            std::to_string(static_cast<int>(fraction * 100)) + "% ";
    }
    // \r and erase-line: the bar replaces itself.
    std::fprintf(stderr, "\r\x1b[K%s%s %s", bar.c_str(), count.c_str(), message.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  // Before anything else is printed: the bar goes away.
  void clear() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool terminal_;
  bool drawn_ = false;
};

// The content as text: text items as they are, others as a one-line note.
std::string content_text(const json& result) {
  std::string out;
  auto content = result.find("content");
  if (content == result.end() || !content->is_array()) return out;
  for (const json& item : *content) {
    if (!item.is_object()) continue;
    std::string type = item.value("type", std::string());
    std::string text;
    if (type == "text") {
      text = item.value("text", std::string());
    } else if (type == "resource" && item.contains("resource") && item["resource"].is_object()) {
      const json& resource = item["resource"];
      text = resource.contains("text") && resource["text"].is_string()
                 ? resource["text"].get<std::string>()
                 : "[resource " + resource.value("uri", std::string()) + "]";
    } else if (type == "resource_link") {
      text = "[resource link " + item.value("uri", std::string()) + "]";
    } else {
      std::string data = item.value("data", std::string());
      text = "[" + type + " " + item.value("mimeType", std::string()) + ", " +
             std::to_string(data.size() / 4 * 3) + " bytes]";
    }
    out += text;
    if (out.empty() || out.back() != '\n') out += '\n';
  }
  return out;
}

class CallCommand {
 public:
  CallCommand(Config config, const CallOptions& options, json arguments,
              std::optional<Milliseconds> timeout)
      : options_(options),
        arguments_(std::move(arguments)),
        timeout_(timeout),
        client_(std::move(config)),
        progress_(::isatty(STDERR_FILENO)) {}

  int run() {
    client_.set_on_notification([this](const std::string& method, const json& params) {
      if (method == "notifications/progress" && !options_.quiet && !done_ &&
          params.value("progressToken", json(nullptr)) == kProgressToken)
        progress_.show(params);
    });
    client_.run([this] { begin(); });
    progress_.clear();
    if (client_.interrupted()) {
      std::fprintf(stderr, "mcpbraid call: interrupted\n");
      return kExitInterrupted;
    }
    return status_;
  }

 private:
  void begin() {
    client_.initialize([this](const json& response) {
      if (!response.contains("result"))
        return finish(fail("initialize failed: " + error_text(response)));
      call();
    });
  }

  void call() {
    json params = {{"name", options_.name},
                   {"arguments", arguments_},
                   {"_meta", {{"progressToken", kProgressToken}}}};
    call_id_ = client_.next_id();
    client_.request("tools/call", std::move(params),
                    [this](const json& response) { on_response(response); });
    if (!timeout_) return;
    timer_ = std::make_unique<Timer>(client_.io(), *timeout_);
    timer_->async_wait([this](asio::error_code ec) {
      if (!ec && !done_) on_timeout();
    });
  }

  void on_response(const json& response) {
    if (done_) return;
    progress_.clear();
    if (!response.contains("result"))
      return finish(fail(options_.name + ": " + error_text(response)));
    const json& result = response["result"];
    std::string out = options_.json
                          ? result.dump(2, ' ', false, json::error_handler_t::replace) + "\n"
                          : content_text(result);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
    bool is_error = result.is_object() && result.value("isError", false) == true;
    finish(is_error ? kExitToolError : 0);
  }

  // The spec's way to give up on a request: the server stops, no answer.
  void on_timeout() {
    std::string why = "timed out after " + options_.timeout;
    client_.notify("notifications/cancelled", {{"requestId", call_id_}, {"reason", why}});
    progress_.clear();
    finish(fail(options_.name + ": " + why));
  }

  void finish(int status) {
    done_ = true;
    status_ = status;
    if (timer_) timer_->cancel();
    client_.close();
  }

  static std::string error_text(const json& response) {
    const json error = response.value("error", json::object());
    std::string message = error.value("message", std::string("no result"));
    if (error.contains("code") && error["code"].is_number_integer())
      message += " (" + error["code"].dump() + ")";
    return message;
  }

  const CallOptions& options_;
  json arguments_;
  std::optional<Milliseconds> timeout_;
  GatewayClient client_;
  ProgressView progress_;
  std::unique_ptr<Timer> timer_;
  std::int64_t call_id_ = 0;
  bool done_ = false;
  int status_ = kExitError;
};

}  // namespace

void setup_call(CLI::App& app, CallOptions& options) {
  app.add_option("-c,--config", options.config_path,
                 "Config file (default: $MCPBRAID_CONFIG, else "
                 "$XDG_CONFIG_HOME/mcpbraid/config.json, else ~/.config/mcpbraid/config.json)");
  app.add_option("NAME", options.name, "The tool's exposed name, as `mcpbraid tools` shows it")
      ->required();
  app.add_option("ARGS-JSON", options.arguments,
                 "The arguments, a JSON object; - reads it from stdin (default: {})");
  app.add_flag("--json", options.json,
               "Print the whole result as JSON (structuredContent, isError, _meta included)");
  app.add_option("--timeout", options.timeout,
                 "Give up on the call after DUR (like 500ms, 30s, 2m): cancel it, exit 2 "
                 "(default: the servers' own deadlines)")
      ->check([](const std::string& text) {
        return timeout_of(text) ? std::string() : "expected a duration like 500ms, 30s or 2m";
      })
      ->type_name("DUR");
  app.add_flag("-q,--quiet", options.quiet, "No progress on stderr");
}

int run_call(const CallOptions& options) {
  auto arguments = read_arguments(options.arguments);
  if (!arguments) return kExitError;
  std::string path = resolve_config_path(options.config_path);
  Config config;
  try {
    config = load_config(path);
  } catch (const ConfigError& e) {
    return fail(e.what());
  }
  for (const auto& warning : config.warnings)
    trace::warn("config.warning").kv("file", path).kv("warning", warning);
  auto timeout = options.timeout.empty() ? std::nullopt : timeout_of(options.timeout);
  CallCommand command(std::move(config), options, std::move(*arguments), timeout);
  return command.run();
}

}  // namespace mcpbraid::cli
