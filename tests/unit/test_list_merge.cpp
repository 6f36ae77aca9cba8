// The merged list's rendered text: same bytes as one array's dump, and only
// the parts that changed are serialized again.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/list_merge.hpp"

using mcpbraid::ListPart;
using mcpbraid::MergedList;
using json = nlohmann::json;

namespace {

std::vector<json> tools(const std::string& prefix, int n) {
  std::vector<json> items;
  for (int i = 0; i < n; ++i)
    items.push_back(json{{"name", prefix + std::to_string(i)},
                         {"description", "tool \"" + std::to_string(i) + "\" \u00e9"},
                         {"inputSchema", {{"type", "object"}}}});
  return items;
}

ListPart part(std::uint64_t stamp, const std::vector<json>& items) {
  return ListPart{stamp, &items, std::vector<bool>(items.size(), true)};
}

// What the merged text must equal: one array of the shown items, then extra.
std::string expected(const std::vector<ListPart>& parts, const json& extra) {
  json all = json::array();
  for (const auto& p : parts)
    for (std::size_t i = 0; i < p.items->size(); ++i)
      if (p.shown[i]) all.push_back((*p.items)[i]);
  for (const auto& item : extra) all.push_back(item);
  return all.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("a merged list renders as one array's dump, parts in order, extra last") {
  auto a = tools("a", 3);
  auto b = tools("b", 2);
  std::vector<json> empty;
  json extra = json::array({json{{"name", "mcpbraid__search"}}});
  MergedList merged;
  std::vector<ListPart> parts{part(1, a), part(2, empty), part(3, b)};
  const std::string& text = merged.render({1, 2, 3}, parts, extra);
  CHECK(text == expected(parts, extra));
  CHECK(merged.last_serialized() == 3);
  CHECK(merged.fresh({1, 2, 3}));
  CHECK_FALSE(merged.fresh({1, 2, 4}));

  // Nothing at all, and extra only.
  MergedList none;
  CHECK(none.render({}, {}, json::array()) == "[]");
  CHECK(none.render({}, {}, extra) == expected({}, extra));
}

TEST_CASE("after one part changes, only that part is serialized again") {
  auto a = tools("a", 50);
  auto b = tools("b", 50);
  auto c = tools("c", 50);
  MergedList merged;
  merged.render({1, 2, 3}, {part(1, a), part(2, b), part(3, c)}, json::array());
  CHECK(merged.last_serialized() == 3);

  auto b2 = tools("B", 7);
  std::vector<ListPart> parts{part(1, a), part(4, b2), part(3, c)};
  CHECK(merged.render({1, 4, 3}, parts, json::array()) == expected(parts, json::array()));
  CHECK(merged.last_serialized() == 1);

  // A part whose shown items change (a name collision elsewhere) is
  // serialized again even though its stamp did not change.
  parts[0].shown[5] = false;
  parts[2].shown[0] = false;
  CHECK(merged.render({1, 4, 3}, parts, json::array()) == expected(parts, json::array()));
  CHECK(merged.last_serialized() == 2);

  // A part left out, then back: it was dropped from the cache, so it is
  // serialized again; the order of parts follows the call.
  std::vector<ListPart> two{part(3, c), part(1, a)};
  CHECK(merged.render({3, 0, 1}, two, json::array()) == expected(two, json::array()));
  CHECK(merged.last_serialized() == 2);
  CHECK(merged.render({3, 4, 1}, {two[0], part(4, b2), two[1]}, json::array()) ==
        expected({two[0], part(4, b2), two[1]}, json::array()));
  CHECK(merged.last_serialized() == 1);
}

TEST_CASE("a part with nothing shown leaves no stray comma") {
  auto a = tools("a", 2);
  auto b = tools("b", 2);
  ListPart hidden = part(2, b);
  hidden.shown.assign(2, false);
  std::vector<ListPart> parts{hidden, part(1, a), hidden};
  parts[2].stamp = 3;
  json extra = json::array({json{{"name", "x"}}});
  MergedList merged;
  CHECK(merged.render({2, 1, 3}, parts, extra) == expected(parts, extra));
  std::vector<ListPart> only_hidden{hidden};
  CHECK(merged.render({2}, only_hidden, json::array()) == "[]");
}
