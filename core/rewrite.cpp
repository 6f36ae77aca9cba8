#include "core/rewrite.hpp"

#include <cassert>

#include "core/jsonrpc.hpp"

namespace mcpbraid {

std::optional<RawToolCall> scan_tool_call(std::string_view line, int max_depth) {
  // params' name, _meta and task are located in the same pass as the
  // envelope (a task-augmented call's answer names a task: the full path).
  static constexpr std::string_view kKeys[] = {"name", "_meta", "task"};
  rpc::Span found[3];
  rpc::ParamsProbe probe{kKeys, found, 3};
  auto env = rpc::scan_envelope(line, max_depth, probe);
  // The members are compared as tokens: an escaped "2.0" or "tools/call"
  // is valid but rare, and the full path reads it correctly.
  if (!env || env->duplicate || env->result.present() || env->error.present() ||
      !env->params.present() || env->jsonrpc.of(line) != "\"2.0\"" ||
      env->method.of(line) != "\"tools/call\"")
    return std::nullopt;
  RawToolCall call;
  std::string_view id_text = env->id.of(line);
  // Only ids whose JSON text we can reproduce exactly: the answer carries
  // id.dump(), which must be what the client sent.
  // The key is the token itself, which is what id_key (dump) would give for
  // these: a canonical integer (span_integer refuses leading zeros; "-0"
  // dumps as 0) or a string without escapes (the scanner let no raw control
  // byte through; dump keeps DEL and UTF-8 as is).
  if (auto n = rpc::span_integer(id_text); n && id_text != "-0")
    call.id = *n;
  else if (auto text = rpc::plain_string(id_text))
    call.id = std::string(*text);
  else
    return std::nullopt;
  call.params = env->params.of(line);
  // A params that is not an object fails here; so does an escaped key,
  // which could spell "name" or "_meta".
  if (!probe.object || probe.escaped_key || probe.repeated || found[1].present() ||
      found[2].present() || !found[0].present())
    return std::nullopt;
  rpc::Span name{found[0].begin - env->params.begin, found[0].end - env->params.begin};
  auto name_text = rpc::plain_string(name.of(call.params));
  if (!name_text || name_text->empty()) return std::nullopt;
  call.key = std::string(id_text);
  call.name = name;
  call.name_text = std::string(*name_text);
  return call;
}

std::string with_name(std::string_view params, rpc::Span name, std::string_view new_name) {
  assert(name.present() && name.end <= params.size());
  std::string text;
  text.reserve(params.size() - (name.end - name.begin) + new_name.size() + 2);
  text.append(params.substr(0, name.begin));
  rpc::append_json_string(text, new_name);
  text.append(params.substr(name.end));
  return text;
}

RewrittenLine rewrite_response_id(std::string line, rpc::Span id, std::string_view id_text,
                                  std::size_t split_above) {
  assert(id.present() && id.end < line.size() && line.back() == '\n');
  RewrittenLine out;
  // Same length: overwritten in place. Small: shifting the rest is cheap.
  if (id_text.size() == id.end - id.begin || line.size() < split_above) {
    rpc::replace_span(line, id, id_text);
    out.head = std::move(line);
    return out;
  }
  out.head.reserve(id.begin + id_text.size());
  out.head.append(line, 0, id.begin);
  out.head += id_text;
  out.body = std::move(line);
  out.body_offset = id.end;
  return out;
}

}  // namespace mcpbraid
