#include "core/search_eval.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/catalog.hpp"
#include "core/json_fields.hpp"

namespace mcpbraid::search {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "__";  // the gateway's default

json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw DataSetError(file.string() + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) throw DataSetError(file.string() + ": not valid JSON");
  return doc;
}

void load_tools(const fs::path& file, std::vector<ToolDoc>& out) {
  json doc = read_json(file);
  if (!doc.is_object()) throw DataSetError(file.string() + ": expected an object");
  std::string server = string_field(doc, "server");
  if (server.empty()) server = file.stem().string();
  auto tools = doc.find("tools");
  if (tools == doc.end() || !tools->is_array())
    throw DataSetError(file.string() + ": expected a \"tools\" array");
  for (const json& tool : *tools) {
    ToolDoc entry = tool_doc(tool, server);
    if (entry.name.empty()) throw DataSetError(file.string() + ": a tool without a name");
    entry.name = exposed_name(server, entry.name, kSeparator);
    out.push_back(std::move(entry));
  }
}

std::vector<Query> load_queries(const fs::path& file) {
  json doc = read_json(file);
  if (!doc.is_array()) throw DataSetError(file.string() + ": expected an array");
  std::vector<Query> queries;
  for (const json& entry : doc) {
    std::string text = string_field(entry, "query");
    std::string server = string_field(entry, "server");
    std::string tool = string_field(entry, "tool");
    if (text.empty() || server.empty() || tool.empty())
      throw DataSetError(file.string() + ": every entry needs query, server and tool strings");
    queries.push_back({std::move(text), exposed_name(server, tool, kSeparator)});
  }
  return queries;
}

}  // namespace

DataSet load_data_set(const fs::path& dir) {
  fs::path tools_dir = dir / "tools";
  std::error_code ec;
  if (!fs::is_directory(tools_dir, ec))
    throw DataSetError(tools_dir.string() + ": no such directory");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(tools_dir, ec))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());  // document order is part of the results (ties)
  DataSet data;
  for (const auto& file : files) load_tools(file, data.tools);
  data.queries = load_queries(dir / "queries.json");
  return data;
}

Recall evaluate(const ToolIndex& index, const std::vector<Query>& queries) {
  Recall recall;
  recall.queries = queries.size();
  if (queries.empty()) return recall;
  std::size_t at1 = 0, at5 = 0;
  for (const Query& query : queries) {
    std::vector<Hit> hits = index.search(query.text, 5);
    auto rank = std::find_if(hits.begin(), hits.end(),
                             [&](const Hit& h) { return index.doc(h.doc).name == query.expected; });
    if (rank == hits.begin() && rank != hits.end()) ++at1;
    if (rank != hits.end()) {
      ++at5;
      continue;
    }
    std::string miss = "\"" + query.text + "\" -> " + query.expected + "; got";
    for (std::size_t i = 0; i < hits.size(); ++i)
      miss += (i ? ", " : " ") + index.doc(hits[i].doc).name;
    if (hits.empty()) miss += " nothing";
    recall.misses.push_back(std::move(miss));
  }
  recall.at1 = static_cast<double>(at1) / static_cast<double>(queries.size());
  recall.at5 = static_cast<double>(at5) / static_cast<double>(queries.size());
  return recall;
}

}  // namespace mcpbraid::search
