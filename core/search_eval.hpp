#pragma once
// The retrieval data set of the search index (tests/data/search) and recall
// over it, shared by the unit test and bench/bench_search.
//   DIR/tools/<server>.json  {"server": "...", "source": "...", "tools": [tools/list entries]}
//   DIR/queries.json         [{"query": "...", "server": "...", "tool": "<the tool's own name>"}]
#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tool_search.hpp"

namespace mcpbraid::search {

struct DataSetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Query {
  std::string text;
  std::string expected;  // the exposed name of the tool it should find
};

struct DataSet {
  std::vector<ToolDoc> tools;  // exposed names server + "__" + name, files in name order
  std::vector<Query> queries;
};

// Throws DataSetError naming the file and what is wrong with it.
DataSet load_data_set(const std::filesystem::path& dir);

struct Recall {
  double at1 = 0;  // share of queries whose expected tool is the first hit
  double at5 = 0;  // ... among the first five
  std::size_t queries = 0;
  // The queries missed at 5: `"text" -> expected; got a, b, c`.
  std::vector<std::string> misses;
};

// Every query against the whole index, no server filter, as a client would ask.
Recall evaluate(const ToolIndex& index, const std::vector<Query>& queries);

}  // namespace mcpbraid::search
