// libFuzzer target: the envelope scanner (core/envelope.hpp) and the
// tolerant readers next to it, nesting_exceeds and peek_id
// (core/jsonrpc.hpp), against nlohmann::json on the same bytes.
//
// The agreement rule with nlohmann (strict RFC 8259 + strict UTF-8 on both
// sides): scan_envelope(line, D) accepts exactly the texts nlohmann parses
// as an object nested at most D deep with no escape in a top-level key,
// except that nlohmann also rejects unpaired UTF-16 surrogates written as
// \u escapes (the scanner only checks for four hex digits) and numbers
// that overflow a double (1e999), skips a leading UTF-8 byte order mark,
// and stops at a NUL byte (the reference treats that text as invalid). So:
// when the scanner accepts and nlohmann does not, the text has a surrogate
// escape or a huge number and parses once those are replaced.
//
// Invariants checked besides: the member spans lie in the line, carry no
// surrounding whitespace and parse to the DOM's member (duplicate: the last
// one, like nlohmann); `duplicate` is set exactly when a routed member
// repeats; locate_members agrees; plain_string and span_integer agree with
// the DOM; nesting_exceeds agrees with the SAX depth for every valid text;
// peek_id returns null, an integer or a string, never reads past its input
// (it is run on exact-size copies of prefixes), returns on a prefix only
// what it returns on the whole text, and finds the id of a valid message.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/envelope.hpp"
#include "core/jsonrpc.hpp"
#include "fuzz_check.hpp"
#include "json_reference.hpp"

using mcpbraid::json;
namespace rpc = mcpbraid::rpc;

namespace {

constexpr int kDepth = 128;

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// An integer of at most 18 digits (what span_integer and peek_id read).
bool small_integer(const json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() < 1000000000000000000ull;
  if (v.is_number_integer()) {
    auto n = v.get<std::int64_t>();
    return n > -1000000000000000000ll && n < 1000000000000000000ll;
  }
  return false;
}

// peek_id on an exact-size heap copy of text[0, n): ASan sees any overread.
json peek_prefix(std::string_view text, std::size_t n) {
  std::unique_ptr<char[]> copy(new char[n ? n : 1]);
  if (n) std::memcpy(copy.get(), text.data(), n);
  return rpc::peek_id(std::string_view(copy.get(), n));
}

void check_peek_id(std::string_view line, std::uint64_t seed) {
  json whole = rpc::peek_id(line);
  FUZZ_CHECK(whole.is_null() || whole.is_string() || whole.is_number_integer(),
             "peek_id returned %s", whole.type_name());
  // Prefixes: around every place where an id could be cut, plus random ones.
  fuzz::Rng rng(seed);
  std::size_t cuts[20];
  std::size_t ncuts = 0;
  std::size_t id_at = line.find("\"id\"");
  if (id_at != line.npos)
    for (std::size_t k = id_at; k < line.size() && k < id_at + 16; ++k) cuts[ncuts++] = k;
  while (ncuts < 20) cuts[ncuts++] = rng.below(line.size() + 1);
  for (std::size_t i = 0; i < ncuts; ++i) {
    json part = peek_prefix(line, cuts[i]);
    FUZZ_CHECK(part.is_null() || part == whole,
               "peek_id on the first %zu bytes gives %s, on all %zu bytes %s", cuts[i],
               part.dump().c_str(), line.size(), whole.dump().c_str());
  }
}

void check_nesting(std::string_view line, int depth) {
  const int limits[] = {0, 1, 2, 3, depth - 1, depth, depth + 1, kDepth};
  for (int d : limits) {
    if (d < 0) continue;
    FUZZ_CHECK(rpc::nesting_exceeds(line, d) == (depth > d),
               "nesting_exceeds(line, %d) is wrong for a text nested %d deep", d, depth);
  }
}

void check_spans(std::string_view line, const rpc::Envelope& env, const json& doc,
                 const fuzz::JsonFacts& facts) {
  struct Member {
    const char* key;
    rpc::Span span;
  } members[] = {{"jsonrpc", env.jsonrpc}, {"id", env.id},         {"method", env.method},
                 {"params", env.params},   {"result", env.result}, {"error", env.error}};
  bool duplicate = false;
  for (const auto& m : members) {
    auto count = facts.top_keys.find(m.key);
    bool in_doc = count != facts.top_keys.end();
    if (in_doc && count->second > 1) duplicate = true;
    FUZZ_CHECK(m.span.present() == in_doc, "span of %s present=%d, in the DOM=%d", m.key,
               m.span.present(), in_doc);
    if (!m.span.present()) continue;
    FUZZ_CHECK(m.span.begin < m.span.end && m.span.end <= line.size(), "span of %s out of line",
               m.key);
    std::string_view text = m.span.of(line);
    FUZZ_CHECK(!is_ws(text.front()) && !is_ws(text.back()), "span of %s has whitespace: %s", m.key,
               fuzz::show(text).c_str());
    if (doc.is_discarded()) continue;  // a surrogate escape or 1e999 somewhere
    json value = json::parse(text, nullptr, false);
    FUZZ_CHECK(!value.is_discarded() && value == doc[m.key], "span of %s is %s, the DOM has %s",
               m.key, fuzz::show(text).c_str(), doc[m.key].dump().c_str());
  }
  FUZZ_CHECK(env.duplicate == duplicate, "duplicate=%d, expected %d", env.duplicate, duplicate);

  const std::string_view keys[6] = {"jsonrpc", "id", "method", "params", "result", "error"};
  rpc::Span spans[6];
  bool located = rpc::locate_members(line, keys, spans, 6);
  FUZZ_CHECK(located == !duplicate, "locate_members=%d with duplicate=%d", located, duplicate);
  if (located)
    for (int i = 0; i < 6; ++i)
      FUZZ_CHECK(spans[i].begin == members[i].span.begin && spans[i].end == members[i].span.end,
                 "locate_members disagrees on %s", members[i].key);

  // The params probe (one pass) agrees with the envelope and with
  // locate_members run on params afterwards.
  {
    const std::string_view probe_keys[2] = {"name", "_meta"};
    rpc::Span probe_spans[2];
    rpc::ParamsProbe probe{probe_keys, probe_spans, 2};
    auto probed = rpc::scan_envelope(line, kDepth, probe);
    FUZZ_CHECK(probed.has_value(), "the probe pass refused a line the envelope scan accepted");
    FUZZ_CHECK(probed->params.begin == env.params.begin && probed->params.end == env.params.end,
               "the probe pass disagrees on params");
    bool params_object = env.params.present() && line[env.params.begin] == '{';
    FUZZ_CHECK(probe.object == params_object, "probe.object=%d, params is an object=%d",
               probe.object, params_object);
    if (params_object && !duplicate) {
      std::string_view params = env.params.of(line);
      rpc::Span inner[2];
      bool ok = rpc::locate_members(params, probe_keys, inner, 2);
      if (ok)
        for (int i = 0; i < 2; ++i)
          FUZZ_CHECK(probe_spans[i].present() == inner[i].present() &&
                         (!inner[i].present() ||
                          (probe_spans[i].begin == env.params.begin + inner[i].begin &&
                           probe_spans[i].end == env.params.begin + inner[i].end)),
                     "the probe disagrees with locate_members on %s",
                     std::string(probe_keys[i]).c_str());
      FUZZ_CHECK(ok == !(probe.escaped_key || probe.repeated),
                 "locate_members=%d, probe escaped=%d repeated=%d", ok, probe.escaped_key,
                 probe.repeated);
    }
  }

  if (doc.is_discarded() || !env.id.present()) return;
  const json& id = doc["id"];
  std::string_view id_text = env.id.of(line);
  if (auto plain = rpc::plain_string(id_text))
    FUZZ_CHECK(id.is_string() && id.get_ref<const std::string&>() == *plain,
               "plain_string(%s) disagrees with the DOM", fuzz::show(id_text).c_str());
  auto integer = rpc::span_integer(id_text);
  if (integer)
    FUZZ_CHECK(id.is_number_integer() && id == *integer, "span_integer(%s)=%lld, the DOM has %s",
               fuzz::show(id_text).c_str(), static_cast<long long>(*integer), id.dump().c_str());
  // Every integer of up to 18 digits is read (the documented range).
  if (small_integer(id))
    FUZZ_CHECK(integer.has_value(), "span_integer(%s) missed", fuzz::show(id_text).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line = fuzz::as_view(data, size);
  std::uint64_t seed = fuzz::hash_bytes(line);

  auto env = rpc::scan_envelope(line, kDepth);
  fuzz::JsonFacts facts = fuzz::json_facts(line);
  bool bom = line.substr(0, 3) == "\xEF\xBB\xBF";

  check_peek_id(line, seed);

  if (env) {
    FUZZ_CHECK(!rpc::nesting_exceeds(line, kDepth), "accepted a text nested deeper than %d",
               kDepth);
    if (!facts.valid) {
      // The only licensed disagreements: surrogate escapes, huge numbers.
      int repairs = 0;
      std::string repaired = fuzz::nlohmann_repair(line, &repairs);
      FUZZ_CHECK(repairs > 0, "scan_envelope accepts what nlohmann rejects: %s",
                 fuzz::show(line).c_str());
      facts = fuzz::json_facts(repaired);
      FUZZ_CHECK(facts.valid,
                 "scan_envelope accepts what nlohmann rejects even without "
                 "surrogate escapes and huge numbers: %s",
                 fuzz::show(line).c_str());
    }
  }
  if (!facts.valid) return 0;

  // A valid text (possibly but for surrogate escapes and huge numbers).
  check_nesting(line, facts.depth);
  int raw_id_keys = 0;
  bool escaped_key = fuzz::top_level_key_escaped(line, &raw_id_keys);
  bool expect = facts.object && !escaped_key && facts.depth <= kDepth && !bom;
  FUZZ_CHECK(env.has_value() == expect,
             "scan_envelope=%d, expected %d (object=%d escaped key=%d depth=%d)", env.has_value(),
             expect, facts.object, escaped_key, facts.depth);
  if (facts.object && !escaped_key && !bom && facts.depth <= mcpbraid::kMaxJsonDepthLimit) {
    FUZZ_CHECK(rpc::scan_envelope(line, facts.depth).has_value(), "rejected at its own depth %d",
               facts.depth);
    FUZZ_CHECK(!rpc::scan_envelope(line, facts.depth - 1), "accepted at depth %d < %d",
               facts.depth - 1, facts.depth);
  }
  if (!env) return 0;

  json doc = json::parse(line, nullptr, false);  // discarded: surrogates, 1e999
  check_spans(line, *env, doc, facts);

  // peek_id finds the id of a valid message whose id is spelled once.
  if (!doc.is_discarded() && raw_id_keys == 1 && facts.top_keys["id"] == 1) {
    const json& id = doc["id"];
    json expected = id.is_string() || small_integer(id) ? id : json(nullptr);
    json peeked = rpc::peek_id(line);
    FUZZ_CHECK(peeked == expected, "peek_id gives %s, the DOM id is %s", peeked.dump().c_str(),
               id.dump().c_str());
  }
  return 0;
}
