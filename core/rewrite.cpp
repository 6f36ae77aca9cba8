#include "core/rewrite.hpp"

#include <cassert>

#include "core/jsonrpc.hpp"

namespace mcpbraid {

std::optional<RawToolCall> scan_tool_call(std::string_view line, int max_depth) {
  auto env = rpc::scan_envelope(line, max_depth);
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
  if (auto n = rpc::span_integer(id_text))
    call.id = *n;
  else if (auto text = rpc::plain_string(id_text))
    call.id = std::string(*text);
  else
    return std::nullopt;
  call.params = env->params.of(line);
  static constexpr std::string_view kKeys[] = {"name", "_meta"};
  rpc::Span found[2];
  // A params that is not an object fails here; so does an escaped key,
  // which could spell "name" or "_meta".
  if (!rpc::locate_members(call.params, kKeys, found, 2) || found[1].present()) return std::nullopt;
  auto name = rpc::plain_string(found[0].of(call.params));
  if (!name || name->empty()) return std::nullopt;
  call.key = rpc::id_key(call.id);
  call.name = found[0];
  call.name_text = std::string(*name);
  return call;
}

std::string with_name(std::string_view params, rpc::Span name, std::string_view new_name) {
  assert(name.present() && name.end <= params.size());
  std::string encoded = json(new_name).dump(-1, ' ', false, json::error_handler_t::replace);
  std::string text;
  text.reserve(params.size() - (name.end - name.begin) + encoded.size());
  text.append(params.substr(0, name.begin));
  text += encoded;
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
