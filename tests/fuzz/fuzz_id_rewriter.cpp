// libFuzzer target: the id rewriter (replace_span on the id span that
// scan_envelope found, core/envelope.hpp), as the gateway uses it to put
// the client's id into a forwarded answer without re-serializing it.
//
// For every line scan_envelope accepts with an id, the id is replaced by
// several others (integers of every size, strings, escaped strings) and:
//  - every byte outside the id span is unchanged, the new id sits at the
//    old span's start;
//  - the rewritten line still scans, with the id span exactly over the new
//    text, the other member spans moved by the length difference and the
//    duplicate flag unchanged;
//  - span_integer / plain_string read the new id back;
//  - nlohmann sees the same document with only "id" changed;
//  - peek_id (the reader used on oversized heads) finds the new id.
#include <cstdint>
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

bool same_span(rpc::Span a, rpc::Span b) {
  return a.begin == b.begin && a.end == b.end;
}

// `old` after the id span [begin, end) became `delta` bytes longer.
rpc::Span moved(rpc::Span old, const rpc::Span& id, long delta) {
  if (!old.present() || old.end <= id.begin) return old;
  FUZZ_CHECK(old.begin >= id.end, "member span overlaps the id span");
  return rpc::Span{old.begin + delta, old.end + delta};
}

void rewrite(std::string_view line, const rpc::Envelope& env, const json& doc, bool single_id,
             const std::string& new_id) {
  std::string out(line);
  rpc::replace_span(out, env.id, new_id);
  const std::size_t b = env.id.begin, e = env.id.end;
  FUZZ_CHECK(out.size() == line.size() - (e - b) + new_id.size(), "length after replace_span");
  FUZZ_CHECK(out.compare(0, b, line.data(), b) == 0, "bytes before the id changed");
  FUZZ_CHECK(out.compare(b, new_id.size(), new_id) == 0, "new id not at the span's start");
  FUZZ_CHECK(std::string_view(out).substr(b + new_id.size()) == line.substr(e),
             "bytes after the id changed");

  auto again = rpc::scan_envelope(out, kDepth);
  FUZZ_CHECK(again.has_value(), "the rewritten line %s no longer scans (new id %s)",
             fuzz::show(out).c_str(), fuzz::show(new_id).c_str());
  long delta = static_cast<long>(new_id.size()) - static_cast<long>(e - b);
  FUZZ_CHECK(same_span(again->id, rpc::Span{b, b + new_id.size()}), "id span after rewriting");
  FUZZ_CHECK(same_span(again->jsonrpc, moved(env.jsonrpc, env.id, delta)), "jsonrpc span moved");
  FUZZ_CHECK(same_span(again->method, moved(env.method, env.id, delta)), "method span moved");
  FUZZ_CHECK(same_span(again->params, moved(env.params, env.id, delta)), "params span moved");
  FUZZ_CHECK(same_span(again->result, moved(env.result, env.id, delta)), "result span moved");
  FUZZ_CHECK(same_span(again->error, moved(env.error, env.id, delta)), "error span moved");
  FUZZ_CHECK(again->duplicate == env.duplicate, "duplicate flag changed");

  json id = json::parse(new_id);
  std::string_view id_text = again->id.of(out);
  if (auto n = rpc::span_integer(id_text)) FUZZ_CHECK(id == *n, "span_integer misreads the new id");
  if (id.is_number_integer() && new_id.size() <= 18)
    FUZZ_CHECK(rpc::span_integer(id_text).has_value(), "span_integer misses the new id");
  if (auto s = rpc::plain_string(id_text)) FUZZ_CHECK(id == *s, "plain_string misreads the new id");

  if (!doc.is_discarded()) {
    json now = json::parse(out, nullptr, false);
    json want = doc;
    want["id"] = id;
    FUZZ_CHECK(!now.is_discarded() && now == want, "the document changed beyond its id");
  }
  if (single_id && (id.is_string() || (id.is_number_integer() && new_id.size() <= 18))) {
    json peeked = rpc::peek_id(out);
    FUZZ_CHECK(peeked == id, "peek_id finds %s after rewriting to %s", peeked.dump().c_str(),
               new_id.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line = fuzz::as_view(data, size);
  auto env = rpc::scan_envelope(line, kDepth);
  if (!env || !env->id.present()) return 0;

  // nlohmann's view, when it has one (not with unpaired surrogate escapes).
  json doc = json::parse(line, nullptr, false);
  if (!doc.is_discarded() && !doc.is_object()) doc = json(json::value_t::discarded);
  fuzz::JsonFacts facts = fuzz::json_facts(line);
  int raw_id_keys = 0;
  fuzz::top_level_key_escaped(line, &raw_id_keys);
  bool single_id = facts.valid && raw_id_keys == 1 && facts.top_keys["id"] == 1;

  fuzz::Rng rng(fuzz::hash_bytes(line));
  auto signed_text = [&](int digits) {
    std::string s = (rng.next() & 1) ? "-" : "";
    s.push_back(static_cast<char>('1' + rng.below(9)));
    for (int i = 1; i < digits; ++i) s.push_back(static_cast<char>('0' + rng.below(10)));
    return s;
  };
  const std::string ids[] = {
      "0",
      "-1",
      signed_text(1 + static_cast<int>(rng.below(18))),
      "999999999999999999",
      "9223372036854775807",
      "\"\"",
      "\"c-" + std::to_string(rng.next()) + "\"",
      "\"quote\\\" and \\u00e9\"",
      std::string(env->id.of(line)),  // the same id again
  };
  for (const auto& id : ids) {
    if (id == env->id.of(line) && json::parse(id, nullptr, false).is_discarded()) continue;
    rewrite(line, *env, doc, single_id, id);
  }
  return 0;
}
