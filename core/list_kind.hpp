#pragma once
// The four lists a server publishes, and their names on the wire.
#include <cstddef>

namespace mcpbraid {

enum class ListKind { tools, prompts, resources, resource_templates };
inline constexpr std::size_t kListKinds = 4;
inline constexpr ListKind kAllListKinds[] = {ListKind::tools, ListKind::prompts,
                                             ListKind::resources, ListKind::resource_templates};

inline const char* list_method(ListKind kind) {
  switch (kind) {
    case ListKind::tools:
      return "tools/list";
    case ListKind::prompts:
      return "prompts/list";
    case ListKind::resources:
      return "resources/list";
    case ListKind::resource_templates:
      return "resources/templates/list";
  }
  return "";
}

// The member of the list result that holds the items.
inline const char* list_key(ListKind kind) {
  switch (kind) {
    case ListKind::tools:
      return "tools";
    case ListKind::prompts:
      return "prompts";
    case ListKind::resources:
      return "resources";
    case ListKind::resource_templates:
      return "resourceTemplates";
  }
  return "";
}

// Templates change with resources: one notification covers both.
inline const char* list_changed_method(ListKind kind) {
  switch (kind) {
    case ListKind::tools:
      return "notifications/tools/list_changed";
    case ListKind::prompts:
      return "notifications/prompts/list_changed";
    default:
      return "notifications/resources/list_changed";
  }
}

}  // namespace mcpbraid
