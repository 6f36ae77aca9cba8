#pragma once
// Per-server lists -> the merged list the client sees. Pure: the routing
// tables it fills (core/catalog.hpp) and the cache of the rendered text
// are plain values; fetching and paging live in backends/list_sync.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/catalog.hpp"
#include "core/config.hpp"
#include "core/list_kind.hpp"

namespace mcpbraid {

using json = nlohmann::json;

// Where a name or a URI goes: filled as lists are stored.
struct Catalog {
  explicit Catalog(const std::string& separator, std::size_t max_name_length = 48)
      : tools(separator, max_name_length), prompts(separator, max_name_length) {}
  NameTable tools;
  NameTable prompts;
  ResourceTable resources;
  NameTable& names(ListKind kind) { return kind == ListKind::tools ? tools : prompts; }
  const NameTable& names(ListKind kind) const { return kind == ListKind::tools ? tools : prompts; }
  void clear_server(const std::string& server) {
    tools.clear_server(server);
    prompts.clear_server(server);
    resources.clear_server(server);
  }
};

// A server's drained list in exposed form.
struct ExposedList {
  std::vector<json> items;
  // Per item: in the client's list (false: behind search, still callable).
  std::vector<bool> listed;
  std::size_t hidden = 0;  // left out by the server's filter
};

// A server's drained list in exposed form: nameless tools/prompts are
// dropped (they cannot be called through us), and so are tools that can only
// run as tasks when the server's capabilities take no task-augmented
// tools/call (`task_calls` false: nobody could call them), and so is what the server's filter
// hides; names are prefixed through `catalog` (which then routes them back); resource URIs and
// templates are registered for routing. `retry_safe` (tools only) gets the server's own names of
// tools whose annotations say readOnlyHint or idempotentHint.
ExposedList expose_list(ListKind kind, const ServerConfig& server, std::vector<json> items,
                        Catalog& catalog, std::unordered_set<std::string>* retry_safe,
                        bool task_calls = false);

// The filter of `kind` in a server's config.
const NameFilter& filter_of(const ServerConfig& server, ListKind kind);

// One server's part of a merged list: its stored list (the stamp is unique
// per stored list, never reused) and, per item, whether it shows.
struct ListPart {
  std::uint64_t stamp = 0;
  const std::vector<json>* items = nullptr;
  std::vector<bool> shown;
};

// The merged list serialized, reused until some server's list or its place
// in the merge changes: a tools/list of 10,000 tools is then one copy. Each
// server's part is kept rendered too, so the first list after one server's
// change serializes that server's items only; the other parts are copied.
class MergedList {
 public:
  // `signature`: per server in config order, the stamp of its stored list,
  // 0 when it is left out. True when the cached text is for this signature.
  bool fresh(const std::vector<std::uint64_t>& signature) const {
    return valid_ && signature == signature_;
  }
  // The JSON array of the parts' shown items in order, then `extra` (the
  // gateway's own tools); cached under `signature`. A part is serialized
  // again only when its stamp or its shown items changed.
  const std::string& render(std::vector<std::uint64_t> signature,
                            const std::vector<ListPart>& parts, const json& extra);
  const std::string& text() const { return text_; }
  // What goes around the items changed (the gateway's own tools).
  void invalidate() { valid_ = false; }
  // How many parts the last render serialized (the others were copied).
  std::size_t last_serialized() const { return last_serialized_; }

 private:
  struct Segment {
    std::vector<bool> shown;
    std::string text;  // the shown items, comma-separated, no brackets
  };
  std::vector<std::uint64_t> signature_;
  std::unordered_map<std::uint64_t, Segment> segments_;  // by stamp
  std::string text_;
  std::size_t last_serialized_ = 0;
  bool valid_ = false;
};

}  // namespace mcpbraid
