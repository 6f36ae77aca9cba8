// libFuzzer target: the config parser, parse_config_text (core/config.hpp),
// with a fake environment, and the value parsers it is built from.
//
// Invariants:
//  - parse_config_text throws nothing but mcpbraid::ConfigError, and its
//    message names the file; it accepts only valid JSON (RFC 8259);
//  - an accepted config is coherent: servers sorted by unique valid names,
//    non-empty commands, a valid separator, limits in range, timeouts and
//    backoffs ordered;
//  - parse_size, parse_duration and expand_env, run on every value of the
//    document, throw nothing (expand_env: only ConfigError) and compute
//    exactly what their documented grammar says, without overflow.
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "fuzz_check.hpp"
#include "json_reference.hpp"

using mcpbraid::ConfigError;
using nlohmann::json;

namespace {

const std::string kPath = "fuzz.json";

// Deterministic: some names are set (one to ""), the rest are not.
std::optional<std::string> fake_env(const std::string& name) {
  if (name == "HOME") return std::string("/home/fuzz");
  if (name == "EMPTY") return std::string();
  if (name == "LONG") return std::string(300, 'x');
  if (name == "NESTED") return std::string("${HOME}");
  if (!name.empty() && name.size() % 3 == 0) return "v_" + name;
  return std::nullopt;
}

// parse_size's grammar: an integer >= 0, or "<1-12 digits><unit>" with
// unit "", B, KiB/KB, MiB/MB, GiB/GB (binary); nullopt if out of range.
std::optional<unsigned __int128> reference_size(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer())
    return v.get<std::int64_t>() < 0 ? std::nullopt
                                     : std::optional<unsigned __int128>(v.get<std::int64_t>());
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  std::size_t d = 0;
  while (d < s.size() && s[d] >= '0' && s[d] <= '9') ++d;
  if (d == 0 || d > 12) return std::nullopt;
  unsigned __int128 n = std::stoull(s.substr(0, d));
  std::string unit = s.substr(d);
  if (unit.empty() || unit == "B") return n;
  if (unit == "KiB" || unit == "KB") return n << 10;
  if (unit == "MiB" || unit == "MB") return n << 20;
  if (unit == "GiB" || unit == "GB") return n << 30;
  return std::nullopt;
}

// parse_duration's grammar: integer milliseconds >= 0, or "<1-12
// digits><unit>" with unit "", ms, s, m, h.
std::optional<__int128> reference_ms(const json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max())
      return std::nullopt;
    auto n = v.get<std::int64_t>();
    return n < 0 ? std::nullopt : std::optional<__int128>(n);
  }
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  std::size_t d = 0;
  while (d < s.size() && s[d] >= '0' && s[d] <= '9') ++d;
  if (d == 0 || d > 12) return std::nullopt;
  __int128 n = std::stoll(s.substr(0, d));
  std::string unit = s.substr(d);
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60000;
  if (unit == "h") return n * 3600000;
  return std::nullopt;
}

void check_value(const json& v) {
  auto size = mcpbraid::parse_size(v);
  if (size) {
    auto want = reference_size(v);
    FUZZ_CHECK(want && *want <= std::numeric_limits<std::size_t>::max() && *want == *size,
               "parse_size(%s) = %zu, which is not what it says", v.dump().c_str(), *size);
  }
  auto ms = mcpbraid::parse_duration(v);
  if (ms) {
    auto want = reference_ms(v);
    FUZZ_CHECK(want && *want == ms->count(), "parse_duration(%s) = %lld ms", v.dump().c_str(),
               static_cast<long long>(ms->count()));
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    try {
      std::string out = mcpbraid::expand_env(s, fake_env);
      if (s.find("${") == std::string::npos)
        FUZZ_CHECK(out == s, "expand_env changed a text without ${");
    } catch (const ConfigError&) {
      FUZZ_CHECK(s.find("${") != std::string::npos, "expand_env threw without a ${");
    }
  }
}

void check_config(const mcpbraid::Config& c) {
  FUZZ_CHECK(c.path == kPath, "path");
  FUZZ_CHECK(!c.separator.empty() && c.separator.size() <= 4, "separator length");
  for (char ch : c.separator) FUZZ_CHECK(ch == '_' || ch == '-' || ch == '.', "separator char");
  FUZZ_CHECK(c.max_line > 0 && c.max_output_queue > 0, "zero limits");
  FUZZ_CHECK(c.max_json_depth >= 1 && c.max_json_depth <= mcpbraid::kMaxJsonDepthLimit,
             "max_json_depth %d", c.max_json_depth);
  FUZZ_CHECK(c.initialize_timeout.count() > 0, "initialize_timeout");
  FUZZ_CHECK(c.max_name_length >= mcpbraid::kMinNameLength &&
                 c.max_name_length <= mcpbraid::kMaxNameLength,
             "max_name_length %zu", c.max_name_length);
  for (std::size_t i = 0; i < c.servers.size(); ++i) {
    const auto& s = c.servers[i];
    FUZZ_CHECK(mcpbraid::valid_server_name(s.name), "invalid server name accepted");
    // Exposed names split back at one place: a non-empty prefix (the
    // server's name by default) never runs into the separator.
    FUZZ_CHECK(s.prefix.empty() || mcpbraid::valid_server_name(s.prefix), "invalid prefix");
    FUZZ_CHECK(s.prefix.empty() || (s.prefix + c.separator).find(c.separator) == s.prefix.size(),
               "prefix %s runs into the separator %s", s.prefix.c_str(), c.separator.c_str());
    FUZZ_CHECK(s.rank >= 0, "negative rank");
    for (std::size_t j = 0; j < i; ++j)
      FUZZ_CHECK(c.servers[j].rank != s.rank, "two servers with rank %d", s.rank);
    if (i > 0) FUZZ_CHECK(c.servers[i - 1].name < s.name, "servers not sorted by unique name");
    if (mcpbraid::is_remote(s.type))
      FUZZ_CHECK(!s.url.empty() && s.command.empty(), "remote server without url, or with command");
    else
      FUZZ_CHECK(!s.command.empty() && s.url.empty(), "empty command accepted");
    FUZZ_CHECK(s.failsafe.timeout <= s.failsafe.max_timeout, "timeout > max_timeout");
    FUZZ_CHECK(s.failsafe.retry.initial_backoff <= s.failsafe.retry.max_backoff, "retry backoffs");
    FUZZ_CHECK(s.restart.initial_backoff <= s.restart.max_backoff, "restart backoffs");
    FUZZ_CHECK(mcpbraid::RestartPolicy(s.restart).sustained_uptime() >= s.restart.max_backoff,
               "sustained uptime overflowed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_view(data, size);
  try {
    mcpbraid::Config config = mcpbraid::parse_config_text(text, kPath, fake_env);
    fuzz::JsonFacts facts = fuzz::json_facts(text);
    FUZZ_CHECK(facts.valid, "parse_config_text accepted text that is not JSON%s: %s",
               facts.nul_cut ? " (nlohmann stops at a NUL byte)" : "", fuzz::show(text).c_str());
    check_config(config);
  } catch (const ConfigError& e) {
    std::string_view what = e.what();
    FUZZ_CHECK(what.substr(0, kPath.size() + 2) == kPath + ": ", "error does not name the file: %s",
               fuzz::show(what).c_str());
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "parse_config_text threw a non-ConfigError: %s", e.what());
  } catch (...) {
    FUZZ_CHECK(false, "parse_config_text threw a non-exception");
  }

  // The value parsers on every value of the document (iteratively: the
  // document may be deep).
  try {
    if (mcpbraid::rpc::nesting_exceeds(text, mcpbraid::kMaxJsonDepthLimit)) return 0;
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded()) return 0;
    std::vector<const json*> todo{&doc};
    int budget = 4096;
    while (!todo.empty() && --budget > 0) {
      const json* v = todo.back();
      todo.pop_back();
      check_value(*v);
      if (v->is_structured())
        for (const auto& child : *v) todo.push_back(&child);
      if (v->is_object())
        for (const auto& [key, child] : v->items()) check_value(json(key));
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "a value parser threw: %s", e.what());
  }
  return 0;
}
