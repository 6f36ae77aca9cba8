// The search index of search mode, alone: the time of one query over 10,000
// tools, and with --data DIR the recall of the retrieval data set
// (tests/data/search by default; core/search_eval.hpp has the format).
//   search 10000 tools: p50 12.3 us, p99 40.1 us (build 35 ms)
//   recall@1 0.78 recall@5 0.95 (47 queries, 312 tools)
// followed by the queries missed at 5, one a line.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/search_eval.hpp"
#include "core/tool_search.hpp"

namespace {

using namespace mcpbraid::search;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTools = 10000;
constexpr std::size_t kToolsPerServer = 100;
constexpr std::size_t kQueries = 1000;
constexpr std::size_t kLimit = 8;

constexpr std::array<std::string_view, 24> kVerbs = {
    "get",    "list",   "create", "delete", "update", "search", "read",  "write",
    "move",   "copy",   "fetch",  "send",   "query",  "run",    "start", "stop",
    "export", "import", "sync",   "merge",  "close",  "open",   "check", "describe"};
constexpr std::array<std::string_view, 48> kNouns = {
    "file",    "directory", "issue",   "pull_request", "branch",   "commit",   "user",
    "channel", "message",   "event",   "calendar",     "page",     "database", "table",
    "row",     "record",    "bucket",  "object",       "image",    "video",    "document",
    "comment", "label",     "project", "task",         "ticket",   "invoice",  "customer",
    "payment", "order",     "product", "repository",   "workflow", "job",      "container",
    "cluster", "pod",       "secret",  "token",        "webhook",  "alert",    "metric",
    "log",     "dashboard", "query",   "schema",       "index",    "note"};
// Description words, most frequent first: ranked with the words of kTail
// after them, they are drawn with Zipf frequencies (rank r with weight 1/r),
// as the words of real tool descriptions are.
constexpr std::array<std::string_view, 64> kCommon = {
    "the",      "a",       "to",       "of",        "and",        "for",       "in",
    "with",     "returns", "from",     "by",        "all",        "list",      "new",
    "optional", "id",      "name",     "if",        "or",         "is",        "specified",
    "given",    "results", "details",  "content",   "existing",   "data",      "using",
    "status",   "limit",   "default",  "multiple",  "current",    "filter",    "information",
    "string",   "number",  "url",      "path",      "account",    "workspace", "team",
    "recent",   "remote",  "local",    "shared",    "public",     "private",   "metadata",
    "owner",    "single",  "matching", "including", "pagination", "page",      "format",
    "search",   "query",   "text",     "type",      "value",      "time",      "date",
    "level"};
constexpr std::size_t kTail = 4000;  // made-up words: product names, jargon

std::vector<std::string> vocabulary() {
  constexpr std::array<std::string_view, 16> kOnsets = {"b", "k", "d", "f", "g", "l", "m",  "n",
                                                        "p", "r", "s", "t", "v", "z", "tr", "st"};
  constexpr std::array<std::string_view, 5> kVowels = {"a", "e", "i", "o", "u"};
  std::vector<std::string> words(kCommon.begin(), kCommon.end());
  for (std::size_t i = 0; i < kTail; ++i) {
    std::string word;
    for (std::size_t n = i, syllables = 2 + i % 2; syllables > 0; --syllables) {
      word += kOnsets[n % kOnsets.size()];
      n /= kOnsets.size();
      word += kVowels[n % kVowels.size()];
      n /= kVowels.size();
    }
    words.push_back(word + "x" + std::to_string(i % 10));  // distinct whatever the syllables
  }
  return words;
}

// A deterministic generator (splitmix64), the same sequence on every machine.
struct Random {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  template <class List>
  std::string_view pick(const List& list) {
    return list[next() % list.size()];
  }
};

class Zipf {
 public:
  explicit Zipf(std::vector<std::string> words) : words_(std::move(words)) {
    double sum = 0;
    for (std::size_t r = 1; r <= words_.size(); ++r) cdf_.push_back(sum += 1.0 / r);
    for (double& c : cdf_) c /= sum;
  }
  const std::string& draw(Random& random) const {
    auto it = std::lower_bound(cdf_.begin(), cdf_.end(), random.uniform());
    return words_[std::min<std::size_t>(it - cdf_.begin(), words_.size() - 1)];
  }
  std::string sentence(Random& random, std::size_t words) const {
    std::string out;
    for (std::size_t i = 0; i < words; ++i) out += (i ? " " : "") + draw(random);
    return out;
  }

 private:
  std::vector<std::string> words_;
  std::vector<double> cdf_;
};

// 100 servers of 100 tools: verb_noun names, some with a product word,
// descriptions of 10 to 30 words, one to four parameters.
std::vector<ToolDoc> synthetic_tools(const Zipf& zipf) {
  Random random{42};
  std::vector<ToolDoc> tools;
  tools.reserve(kTools);
  for (std::size_t i = 0; i < kTools; ++i) {
    ToolDoc doc;
    char server[16];
    std::snprintf(server, sizeof server, "srv%03zu", i / kToolsPerServer);
    doc.server = server;
    std::string verb(random.pick(kVerbs)), noun(random.pick(kNouns));
    doc.name = doc.server + "__" + verb + "_" + noun;
    if (random.next() % 3 == 0) doc.name += "_" + zipf.draw(random);
    doc.description = verb + " a " + noun + " " + zipf.sentence(random, 8 + random.next() % 23);
    for (std::uint64_t p = 0, n = 1 + random.next() % 4; p < n; ++p)
      doc.params += std::string(random.pick(kNouns)) + "_id " +
                    zipf.sentence(random, 3 + random.next() % 6) + " ";
    tools.push_back(std::move(doc));
  }
  return tools;
}

// Half of them a tool's verb and noun in other words' company, half any words.
std::vector<std::string> synthetic_queries(const Zipf& zipf) {
  Random random{7};
  std::vector<std::string> queries;
  for (std::size_t i = 0; i < kQueries; ++i) {
    std::string query;
    if (i % 2 == 0)
      query = std::string(random.pick(kVerbs)) + " " + std::string(random.pick(kNouns)) + " " +
              zipf.sentence(random, 1 + random.next() % 3);
    else
      query = zipf.sentence(random, 2 + random.next() % 5);
    queries.push_back(std::move(query));
  }
  return queries;
}

double percentile(std::vector<double> sorted, double p) {
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[i];
}

// Median and p99 of one search with limit 8, each query timed alone after a
// warm-up pass over all of them.
void time_searches(const char* label, std::vector<ToolDoc> tools,
                   const std::vector<std::string>& queries) {
  auto start = Clock::now();
  ToolIndex index;
  index.build(std::move(tools));
  double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  std::size_t found = 0;
  for (const auto& query : queries) found += index.search(query, kLimit).size();  // warm-up
  std::vector<double> us;
  us.reserve(queries.size());
  for (const auto& query : queries) {
    auto begin = Clock::now();
    found += index.search(query, kLimit).size();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - begin).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("search %zu tools%s: p50 %.1f us, p99 %.1f us (build %.0f ms)\n", index.size(), label,
              percentile(us, 0.5), percentile(us, 0.99), build_ms);
  if (found == 0) std::printf("search: no query found anything\n");
}

// The data set's tools copied under numbered servers up to 10,000 or more,
// with its queries over and over: the timing on real text.
void time_data_set(const DataSet& data) {
  if (data.tools.empty() || data.queries.empty()) return;
  std::vector<ToolDoc> tools;
  for (std::size_t copy = 0; tools.size() < kTools; ++copy) {
    for (ToolDoc doc : data.tools) {
      std::string server = doc.server + "-" + std::to_string(copy);
      doc.name.replace(0, doc.server.size(), server);
      doc.server = std::move(server);
      tools.push_back(std::move(doc));
    }
  }
  std::vector<std::string> queries;
  for (std::size_t i = 0; i < kQueries; ++i)
    queries.push_back(data.queries[i % data.queries.size()].text);
  time_searches(" (the data set's, copied)", std::move(tools), queries);
}

int measure_recall(const std::string& dir) {
  DataSet data;
  try {
    data = load_data_set(dir);
  } catch (const DataSetError& e) {
    std::fprintf(stderr, "mcpbraid_bench_search: %s\n", e.what());
    return 1;
  }
  time_data_set(data);
  ToolIndex index;
  std::size_t tools = data.tools.size();
  index.build(std::move(data.tools));
  Recall recall = evaluate(index, data.queries);
  std::printf("recall@1 %.2f recall@5 %.2f (%zu queries, %zu tools)\n", recall.at1, recall.at5,
              recall.queries, tools);
  for (const auto& miss : recall.misses) std::printf("  missed at 5: %s\n", miss.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      data_dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: mcpbraid_bench_search [--data DIR]\n");
      return 2;
    }
  }
  Zipf zipf(vocabulary());
  time_searches("", synthetic_tools(zipf), synthetic_queries(zipf));
  return data_dir.empty() ? 0 : measure_recall(data_dir);
}
