// The search index of search mode: terms, BM25F ranking, documents from
// tools/list entries, and recall on the retrieval data set.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/search_eval.hpp"
#include "core/tool_search.hpp"

namespace search = mcpbraid::search;
using nlohmann::json;
using search::tokenize;
using search::ToolDoc;
using search::ToolIndex;
using Terms = std::vector<std::string>;

namespace {

ToolDoc doc(std::string name, std::string description, std::string server = "srv") {
  return ToolDoc{std::move(name), std::move(server), "", std::move(description), ""};
}

// The exposed names of a search's hits, best first.
std::vector<std::string> found(const ToolIndex& index, std::string_view query,
                               std::size_t limit = 10, std::string_view server = {}) {
  std::vector<std::string> names;
  for (const auto& hit : index.search(query, limit, server))
    names.push_back(index.doc(hit.doc).name);
  return names;
}

}  // namespace

TEST_SUITE("tool_search") {
  TEST_CASE("terms split at camelCase, acronyms, snake_case, dashes, dots and digits") {
    CHECK(tokenize("getFileInfo") == Terms{"get", "fil", "info"});
    CHECK(tokenize("HTTPServer") == Terms{"http", "server"});
    CHECK(tokenize("files__read_file") == Terms{"fil", "read", "fil"});
    CHECK(tokenize("list-dir.v2") == Terms{"list", "dir", "v", "2"});
    CHECK(tokenize("base64Encode") == Terms{"bas", "64", "encod"});
    CHECK(tokenize("  ") == Terms{});
  }

  TEST_CASE("stop words are dropped and terms are lower case") {
    CHECK(tokenize("Read THE contents of a file") == Terms{"read", "content", "fil"});
    CHECK(tokenize("the a to of for and in on with is").empty());
    CHECK(tokenize("list all new issues") == Terms{"list", "all", "new", "issu"});
  }

  TEST_CASE("inflected forms meet their base form") {
    auto same = [](const char* a, const char* b) { return search::stem(a) == search::stem(b); };
    CHECK(same("files", "file"));
    CHECK(same("reading", "read"));
    CHECK(same("listed", "list"));
    CHECK(same("queries", "query"));
    CHECK(same("matches", "match"));
    CHECK(same("processes", "process"));
    CHECK(same("creating", "create"));
    CHECK(same("created", "create"));
    CHECK(same("running", "run"));
    CHECK(same("copied", "copy"));
    CHECK(same("adding", "add"));
    CHECK(same("directories", "directory"));
    CHECK(same("recursively", "recursive"));
    // Words that only look inflected are left as they are.
    CHECK(search::stem("status") == "status");
    CHECK(search::stem("string") == "string");
    CHECK(search::stem("class") == "class");
  }

  TEST_CASE("a term in the name outranks the same term in a description") {
    ToolIndex index;
    index.build({doc("srv__send_message", "Post a text to a channel, read by everyone"),
                 doc("srv__read_file", "Return what a file holds")});
    CHECK(found(index, "read") == std::vector<std::string>{"srv__read_file", "srv__send_message"});
  }

  TEST_CASE("a rare term outranks a common one") {
    ToolIndex index;
    index.build({doc("srv__a", "repository commit"), doc("srv__b", "repository branch"),
                 doc("srv__c", "repository tag"), doc("srv__d", "repository webhook")});
    // Both words occur once in c; "tag" is in one document, "repository" in all.
    auto hits = index.search("repository tag", 10);
    REQUIRE(hits.size() == 4);
    CHECK(index.doc(hits[0].doc).name == "srv__c");
    CHECK(hits[0].score > 2 * hits[1].score);
    // The common term alone: equal scores, in document order.
    CHECK(found(index, "repository") ==
          std::vector<std::string>{"srv__a", "srv__b", "srv__c", "srv__d"});
  }

  TEST_CASE("the title and the parameters are searched too") {
    ToolIndex index;
    index.build({ToolDoc{"srv__t1", "srv", "Weather forecast", "Look something up", ""},
                 ToolDoc{"srv__t2", "srv", "", "Look something up", "latitude longitude"},
                 doc("srv__t3", "Look something up")});
    CHECK(found(index, "forecast") == std::vector<std::string>{"srv__t1"});
    CHECK(found(index, "longitude") == std::vector<std::string>{"srv__t2"});
  }

  TEST_CASE("a synonym of a query term finds a tool, below one that says the word itself") {
    ToolIndex index;
    index.build({doc("srv__delete_file", "Delete a file"), doc("srv__remove_user", "Remove a user"),
                 doc("srv__list_directory", "List a directory"), doc("srv__read_file", "Read it")});
    CHECK(found(index, "remove a file") ==
          std::vector<std::string>{"srv__delete_file", "srv__remove_user", "srv__read_file"});
    CHECK(found(index, "folder") == std::vector<std::string>{"srv__list_directory"});
    // A synonym counts kSynonymWeight of the word; said in the query, it counts in full.
    double remove_user = index.search("remove", 1).at(0).score;
    auto by_delete = index.search("delete", 10);
    REQUIRE(by_delete.size() == 2);
    CHECK(index.doc(by_delete[1].doc).name == "srv__remove_user");
    CHECK(by_delete[1].score == doctest::Approx(search::kSynonymWeight * remove_user));
    auto by_both = index.search("delete remove", 10);
    REQUIRE(by_both.size() == 2);
    CHECK(by_both[0].score == doctest::Approx(by_delete[0].score));
    CHECK(by_both[1].score == doctest::Approx(remove_user));
  }

  TEST_CASE("the server filter keeps only that server's tools") {
    ToolIndex index;
    index.build({doc("a__search", "search issues", "a"), doc("b__search", "search issues", "b"),
                 doc("c__search", "search issues", "c")});
    CHECK(found(index, "search", 10, "b") == std::vector<std::string>{"b__search"});
    CHECK(found(index, "search", 10, "nobody").empty());
    CHECK(found(index, "search").size() == 3);
  }

  TEST_CASE("the limit caps the hits and keeps the best") {
    ToolIndex index;
    index.build({doc("srv__one", "note"), doc("srv__two", "note note note"), doc("srv__note", ""),
                 doc("srv__four", "note")});
    CHECK(found(index, "note", 2) == std::vector<std::string>{"srv__note", "srv__two"});
    CHECK(found(index, "note", 0).empty());
  }

  TEST_CASE("an empty or stop-word query and a query that matches nothing find nothing") {
    ToolIndex index;
    index.build({doc("srv__read_file", "Read the contents of a file")});
    CHECK(index.search("", 5).empty());
    CHECK(index.search("the of a to", 5).empty());
    CHECK(index.search("kubernetes", 5).empty());
    ToolIndex empty;
    CHECK(empty.search("read", 5).empty());
    CHECK(empty.size() == 0);
  }

  TEST_CASE("build replaces the previous index") {
    ToolIndex index;
    index.build({doc("srv__read_file", "")});
    index.build({doc("srv__write_file", "")});
    CHECK(index.size() == 1);
    CHECK(found(index, "read").empty());
    CHECK(found(index, "write") == std::vector<std::string>{"srv__write_file"});
  }

  TEST_CASE("a tools/list entry gives name, title, description and parameters") {
    json tool = {
        {"name", "files__read_file"},
        {"title", "Read file"},
        {"annotations", {{"title", "ignored: title wins"}}},
        {"description", "Read a file"},
        {"inputSchema",
         {{"type", "object"},
          {"properties",
           {{"path", {{"type", "string"}, {"description", "Where it is"}}},
            {"options", {{"type", "object"}, {"properties", {{"encoding", json::object()}}}}},
            {"ranges",
             {{"type", "array"}, {"items", {{"properties", {{"start", json::object()}}}}}}}}}}}};
    ToolDoc d = search::tool_doc(tool, "files");
    CHECK(d.name == "files__read_file");
    CHECK(d.server == "files");
    CHECK(d.title == "Read file");
    CHECK(d.description == "Read a file");
    CHECK(d.params == "options encoding path Where it is ranges start");
    tool.erase("title");
    CHECK(search::tool_doc(tool, "files").title == "ignored: title wins");
  }

  TEST_CASE("fields of the wrong type are ignored, never thrown on") {
    CHECK_NOTHROW(search::tool_doc(json(), "s"));
    CHECK(search::tool_doc(json::array({1, 2}), "s").name.empty());
    CHECK(search::tool_doc("just a string", "s").server == "s");
    json odd = {{"name", 42},
                {"title", json::array()},
                {"annotations", "x"},
                {"description", nullptr},
                {"inputSchema", {{"properties", {{"p", 5}, {"q", {{"description", 7}}}}}}}};
    ToolDoc d;
    CHECK_NOTHROW(d = search::tool_doc(odd, "s"));
    CHECK(d.name.empty());
    CHECK(d.title.empty());
    CHECK(d.description.empty());
    CHECK(d.params == "p q");
    CHECK(search::tool_doc(json{{"inputSchema", {{"properties", "none"}}}}, "s").params.empty());
    CHECK(search::tool_doc(json{{"annotations", {{"title", 1}}}}, "s").title.empty());
  }

  // tests/data/search is required: a missing data set fails, it is not skipped.
  TEST_CASE("recall on the retrieval data set stays above its floor") {
    std::filesystem::path dir = MCPBRAID_SEARCH_DATA;
    REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string() << " is missing");
    search::DataSet data;
    REQUIRE_NOTHROW(data = search::load_data_set(dir));
    REQUIRE(data.queries.size() >= 20);
    ToolIndex index;
    index.build(std::move(data.tools));
    search::Recall recall = search::evaluate(index, data.queries);
    std::string misses;  // shown only when a check fails
    for (const auto& miss : recall.misses) misses += "\n  missed at 5: " + miss;
    INFO("recall@1 " << recall.at1 << ", recall@5 " << recall.at5 << misses);
    CHECK(recall.queries == data.queries.size());
    CHECK(recall.at5 >= 0.8);   // measured 0.87 (104 queries, 309 tools)
    CHECK(recall.at1 >= 0.55);  // measured 0.64
  }
}
