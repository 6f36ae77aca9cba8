#pragma once
// The search index of the gateway's search mode: tools hidden from
// tools/list are found by a query to gateway_search_tools. BM25F over a
// tool's name, title, description and parameters, with an inverted index so
// a query over 10,000 tools costs microseconds.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mcpbraid::search {

// Lower-case terms of a text, for documents and queries alike: split on
// anything not [A-Za-z0-9] and at camelCase and letter-digit boundaries
// ("getFileInfo" -> get file info, "HTTPServer" -> http server, "v2" -> v 2),
// English stop words dropped, then a light stemmer so that "files" and
// "file", "reading" and "read", "listed" and "list" give the same term. The
// stems need not be words ("file" -> "fil"): only equality matters.
std::vector<std::string> tokenize(std::string_view text);

// The stemmer alone, on one lower-case word (tokenize applies it).
std::string stem(std::string_view word);

struct ToolDoc {
  std::string name;         // the exposed name, e.g. "files__read_file"
  std::string server;       // the server's config name
  std::string title;        // tool.title, else tool.annotations.title, else ""
  std::string description;  // tool.description
  // inputSchema.properties: each name and description, and the names of the
  // properties of an object (or array of objects) parameter, space-separated.
  std::string params;
};

// From a tools/list entry in its exposed form. Fields of the wrong type are
// ignored: never throws.
ToolDoc tool_doc(const nlohmann::json& tool, std::string server);

struct Hit {
  std::size_t doc;  // index into the documents given to build()
  double score;
};

// Field weights of BM25F: a term in the name counts three times.
inline constexpr double kNameWeight = 3.0;
inline constexpr double kTitleWeight = 2.0;
inline constexpr double kDescriptionWeight = 1.0;
inline constexpr double kParamsWeight = 1.0;
inline constexpr double kK1 = 1.2;
inline constexpr double kB = 0.75;
// A query term also finds its synonyms of a small thesaurus of tool
// vocabulary ("remove" finds "delete", "folder" finds "directory"), at this
// fraction of an exact match's score.
inline constexpr double kSynonymWeight = 0.7;

// BM25F (Robertson et al., "Simple BM25 extension to multiple weighted
// fields"): a term's frequency in a document is the weighted sum of its
// frequencies in the fields, the document's length the weighted sum of the
// fields' lengths in terms, and one BM25 saturation and length normalisation
// (k1 = 1.2, b = 0.75) is applied to that sum:
//   score(d, q) = sum over distinct terms t of q of
//     idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * len(d) / avglen))
//   idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
// plus kSynonymWeight times the same sum over the synonyms of q's terms that q
// does not contain itself.
// Immutable between builds: search() may run on several threads at once.
class ToolIndex {
 public:
  void build(std::vector<ToolDoc> docs);  // replaces the index
  // Best first, ties by document order; at most `limit` hits, each with a
  // score > 0; only the tools of `server` when it is not empty. A query with
  // no terms (empty, stop words only) finds nothing.
  std::vector<Hit> search(std::string_view query, std::size_t limit,
                          std::string_view server = {}) const;
  const ToolDoc& doc(std::size_t i) const { return docs_.at(i); }
  std::size_t size() const { return docs_.size(); }

 private:
  // A term's BM25 weight in a document, all but the idf: it depends on the
  // document alone, so build() computes it once.
  struct Posting {
    std::uint32_t doc;
    float weight;  // tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avglen)), tf weighted
  };
  using Postings = std::vector<Posting>;

  double idf(std::size_t df) const;
  // Adds factor x idf x each posting's weight to scores.
  void accumulate(const Postings& postings, double factor, std::vector<double>& scores) const;

  std::vector<ToolDoc> docs_;
  std::unordered_map<std::string, Postings> postings_;  // term -> postings, in document order
};

}  // namespace mcpbraid::search
