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

namespace {

// Items serialized one by one straight into a text, comma-separated: building
// one array of copies first deep-copied every item. Same bytes as that
// array's dump() between its brackets.
class ItemWriter {
 public:
  explicit ItemWriter(std::string& out)
      : out_(out),
        writer_(nlohmann::detail::output_adapter<char>(out), ' ', json::error_handler_t::replace) {}
  void add(const json& item) {
    if (!first_) out_ += ',';
    first_ = false;
    writer_.dump(item, false, false, 0);
  }

 private:
  std::string& out_;
  nlohmann::detail::serializer<json> writer_;
  bool first_ = true;
};

}  // namespace

const std::string& MergedList::render(std::vector<std::uint64_t> signature,
                                      const std::vector<ListPart>& parts, const json& extra) {
  last_serialized_ = 0;
  std::unordered_map<std::uint64_t, Segment> kept;
  kept.reserve(parts.size());
  std::size_t size = 2;
  for (const ListPart& part : parts) {
    if (!part.items) continue;
    auto old = segments_.find(part.stamp);
    Segment segment;
    if (old != segments_.end() && old->second.shown == part.shown) {
      segment = std::move(old->second);
    } else {
      segment.shown = part.shown;
      ItemWriter writer(segment.text);
      for (std::size_t i = 0; i < part.items->size(); ++i)
        if (i < part.shown.size() && part.shown[i]) writer.add((*part.items)[i]);
      ++last_serialized_;
    }
    size += segment.text.size() + 1;
    kept[part.stamp] = std::move(segment);
  }
  std::string tail;
  if (extra.is_array()) {
    ItemWriter writer(tail);
    for (const auto& item : extra) writer.add(item);
  }
  size += tail.size();

  text_.clear();
  text_.reserve(size);
  text_ += '[';
  bool first = true;
  auto append = [&](const std::string& piece) {
    if (piece.empty()) return;
    if (!first) text_ += ',';
    first = false;
    text_ += piece;
  };
  for (const ListPart& part : parts)
    if (part.items) append(kept[part.stamp].text);
  append(tail);
  text_ += ']';
  segments_ = std::move(kept);
  signature_ = std::move(signature);
  valid_ = true;
  return text_;
}

}  // namespace mcpbraid
