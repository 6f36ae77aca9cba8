#include "core/tool_search.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/json_fields.hpp"

namespace mcpbraid::search {

namespace {

using nlohmann::json;

// Words that carry no meaning for finding a tool; kept short, because a word
// a tool's name uses ("all", "new", "not") must stay searchable.
constexpr std::array<std::string_view, 36> kStopWords = {
    "a",    "an",  "and",  "are", "as",   "at", "be",   "by",    "can",  "do",  "does", "for",
    "from", "how", "i",    "in",  "into", "is", "it",   "its",   "me",   "my",  "of",   "on",
    "or",   "so",  "that", "the", "this", "to", "what", "which", "with", "you", "your", "please",
};

bool is_stop_word(std::string_view word) {
  return std::find(kStopWords.begin(), kStopWords.end(), word) != kStopWords.end();
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_lower(c) || is_upper(c) || is_digit(c);
}
bool is_vowel(char c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

// Whether a new word starts at text[i] inside a run of [A-Za-z0-9]: a
// lower-to-upper step ("getFile"), the last capital of a run before a
// lower-case letter ("HTTPServer"), or a letter-digit step either way.
bool word_starts(std::string_view text, std::size_t i) {
  char prev = text[i - 1], c = text[i];
  if (is_digit(prev) != is_digit(c)) return true;
  if (is_lower(prev) && is_upper(c)) return true;
  return is_upper(prev) && is_upper(c) && i + 1 < text.size() && is_lower(text[i + 1]);
}

bool ends_with(std::string_view word, std::string_view suffix) {
  return word.size() >= suffix.size() && word.substr(word.size() - suffix.size()) == suffix;
}

// A suffix may go only if what stays is a stem: three characters or more,
// with a vowel ("string" and "thing" keep their "ing").
bool stem_left(std::string_view word, std::size_t suffix) {
  if (word.size() < suffix + 3) return false;
  std::string_view rest = word.substr(0, word.size() - suffix);
  return std::any_of(rest.begin(), rest.end(), is_vowel);
}

void drop(std::string& word, std::size_t n) {
  word.resize(word.size() - n);
}

// Plurals: "queries" -> "query", "matches" -> "match", "processes" -> "process",
// "files" -> "file"; "status", "analysis" and "class" are left alone.
void strip_plural(std::string& w) {
  if (w.size() > 4 && ends_with(w, "ies")) {
    drop(w, 3);
    w += 'y';
  } else if (ends_with(w, "sses") ||
             (w.size() > 4 && (ends_with(w, "ches") || ends_with(w, "shes") ||
                               ends_with(w, "xes") || ends_with(w, "zes")))) {
    drop(w, 2);
  } else if (w.size() > 3 && w.back() == 's' && !ends_with(w, "ss") && !ends_with(w, "us") &&
             !ends_with(w, "is")) {
    drop(w, 1);
  }
}

// "copied" -> "copy", "reading" -> "read", "listed" -> "list".
void strip_verb_ending(std::string& w) {
  if (w.size() > 4 && ends_with(w, "ied")) {
    drop(w, 3);
    w += 'y';
  } else if (ends_with(w, "ing") && stem_left(w, 3)) {
    drop(w, 3);
  } else if (ends_with(w, "ed") && stem_left(w, 2)) {
    drop(w, 2);
  } else if (ends_with(w, "ly") && stem_left(w, 2)) {
    drop(w, 2);  // "recursively" -> "recursive"
  }
}

// Words a user and a tool's author say for the same thing: the common verbs
// of tools and a few nouns. Only words that are synonyms in whatever tool
// they occur; a word may be in two groups ("show": get, list).
constexpr std::array<std::array<std::string_view, 5>, 8> kSynonyms = {{
    {"create", "make", "new", "add", ""},
    {"delete", "remove", "erase", "drop", "destroy"},
    {"get", "fetch", "retrieve", "show", ""},
    {"list", "show", "enumerate", "", ""},
    {"search", "find", "lookup", "look", ""},
    {"update", "edit", "modify", "change", ""},
    {"run", "execute", "exec", "launch", ""},
    {"directory", "folder", "dir", "", ""},
}};

using SynonymMap = std::unordered_map<std::string, std::vector<std::string>>;

// Stem -> the stems of its synonyms, built once.
const SynonymMap& synonym_map() {
  static const SynonymMap map = [] {
    SynonymMap out;
    for (const auto& group : kSynonyms)
      for (std::string_view word : group)
        for (std::string_view other : group) {
          if (word.empty() || other.empty() || word == other) continue;
          std::vector<std::string>& list = out[stem(word)];
          std::string term = stem(other);
          if (std::find(list.begin(), list.end(), term) == list.end()) list.push_back(term);
        }
    return out;
  }();
  return map;
}

}  // namespace

// Every rule applies to the base word as well as to the inflected ones, so
// the two meet: a final 'e' goes ("create", "creating", "created" -> "creat")
// and a final double consonant other than l, s, z is halved ("running" ->
// "run", and "add" and "adding" -> "ad").
std::string stem(std::string_view word) {
  std::string w(word);
  strip_plural(w);
  strip_verb_ending(w);
  if (w.size() > 3 && w.back() == 'e') drop(w, 1);
  std::size_t n = w.size();
  if (n >= 3 && w[n - 1] == w[n - 2] && !is_vowel(w[n - 1]) && !is_digit(w[n - 1]) &&
      w[n - 1] != 'l' && w[n - 1] != 's' && w[n - 1] != 'z')
    drop(w, 1);
  return w;
}

std::vector<std::string> tokenize(std::string_view text) {
  std::vector<std::string> terms;
  std::string word;
  auto flush = [&] {
    if (!word.empty() && !is_stop_word(word)) terms.push_back(stem(word));
    word.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!is_alnum(c)) {
      flush();
      continue;
    }
    if (!word.empty() && word_starts(text, i)) flush();
    word.push_back(is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c);
  }
  flush();
  return terms;
}

namespace {

void append_word(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out += ' ';
  out += text;
}

// The property names of an object schema, or of the items of an array schema.
const json* nested_properties(const json& schema) {
  if (!schema.is_object()) return nullptr;
  auto props = schema.find("properties");
  if (props != schema.end() && props->is_object()) return &*props;
  auto items = schema.find("items");
  if (items == schema.end() || !items->is_object()) return nullptr;
  props = items->find("properties");
  return props != items->end() && props->is_object() ? &*props : nullptr;
}

std::string param_text(const json& tool) {
  std::string out;
  auto schema = tool.find("inputSchema");
  if (schema == tool.end() || !schema->is_object()) return out;
  auto props = schema->find("properties");
  if (props == schema->end() || !props->is_object()) return out;
  for (const auto& [name, property] : props->items()) {
    append_word(out, name);
    if (!property.is_object()) continue;
    append_word(out, string_field(property, "description"));
    if (const json* nested = nested_properties(property))
      for (const auto& [inner, unused] : nested->items()) append_word(out, inner);
  }
  return out;
}

}  // namespace

ToolDoc tool_doc(const json& tool, std::string server) {
  ToolDoc doc;
  doc.server = std::move(server);
  if (!tool.is_object()) return doc;
  doc.name = string_field(tool, "name");
  doc.title = string_field(tool, "title");
  if (doc.title.empty()) {
    auto annotations = tool.find("annotations");
    if (annotations != tool.end() && annotations->is_object())
      doc.title = string_field(*annotations, "title");
  }
  doc.description = string_field(tool, "description");
  doc.params = param_text(tool);
  return doc;
}

namespace {

// A document's weighted term frequencies, in first-seen order so that the
// postings, and so the sums of search(), do not depend on hashing.
using TermFrequencies = std::vector<std::pair<std::string, double>>;

void add_term(TermFrequencies& into, const std::string& term, double weight) {
  auto it = std::find_if(into.begin(), into.end(), [&](const auto& e) { return e.first == term; });
  if (it == into.end())
    into.emplace_back(term, weight);
  else
    it->second += weight;
}

struct Counted {
  TermFrequencies terms;
  double length = 0;  // weighted, like the frequencies
};

Counted count_terms(const ToolDoc& doc) {
  Counted counted;
  auto field = [&](const std::string& text, double weight) {
    for (const std::string& term : tokenize(text)) {
      add_term(counted.terms, term, weight);
      counted.length += weight;
    }
  };
  field(doc.name, kNameWeight);
  field(doc.title, kTitleWeight);
  field(doc.description, kDescriptionWeight);
  field(doc.params, kParamsWeight);
  return counted;
}

}  // namespace

void ToolIndex::build(std::vector<ToolDoc> docs) {
  docs_ = std::move(docs);
  postings_.clear();
  std::vector<Counted> counted;
  counted.reserve(docs_.size());
  double total = 0;
  for (const ToolDoc& doc : docs_) {
    counted.push_back(count_terms(doc));
    total += counted.back().length;
  }
  double average = total > 0 ? total / static_cast<double>(docs_.size()) : 1.0;
  for (std::size_t d = 0; d < docs_.size(); ++d) {
    double norm = kK1 * (1 - kB + kB * counted[d].length / average);
    auto posting = [&](double tf) {
      return Posting{static_cast<std::uint32_t>(d),
                     static_cast<float>(tf * (kK1 + 1) / (tf + norm))};
    };
    for (const auto& [term, tf] : counted[d].terms) postings_[term].push_back(posting(tf));
  }
}

double ToolIndex::idf(std::size_t df) const {
  double n = static_cast<double>(docs_.size());
  double f = static_cast<double>(df);
  return std::log(1.0 + (n - f + 0.5) / (f + 0.5));
}

void ToolIndex::accumulate(const Postings& postings, double factor,
                           std::vector<double>& scores) const {
  double idf_weight = factor * idf(postings.size());
  for (const Posting& p : postings) scores[p.doc] += idf_weight * p.weight;
}

// Scores accumulate in a dense array over the documents, then one pass keeps
// the best `limit` in a heap: no sort of every document that matched.
std::vector<Hit> ToolIndex::search(std::string_view query, std::size_t limit,
                                   std::string_view server) const {
  std::vector<Hit> hits;
  if (limit == 0 || docs_.empty()) return hits;
  // Each term once, whatever the query repeats: its own terms at full
  // weight, then their synonyms that it does not say itself.
  std::vector<std::pair<std::string, double>> terms;
  auto add = [&](std::string term, double factor) {
    if (std::none_of(terms.begin(), terms.end(), [&](const auto& t) { return t.first == term; }))
      terms.emplace_back(std::move(term), factor);
  };
  for (std::string& term : tokenize(query)) add(std::move(term), 1.0);
  for (std::size_t i = 0, said = terms.size(); i < said; ++i) {
    auto synonyms = synonym_map().find(terms[i].first);
    if (synonyms == synonym_map().end()) continue;
    for (const std::string& synonym : synonyms->second) add(synonym, kSynonymWeight);
  }
  std::vector<double> scores(docs_.size(), 0.0);
  for (const auto& [term, factor] : terms)
    if (auto it = postings_.find(term); it != postings_.end())
      accumulate(it->second, factor, scores);
  // `better` orders the heap so that its front is the worst hit kept.
  auto better = [](const Hit& a, const Hit& b) {
    return a.score != b.score ? a.score > b.score : a.doc < b.doc;
  };
  for (std::size_t d = 0; d < scores.size(); ++d) {
    if (scores[d] <= 0 || (!server.empty() && docs_[d].server != server)) continue;
    Hit hit{d, scores[d]};
    if (hits.size() < limit) {
      hits.push_back(hit);
      std::push_heap(hits.begin(), hits.end(), better);
    } else if (better(hit, hits.front())) {
      std::pop_heap(hits.begin(), hits.end(), better);
      hits.back() = hit;
      std::push_heap(hits.begin(), hits.end(), better);
    }
  }
  std::sort_heap(hits.begin(), hits.end(), better);
  return hits;
}

}  // namespace mcpbraid::search
