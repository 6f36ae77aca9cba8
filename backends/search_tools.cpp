#include "backends/search_tools.hpp"

#include <cmath>
#include <memory>

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/trace.hpp"
#include "core/utf8.hpp"

namespace mcpbraid {

namespace {

json text_result(std::string text, json structured, bool is_error = false) {
  json result{{"content", json::array({{{"type", "text"}, {"text", std::move(text)}}})},
              {"isError", is_error}};
  if (!structured.is_null()) result["structuredContent"] = std::move(structured);
  return result;
}

// A tool-level error: the model reads it and may try again (spec: input
// validation errors are tool execution errors, not protocol errors).
json tool_error(const std::string& text) {
  return text_result(text, nullptr, /*is_error=*/true);
}

std::string first_line(const std::string& text, std::size_t limit = 160) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > limit) line = line.substr(0, utf8_cut(line, limit)) + "...";
  return line;
}

}  // namespace

json SearchTools::definitions() {
  json annotations{{"readOnlyHint", true}, {"idempotentHint", true}, {"openWorldHint", false}};
  json search_schema{
      {"type", "object"},
      {"properties",
       {{"query",
         {{"type", "string"},
          {"description", "What the tool should do, in a few words (e.g. \"read a file\")"}}},
        {"limit",
         {{"type", "integer"},
          {"minimum", 1},
          {"maximum", kMaxLimit},
          {"description", "How many tools to return (default 8)"}}},
        {"server",
         {{"type", "string"}, {"description", "Only tools of this server (its config name)"}}}}},
      {"required", json::array({"query"})}};
  json found_schema{{"type", "object"},
                    {"properties",
                     {{"tools",
                       {{"type", "array"},
                        {"items",
                         {{"type", "object"},
                          {"properties",
                           {{"name", {{"type", "string"}}},
                            {"server", {{"type", "string"}}},
                            {"title", {{"type", "string"}}},
                            {"description", {{"type", "string"}}},
                            {"score", {{"type", "number"}}}}},
                          {"required", json::array({"name", "server", "score"})}}}}}}},
                    {"required", json::array({"tools"})}};
  json name_schema{{"type", "object"},
                   {"properties",
                    {{"name",
                      {{"type", "string"},
                       {"description", "The tool's name as gateway_search_tools gave it"}}}}},
                   {"required", json::array({"name"})}};
  json call_schema = name_schema;
  call_schema["properties"]["arguments"] = {
      {"type", "object"}, {"description", "The tool's arguments, as its inputSchema describes"}};
  return json::array(
      {{{"name", kSearch},
        {"title", "mcpbraid: search tools"},
        {"description",
         "Find tools of the MCP servers behind this gateway that are not listed: give a few "
         "words of what you need; returns the best matching tools (name, server, title, "
         "description). Call a found tool by its name, directly or with gateway_call_tool; "
         "gateway_describe_tool shows its parameters."},
        {"inputSchema", search_schema},
        {"outputSchema", found_schema},
        {"annotations", annotations}},
       {{"name", kDescribe},
        {"title", "mcpbraid: describe a tool"},
        {"description",
         "The full definition of one tool found with gateway_search_tools: its inputSchema "
         "(the parameters to pass), outputSchema and annotations."},
        {"inputSchema", name_schema},
        {"annotations", annotations}},
       {{"name", kCall},
        {"title", "mcpbraid: call a tool"},
        {"description",
         "Call a tool found with gateway_search_tools by its name, with its arguments; the "
         "answer is the tool's own."},
        {"inputSchema", call_schema},
        {"annotations", {{"openWorldHint", true}}}}});
}

void SearchTools::on_call(rpc::Message& message) {
  json id = message.body["id"];
  const json& params = params_of(message.body);
  std::string name = string_field(params, "name");
  json arguments = json::object();
  if (auto a = params.find("arguments"); a != params.end() && !a->is_null()) {
    if (!a->is_object())
      return g_.client().reply(id, tool_error(name + ": arguments must be an object"));
    arguments = *a;
  }
  if (name == kCall) return call(message, std::move(arguments));
  // Both need the tools lists: from cache, or fetched once.
  auto shared = std::make_shared<json>(std::move(arguments));
  g_.lists().collect(ListKind::tools, [this, id, name, shared] {
    if (name == kSearch) return search(id, *shared);
    describe(id, *shared);
  });
}

const search::ToolIndex& SearchTools::index() {
  std::vector<std::uint64_t> signature = g_.lists().tools_signature();
  if (built_ && signature == signature_) return index_;
  std::vector<search::ToolDoc> docs;
  for (const auto& backend : g_.backends()) {
    if (signature[g_.index_of(*backend)] == 0) continue;
    for (const json& tool : *g_.lists().items(*backend, ListKind::tools)) {
      if (!g_.catalog().tools.keeps(backend->name(), string_field(tool, "name"))) continue;
      docs.push_back(search::tool_doc(tool, backend->name()));
    }
  }
  trace::debug("search.index").kv("tools", static_cast<std::int64_t>(docs.size()));
  index_.build(std::move(docs));
  signature_ = std::move(signature);
  built_ = true;
  return index_;
}

void SearchTools::search(const json& id, const json& arguments) {
  ClientChannel& client = g_.client();
  auto query = arguments.find("query");
  if (query == arguments.end() || !query->is_string())
    return client.reply(id, tool_error("gateway_search_tools: query must be a string"));
  std::size_t limit = kDefaultLimit;
  if (auto l = arguments.find("limit"); l != arguments.end() && !l->is_null()) {
    bool whole = l->is_number_integer() ||
                 (l->is_number_float() && std::floor(l->get<double>()) == l->get<double>());
    double v = l->is_number() ? l->get<double>() : 0;
    if (!whole || v < 1 || v > static_cast<double>(kMaxLimit))
      return client.reply(id, tool_error("gateway_search_tools: limit must be an integer from 1 "
                                         "to " +
                                         std::to_string(kMaxLimit)));
    limit = static_cast<std::size_t>(v);
  }
  std::string server;
  if (auto s = arguments.find("server"); s != arguments.end() && !s->is_null()) {
    if (!s->is_string() || !g_.find_backend(s->get<std::string>()))
      return client.reply(id, tool_error("gateway_search_tools: unknown server " +
                                         (s->is_string() ? s->get<std::string>() : s->dump()) +
                                         " (gateway_list_servers names them)"));
    server = s->get<std::string>();
  }
  const search::ToolIndex& idx = index();
  json tools = json::array();
  std::string text;
  for (const search::Hit& hit : idx.search(query->get<std::string>(), limit, server)) {
    const search::ToolDoc& doc = idx.doc(hit.doc);
    double score = std::round(hit.score * 1000.0) / 1000.0;
    tools.push_back({{"name", doc.name},
                     {"server", doc.server},
                     {"title", doc.title},
                     {"description", doc.description},
                     {"score", score}});
    text += doc.name;
    if (!doc.title.empty()) text += " (" + doc.title + ")";
    if (!doc.description.empty()) text += ": " + first_line(doc.description);
    text += "\n";
  }
  if (text.empty()) text = "no matching tools\n";
  client.reply(id, text_result(std::move(text), {{"tools", std::move(tools)}}));
}

const json* SearchTools::find(const std::string& exposed) {
  auto route = g_.catalog().tools.find(exposed);
  if (!route) return nullptr;
  const Backend* backend = g_.find_backend(route->server);
  if (!backend) return nullptr;
  const auto& items = g_.lists().items(*backend, ListKind::tools);
  if (!items) return nullptr;
  for (const json& tool : *items)
    if (string_field(tool, "name") == exposed) return &tool;
  return nullptr;
}

void SearchTools::describe(const json& id, const json& arguments) {
  auto name = arguments.find("name");
  if (name == arguments.end() || !name->is_string())
    return g_.client().reply(id, tool_error("gateway_describe_tool: name must be a string"));
  const json* tool = find(name->get<std::string>());
  if (!tool)
    return g_.client().reply(id, tool_error("Unknown tool: " + name->get<std::string>() +
                                            " (gateway_search_tools finds tools by what they do)"));
  g_.client().reply(id,
                    text_result(tool->dump(2, ' ', false, json::error_handler_t::replace), *tool));
}

void SearchTools::call(rpc::Message& message, json arguments) {
  json& params = message.body["params"];
  auto name = arguments.find("name");
  if (name == arguments.end() || !name->is_string())
    return g_.client().reply(message.body["id"],
                             tool_error("gateway_call_tool: name must be a string"));
  // The same request (same id, same _meta with its progressToken), now as
  // a direct call of that tool: progress, cancellation, retries and the
  // answer are exactly a direct call's.
  json inner{{"name", *name}};
  if (auto a = arguments.find("arguments"); a != arguments.end() && !a->is_null()) {
    if (!a->is_object())
      return g_.client().reply(message.body["id"],
                               tool_error("gateway_call_tool: arguments must be an object"));
    inner["arguments"] = std::move(*a);
  }
  if (auto meta = params.find("_meta"); meta != params.end()) inner["_meta"] = std::move(*meta);
  params = std::move(inner);
  g_.router().on_named(message, ListKind::tools);
}

}  // namespace mcpbraid
