#include "core/health.hpp"

#include <cmath>
#include <cstdio>

namespace mcpbraid::health {

namespace {

constexpr std::size_t kWidth = 80;  // the table fits a classic terminal

const char* kReset = "\033[0m";
const char* kGreen = "\033[32m";
const char* kYellow = "\033[33m";
const char* kRed = "\033[31m";

template <typename T>
json optional_json(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

template <typename T>
std::optional<T> optional_from(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  return it->get<T>();
}

std::string fixed(double value, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// A count in at most `width` characters: 1234567 -> "1.2M" when it must.
std::string count_text(std::uint64_t n, std::size_t width) {
  std::string plain = std::to_string(n);
  if (plain.size() <= width) return plain;
  const char* units = "kMGTPE";
  double value = static_cast<double>(n);
  int unit = -1;
  while (value >= 999.5 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  return fixed(value, value < 9.95 ? 1 : 0) + units[unit];
}

std::string latency_text(double ms) {
  return fixed(ms, ms < 100 ? 1 : 0);
}

// Cuts to `width` characters, marking the cut. Counts UTF-8 code points
// (a fair measure of columns for names, errors and stderr lines) and never
// cuts inside one.
std::string fit(std::string text, std::size_t width) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  std::size_t chars = 0, cut = std::string::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == width - 1) cut = i;
    if (++chars > width) {
      text.resize(cut);
      return text + "~";
    }
  }
  return text;
}

std::string pad_left(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string pad_right(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string paint(const std::string& cell, const char* colour, bool color) {
  return color && colour ? colour + cell + kReset : cell;
}

const char* state_colour(const BackendStatus& b) {
  if (b.state == "ready") return kGreen;
  if (b.state == "starting") return kYellow;
  return kRed;
}

const char* circuit_colour(const BackendStatus& b) {
  if (b.circuit == "closed") return kGreen;
  if (b.circuit == "half_open") return kYellow;
  return kRed;
}

std::string circuit_text(const BackendStatus& b) {
  if (b.circuit == "closed" || b.next_probe_ms <= 0) return b.circuit;
  return b.circuit + " " + format_duration_ms(static_cast<double>(b.next_probe_ms));
}

std::string detail_line(const BackendStatus& b) {
  // A remote server has an origin and a session where a child has a pid.
  std::string line = b.origin ? "  " + *b.origin + "  session " + b.session.value_or("-")
                              : "  pid " + (b.pid ? std::to_string(*b.pid) : std::string("-"));
  line += "  up " + (b.uptime_s ? format_duration_ms(*b.uptime_s * 1000) : std::string("-"));
  line += "  restarts " + std::to_string(b.restarts);
  line += "  consecutive failures " + std::to_string(b.consecutive_failures);
  line += "  in flight " + std::to_string(b.in_flight);
  if (b.restart_in_ms) line += "  restart in " + format_duration_ms(double(*b.restart_in_ms));
  return line;
}

// Prometheus label values escape backslash, quote and newline.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<std::int64_t>(value));
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.15g", value);
  return buf;
}

}  // namespace

bool sick(const BackendStatus& b) {
  return !b.healthy || b.circuit != "closed" || b.state == "backoff" || b.state == "failed";
}

int exit_status(const std::vector<Snapshot>& snapshots) {
  for (const auto& snapshot : snapshots)
    for (const auto& b : snapshot.backends)
      if (sick(b)) return 1;
  return 0;
}

std::string format_duration_ms(double ms) {
  if (ms < 1000) return std::to_string(static_cast<std::int64_t>(std::llround(ms))) + "ms";
  auto s = static_cast<std::int64_t>(ms / 1000);
  char buf[32];
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
    return buf;
  }
  if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(s / 86400),
                static_cast<long long>(s % 86400 / 3600));
  return buf;
}

json to_json(const BackendStatus& b) {
  return {{"state", b.state},
          {"circuit", b.circuit},
          {"next_probe_ms", b.next_probe_ms},
          {"restart_in_ms", optional_json(b.restart_in_ms)},
          {"healthy", b.healthy},
          {"successes", b.successes},
          {"failures", b.failures},
          {"consecutive_failures", b.consecutive_failures},
          {"latency_ms", {{"p50", b.p50_ms}, {"p95", b.p95_ms}, {"p99", b.p99_ms}}},
          {"restarts", b.restarts},
          {"transport", b.transport},
          {"origin", optional_json(b.origin)},
          {"session", optional_json(b.session)},
          {"protocol", optional_json(b.protocol)},
          {"era", optional_json(b.era)},
          {"inherit_env", optional_json(b.inherit_env)},
          {"pid", optional_json(b.pid)},
          {"uptime_s", optional_json(b.uptime_s)},
          {"tools", optional_json(b.tools)},
          {"tools_listed", optional_json(b.tools_listed)},
          {"hidden",
           {{"tools", b.tools_hidden},
            {"prompts", b.prompts_hidden},
            {"resources", b.resources_hidden}}},
          {"collisions", b.collisions},
          {"in_flight", b.in_flight},
          {"last_error", b.last_error.empty() ? json(nullptr) : json(b.last_error)},
          {"stderr_tail", b.stderr_tail}};
}

json to_json(const Snapshot& snapshot) {
  json backends = json::object();
  for (const auto& b : snapshot.backends) backends[b.name] = to_json(b);
  json reload = nullptr;
  if (const auto& r = snapshot.last_reload) {
    reload = {{"ok", r->ok}, {"at", r->at}, {"error", r->ok ? json(nullptr) : json(r->error)}};
    if (r->ok) reload["changes"] = r->changes;
  }
  return {{"mcpbraid",
           {{"pid", snapshot.pid},
            {"version", snapshot.version},
            {"config", snapshot.config},
            {"uptime_s", snapshot.uptime_s},
            {"internal_errors", snapshot.internal_errors}}},
          {"healthy", exit_status({snapshot}) == 0},
          {"config", {{"path", snapshot.config}, {"last_reload", reload}}},
          {"backends", std::move(backends)}};
}

Snapshot snapshot_from_json(const json& doc) {
  Snapshot snapshot;
  const json& self = doc.at("mcpbraid");
  snapshot.pid = self.at("pid").get<std::int64_t>();
  snapshot.version = self.value("version", std::string());
  snapshot.config = self.value("config", std::string());
  snapshot.uptime_s = self.value("uptime_s", 0.0);
  snapshot.internal_errors = self.value("internal_errors", std::uint64_t(0));
  for (const auto& item : doc.at("backends").items()) {
    const json& b = item.value();
    BackendStatus s;
    s.name = item.key();
    s.state = b.at("state").get<std::string>();
    s.circuit = b.at("circuit").get<std::string>();
    s.next_probe_ms = b.value("next_probe_ms", std::int64_t(0));
    s.restart_in_ms = optional_from<std::int64_t>(b, "restart_in_ms");
    s.healthy = b.at("healthy").get<bool>();
    s.successes = b.value("successes", std::uint64_t(0));
    s.failures = b.value("failures", std::uint64_t(0));
    s.consecutive_failures = b.value("consecutive_failures", 0);
    const json& latency = b.at("latency_ms");
    s.p50_ms = latency.value("p50", 0.0);
    s.p95_ms = latency.value("p95", 0.0);
    s.p99_ms = latency.value("p99", 0.0);
    s.restarts = b.value("restarts", 0);
    // Only as strings: these are newer than some peers' fields.
    auto text = [&b](const char* key) -> std::optional<std::string> {
      auto it = b.find(key);
      if (it == b.end() || !it->is_string()) return std::nullopt;
      return it->get<std::string>();
    };
    s.transport = text("transport").value_or("stdio");
    s.origin = text("origin");
    s.session = text("session");
    s.protocol = text("protocol");
    s.era = text("era");
    if (auto it = b.find("inherit_env"); it != b.end() && it->is_boolean())
      s.inherit_env = it->get<bool>();
    s.pid = optional_from<std::int64_t>(b, "pid");
    s.uptime_s = optional_from<double>(b, "uptime_s");
    s.tools = optional_from<std::int64_t>(b, "tools");
    s.tools_listed = optional_from<std::int64_t>(b, "tools_listed");
    if (auto hidden = b.find("hidden"); hidden != b.end() && hidden->is_object()) {
      s.tools_hidden = hidden->value("tools", std::int64_t(0));
      s.prompts_hidden = hidden->value("prompts", std::int64_t(0));
      s.resources_hidden = hidden->value("resources", std::int64_t(0));
    }
    if (auto c = b.find("collisions"); c != b.end() && c->is_array())
      for (const auto& item : *c)
        if (item.is_string()) s.collisions.push_back(item.get<std::string>());
    s.in_flight = b.value("in_flight", std::int64_t(0));
    s.last_error = optional_from<std::string>(b, "last_error").value_or("");
    if (auto tail = b.find("stderr_tail"); tail != b.end() && tail->is_array())
      s.stderr_tail = tail->get<std::vector<std::string>>();
    snapshot.backends.push_back(std::move(s));
  }
  if (auto config = doc.find("config"); config != doc.end() && config->is_object()) {
    auto reload = config->find("last_reload");
    if (reload != config->end() && reload->is_object()) {
      ReloadStatus r;
      r.ok = reload->value("ok", false);
      r.at = reload->value("at", std::string());
      if (auto e = reload->find("error"); e != reload->end() && e->is_string()) r.error = *e;
      if (auto c = reload->find("changes"); c != reload->end() && c->is_string()) r.changes = *c;
      snapshot.last_reload = std::move(r);
    }
  }
  return snapshot;
}

namespace {

// "  listed 3 of 12 tools; hidden: 4 tools, 1 prompt; lost names: a (kept by b)"
std::string exposure_line(const BackendStatus& b) {
  std::vector<std::string> parts;
  if (b.tools && b.tools_listed && *b.tools_listed != *b.tools)
    parts.push_back("listed " + std::to_string(*b.tools_listed) + " of " +
                    std::to_string(*b.tools) + " tools");
  std::string hidden;
  auto add = [&hidden](std::int64_t n, const char* what) {
    if (n == 0) return;
    if (!hidden.empty()) hidden += ", ";
    hidden += std::to_string(n) + " " + what;
  };
  add(b.tools_hidden, b.tools_hidden == 1 ? "tool" : "tools");
  add(b.prompts_hidden, b.prompts_hidden == 1 ? "prompt" : "prompts");
  add(b.resources_hidden, b.resources_hidden == 1 ? "resource" : "resources");
  if (!hidden.empty()) parts.push_back("filtered out: " + hidden);
  if (!b.collisions.empty()) {
    std::string lost = "name collisions: ";
    for (std::size_t i = 0; i < b.collisions.size(); ++i) lost += (i ? ", " : "") + b.collisions[i];
    parts.push_back(lost);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "  " : "; ") + p;
  return out;
}

}  // namespace

std::string render_table(const Snapshot& snapshot, bool color, std::size_t stderr_lines) {
  std::string out =
      fit("mcpbraid " + snapshot.version + "  pid " + std::to_string(snapshot.pid) + "  up " +
              format_duration_ms(snapshot.uptime_s * 1000) + "  " + snapshot.config,
          kWidth) +
      "\n";
  if (snapshot.last_reload && !snapshot.last_reload->ok)
    out += "last reload failed: " + snapshot.last_reload->error + "\n";
  if (snapshot.internal_errors > 0)
    out += "internal errors: " + std::to_string(snapshot.internal_errors) +
           " (a bug: please report it with the trace lines)\n";
  // SERVER(14) STATE(9) CIRCUIT(13) HEALTH(6) OK(7) FAIL(6) LATENCY(2+16) TOOLS(6) = 79
  out += "SERVER        STATE    CIRCUIT      HEALTH     OK  FAIL  p50/p95/p99 ms   TOOLS\n";
  if (snapshot.backends.empty()) out += "(no servers configured)\n";
  for (const auto& b : snapshot.backends) {
    std::string latency = b.successes == 0 ? "-"
                                           : latency_text(b.p50_ms) + "/" + latency_text(b.p95_ms) +
                                                 "/" + latency_text(b.p99_ms);
    out += pad_right(fit(b.name, 13), 14);
    out += paint(pad_right(fit(b.state, 8), 9), state_colour(b), color);
    out += paint(pad_right(fit(circuit_text(b), 12), 13), circuit_colour(b), color);
    out += paint(pad_right(b.healthy ? "ok" : "sick", 6), b.healthy ? kGreen : kRed, color);
    out += pad_left(count_text(b.successes, 6), 7);
    out += pad_left(count_text(b.failures, 5), 6);
    out += "  " + pad_right(fit(latency, 16), 16);
    out += pad_left(b.tools ? std::to_string(*b.tools) : "-", 6);
    out += "\n";
    out += fit(detail_line(b), kWidth) + "\n";
    if (std::string seen = exposure_line(b); !seen.empty()) out += fit(seen, kWidth) + "\n";
    if (!b.last_error.empty()) out += fit("  last error: " + b.last_error, kWidth) + "\n";
    std::size_t from =
        b.stderr_tail.size() > stderr_lines ? b.stderr_tail.size() - stderr_lines : 0;
    for (std::size_t i = from; i < b.stderr_tail.size(); ++i)
      out += fit("  stderr: " + b.stderr_tail[i], kWidth) + "\n";
  }
  return out;
}

std::string render_prometheus(const std::vector<Snapshot>& snapshots) {
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto labels = [](const Snapshot& s, const BackendStatus& b, const std::string& extra = "") {
    std::string text =
        "{instance=\"" + std::to_string(s.pid) + "\",server=\"" + label(b.name) + "\"";
    if (!extra.empty()) text += "," + extra;
    return text + "}";
  };
  // One family at a time, every backend of every instance inside it.
  auto each = [&](const char* name, auto&& fn) {
    for (const auto& s : snapshots)
      for (const auto& b : s.backends) fn(name, s, b);
  };
  auto gauge = [&](const char* name, const char* type, const char* help, auto&& value) {
    family(name, type, help);
    each(name, [&](const char* n, const Snapshot& s, const BackendStatus& b) {
      std::optional<double> v = value(b);
      if (v) out += std::string(n) + labels(s, b) + " " + number(*v) + "\n";
    });
  };
  using D = std::optional<double>;

  family("mcpbraid_uptime_seconds", "gauge", "Time since this mcpbraid instance started.");
  for (const auto& s : snapshots)
    out += "mcpbraid_uptime_seconds{instance=\"" + std::to_string(s.pid) + "\"} " +
           number(s.uptime_s) + "\n";

  family("mcpbraid_internal_errors_total", "counter",
         "Exceptions caught by the last-resort guard (each one a bug).");
  for (const auto& s : snapshots)
    out += "mcpbraid_internal_errors_total{instance=\"" + std::to_string(s.pid) + "\"} " +
           std::to_string(s.internal_errors) + "\n";

  family("mcpbraid_backend_state", "gauge",
         "1 for the backend's lifecycle state, 0 for the others.");
  each("mcpbraid_backend_state", [&](const char* n, const Snapshot& s, const BackendStatus& b) {
    for (const char* state : {"starting", "ready", "backoff", "failed", "stopped"})
      out += std::string(n) + labels(s, b, std::string("state=\"") + state + "\"") + " " +
             (b.state == state ? "1" : "0") + "\n";
  });
  family("mcpbraid_backend_circuit", "gauge",
         "1 for the circuit breaker's state, 0 for the others.");
  each("mcpbraid_backend_circuit", [&](const char* n, const Snapshot& s, const BackendStatus& b) {
    for (const char* state : {"closed", "open", "half_open"})
      out += std::string(n) + labels(s, b, std::string("circuit=\"") + state + "\"") + " " +
             (b.circuit == state ? "1" : "0") + "\n";
  });
  gauge("mcpbraid_backend_next_probe_seconds", "gauge",
        "Time until the open circuit admits a probe.",
        [](const BackendStatus& b) { return D(b.next_probe_ms / 1000.0); });
  gauge("mcpbraid_backend_healthy", "gauge",
        "1 when fewer consecutive failures than unhealthy_after.",
        [](const BackendStatus& b) { return D(b.healthy ? 1 : 0); });
  family("mcpbraid_backend_requests_total", "counter",
         "Requests by outcome (failures are timeouts, crashes, bad output).");
  each("mcpbraid_backend_requests_total",
       [&](const char* n, const Snapshot& s, const BackendStatus& b) {
         out += std::string(n) + labels(s, b, "outcome=\"success\"") + " " +
                number(double(b.successes)) + "\n";
         out += std::string(n) + labels(s, b, "outcome=\"failure\"") + " " +
                number(double(b.failures)) + "\n";
       });
  gauge("mcpbraid_backend_consecutive_failures", "gauge", "Failures since the last success.",
        [](const BackendStatus& b) { return D(b.consecutive_failures); });
  family("mcpbraid_backend_latency_seconds", "gauge",
         "Latency percentiles of successful requests.");
  each("mcpbraid_backend_latency_seconds", [&](const char* n, const Snapshot& s,
                                               const BackendStatus& b) {
    if (b.successes == 0) return;
    out += std::string(n) + labels(s, b, "quantile=\"0.5\"") + " " + number(b.p50_ms / 1000) + "\n";
    out +=
        std::string(n) + labels(s, b, "quantile=\"0.95\"") + " " + number(b.p95_ms / 1000) + "\n";
    out +=
        std::string(n) + labels(s, b, "quantile=\"0.99\"") + " " + number(b.p99_ms / 1000) + "\n";
  });
  gauge("mcpbraid_backend_restarts_total", "counter", "Restarts by the supervisor.",
        [](const BackendStatus& b) { return D(b.restarts); });
  gauge("mcpbraid_backend_uptime_seconds", "gauge", "Time since the running child started.",
        [](const BackendStatus& b) { return b.uptime_s ? D(*b.uptime_s) : D(); });
  gauge("mcpbraid_backend_tools", "gauge", "Tools the backend lists.",
        [](const BackendStatus& b) { return b.tools ? D(double(*b.tools)) : D(); });
  gauge("mcpbraid_backend_in_flight", "gauge", "Requests awaiting the backend's answer.",
        [](const BackendStatus& b) { return D(double(b.in_flight)); });
  return out;
}

}  // namespace mcpbraid::health
