#include "core/list_merge.hpp"

#include "core/json_fields.hpp"
namespace mcpbraid {

namespace {

bool hint(const json& annotations, const char* key) {
  auto it = annotations.find(key);
  return it != annotations.end() && *it == json(true);
}

}  // namespace

const NameFilter& filter_of(const ServerConfig& server, ListKind kind) {
  switch (kind) {
    case ListKind::tools:
      return server.tools;
    case ListKind::prompts:
      return server.prompts;
    default:
      return server.resources;
  }
}

ExposedList expose_list(ListKind kind, const ServerConfig& server, std::vector<json> items,
                        Catalog& catalog, std::unordered_set<std::string>* retry_safe,
                        bool task_calls) {
  ExposedList out;
  const NameFilter& filter = filter_of(server, kind);
  const char* key = kind == ListKind::tools || kind == ListKind::prompts ? "name"
                    : kind == ListKind::resources                        ? "uri"
                                                                         : "uriTemplate";
  if (kind == ListKind::tools && !task_calls) {
    std::erase_if(items, [](const json& tool) {
      auto exec = tool.find("execution");
      return exec != tool.end() && exec->is_object() &&
             string_field(*exec, "taskSupport") == "required";
    });
  }
  if (kind == ListKind::tools || kind == ListKind::prompts) {
    std::erase_if(items, [](const json& item) {
      auto name = item.find("name");
      return name == item.end() || !name->is_string();
    });
  }
  if (!filter.empty()) {
    std::size_t before = items.size();
    std::erase_if(items, [&](const json& item) { return !filter.allows(string_field(item, key)); });
    out.hidden = before - items.size();
  }
  if (kind == ListKind::tools || kind == ListKind::prompts) {
    std::vector<std::string> names;
    names.reserve(items.size());
    if (retry_safe && kind == ListKind::tools) retry_safe->clear();
    out.listed.reserve(items.size());
    for (const auto& item : items) {
      names.push_back(item["name"].get<std::string>());
      out.listed.push_back(kind != ListKind::tools || server.expose == Expose::all ||
                           glob_any(server.pinned, names.back()));
      if (kind != ListKind::tools || !retry_safe) continue;
      auto a = item.find("annotations");
      if (a != item.end() && a->is_object() &&
          (hint(*a, "readOnlyHint") || hint(*a, "idempotentHint")))
        retry_safe->insert(names.back());
    }
    auto exposed = catalog.names(kind).set_server(server.name, names, server.prefix, server.rank);
    for (std::size_t i = 0; i < items.size(); ++i) items[i]["name"] = exposed[i];
    out.items = std::move(items);
    return out;
  }
  std::vector<std::string> uris;
  uris.reserve(items.size());
  for (const auto& item : items) uris.push_back(string_field(item, key));
  if (kind == ListKind::resources)
    catalog.resources.set_resources(server.name, uris);
  else
    catalog.resources.set_templates(server.name, uris);
  out.listed.assign(items.size(), true);
  out.items = std::move(items);
  return out;
}

const std::string& MergedList::render(std::vector<std::uint64_t> signature,
                                      const std::vector<const json*>& items, const json& extra) {
  // Serialized item by item straight into the text: building one array of
  // copies first deep-copied every item (10,000 tool definitions on the
  // first list after a change). Same bytes as that array's dump().
  text_.clear();
  using Serializer = nlohmann::detail::serializer<json>;
  Serializer out(nlohmann::detail::output_adapter<char>(text_), ' ',
                 json::error_handler_t::replace);
  text_ += '[';
  bool first = true;
  auto add = [&](const json& item) {
    if (!first) text_ += ',';
    first = false;
    out.dump(item, false, false, 0);
  };
  for (const json* item : items) add(*item);
  if (extra.is_array())
    for (const auto& item : extra) add(item);
  text_ += ']';
  signature_ = std::move(signature);
  valid_ = true;
  return text_;
}

}  // namespace mcpbraid
