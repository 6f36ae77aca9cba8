#include "core/list_merge.hpp"

#include "core/json_fields.hpp"
namespace mcpbraid {

namespace {

bool hint(const json& annotations, const char* key) {
  auto it = annotations.find(key);
  return it != annotations.end() && *it == json(true);
}

}  // namespace

std::vector<json> expose_list(ListKind kind, const std::string& server, std::vector<json> items,
                              Catalog& catalog, std::unordered_set<std::string>* retry_safe) {
  if (kind == ListKind::tools) {
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
    std::vector<std::string> names;
    names.reserve(items.size());
    if (retry_safe && kind == ListKind::tools) retry_safe->clear();
    for (const auto& item : items) {
      names.push_back(item["name"].get<std::string>());
      if (kind != ListKind::tools || !retry_safe) continue;
      auto a = item.find("annotations");
      if (a != item.end() && a->is_object() &&
          (hint(*a, "readOnlyHint") || hint(*a, "idempotentHint")))
        retry_safe->insert(names.back());
    }
    auto exposed = catalog.names(kind).set_server(server, names);
    for (std::size_t i = 0; i < items.size(); ++i) items[i]["name"] = exposed[i];
    return items;
  }
  const char* field = kind == ListKind::resources ? "uri" : "uriTemplate";
  std::vector<std::string> uris;
  uris.reserve(items.size());
  for (const auto& item : items) uris.push_back(string_field(item, field));
  if (kind == ListKind::resources)
    catalog.resources.set_resources(server, uris);
  else
    catalog.resources.set_templates(server, uris);
  return items;
}

const std::string& MergedList::render(std::vector<std::uint64_t> signature,
                                      const std::vector<const std::vector<json>*>& lists,
                                      const json& extra) {
  json all = json::array();
  for (const auto* list : lists)
    if (list)
      for (const auto& item : *list) all.push_back(item);
  if (extra.is_array())
    for (const auto& item : extra) all.push_back(item);
  text_ = all.dump(-1, ' ', false, json::error_handler_t::replace);
  signature_ = std::move(signature);
  valid_ = true;
  return text_;
}

}  // namespace mcpbraid
