// The client-facing session: version negotiation and the merged server view.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/session.hpp"

using mcpbraid::BackendView;
using mcpbraid::json;

TEST_CASE("the supported versions are 2024-11-05 through 2025-11-25, latest first") {
  CHECK(mcpbraid::supported_protocol_versions() ==
        std::vector<std::string>{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"});
  CHECK(std::string(mcpbraid::kLatestProtocolVersion) == "2025-11-25");
}

TEST_CASE("a supported client version is answered with that same version") {
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    CAPTURE(version);
    CHECK(mcpbraid::negotiate_version(json(version)) == version);
  }
}

TEST_CASE("an unknown or malformed client version is answered with the latest") {
  CHECK(mcpbraid::negotiate_version(json("2026-07-28")) == "2025-11-25");
  CHECK(mcpbraid::negotiate_version(json("2024-10-07")) == "2025-11-25");
  CHECK(mcpbraid::negotiate_version(json("")) == "2025-11-25");
  CHECK(mcpbraid::negotiate_version(json(20250618)) == "2025-11-25");
  CHECK(mcpbraid::negotiate_version(json(nullptr)) == "2025-11-25");
  CHECK(mcpbraid::negotiate_version(json::array({"2025-06-18"})) == "2025-11-25");
}

TEST_CASE("backends see only the client's roots, sampling, elicitation and tasks") {
  json client = {{"roots", {{"listChanged", true}}},
                 {"sampling", json::object()},
                 {"elicitation", {{"form", json::object()}}},
                 {"experimental", {{"x", 1}}},
                 {"tasks", json::object()}};
  CHECK(mcpbraid::backend_client_capabilities(client) ==
        json{{"roots", {{"listChanged", true}}},
             {"sampling", json::object()},
             {"elicitation", {{"form", json::object()}}},
             {"tasks", json::object()}});
}

TEST_CASE("absent or malformed client capabilities give backends an empty object") {
  CHECK(mcpbraid::backend_client_capabilities(json(nullptr)) == json::object());
  CHECK(mcpbraid::backend_client_capabilities(json::array()) == json::object());
  CHECK(mcpbraid::backend_client_capabilities(json::object()) == json::object());
  // A relayed capability that is not an object is dropped.
  CHECK(mcpbraid::backend_client_capabilities(json{
            {"roots", true}, {"sampling", json::object()}}) == json{{"sampling", json::object()}});
}

TEST_CASE("with no backends the gateway still offers a tool list") {
  CHECK(mcpbraid::merge_capabilities({}, false) == json{{"tools", {{"listChanged", true}}}});
}

TEST_CASE("merged capabilities are the union of the backends, always with listChanged") {
  std::vector<BackendView> ready = {
      {"fs", json{{"tools", json::object()}, {"resources", {{"subscribe", false}}}}, ""},
      {"notes", json{{"prompts", {{"listChanged", false}}}, {"logging", json::object()}}, ""},
  };
  CHECK(mcpbraid::merge_capabilities(ready, false) == json{{"tools", {{"listChanged", true}}},
                                                           {"prompts", {{"listChanged", true}}},
                                                           {"resources", {{"listChanged", true}}},
                                                           {"logging", json::object()}});
}

TEST_CASE("resource subscribe and completions are advertised when any backend has them") {
  std::vector<BackendView> ready = {
      {"a", json{{"resources", json::object()}}, ""},
      {"b", json{{"resources", {{"subscribe", true}}}, {"completions", json::object()}}, ""},
  };
  CHECK(mcpbraid::merge_capabilities(ready, false) ==
        json{{"tools", {{"listChanged", true}}},
             {"resources", {{"listChanged", true}, {"subscribe", true}}},
             {"completions", json::object()}});
}

TEST_CASE("pending backends make the gateway advertise every kind") {
  json everything = {{"tools", {{"listChanged", true}}},
                     {"prompts", {{"listChanged", true}}},
                     {"resources", {{"listChanged", true}, {"subscribe", true}}},
                     {"logging", json::object()},
                     {"completions", json::object()},
                     {"tasks",
                      {{"list", json::object()},
                       {"cancel", json::object()},
                       {"requests", {{"tools", {{"call", json::object()}}}}}}}};
  CHECK(mcpbraid::merge_capabilities({}, true) == everything);
  std::vector<BackendView> ready = {{"fs", json{{"tools", json::object()}}, ""}};
  CHECK(mcpbraid::merge_capabilities(ready, true) == everything);
}

TEST_CASE("tasks are advertised as the union of what the backends take") {
  // server-everything's: list, cancel and task-augmented tools/call.
  json everything_tasks = {{"list", json::object()},
                           {"cancel", json::object()},
                           {"requests", {{"tools", {{"call", json::object()}}}}}};
  std::vector<BackendView> ready = {{"a", json{{"tools", json::object()}}, ""},
                                    {"b", json{{"tasks", everything_tasks}}, ""}};
  CHECK(mcpbraid::merge_capabilities(ready, false)["tasks"] == everything_tasks);
  // Only calls: tasks/list is the gateway's own merge, so it is offered;
  // cancel is not, since no backend takes it.
  std::vector<BackendView> calls_only = {
      {"c", json{{"tasks", {{"requests", {{"tools", {{"call", json::object()}}}}}}}}, ""}};
  CHECK(mcpbraid::merge_capabilities(calls_only, false)["tasks"] ==
        json{{"list", json::object()}, {"requests", {{"tools", {{"call", json::object()}}}}}});
  // Malformed or absent: nothing.
  std::vector<BackendView> odd = {{"d", json{{"tasks", {{"requests", "all"}}}}, ""},
                                  {"e", json{{"tasks", true}}, ""}};
  CHECK_FALSE(mcpbraid::merge_capabilities(odd, false).contains("tasks"));
}

TEST_CASE("the client's tasks capability is relayed to backends") {
  json client = {{"tasks", {{"requests", {{"elicitation", {{"create", json::object()}}}}}}},
                 {"experimental", json::object()}};
  CHECK(mcpbraid::backend_client_capabilities(client) ==
        json{{"tasks", {{"requests", {{"elicitation", {{"create", json::object()}}}}}}}});
}

TEST_CASE("a backend without capabilities contributes nothing") {
  std::vector<BackendView> ready = {{"odd", json(nullptr), ""}, {"arr", json::array(), ""}};
  CHECK(mcpbraid::merge_capabilities(ready, false) == json{{"tools", {{"listChanged", true}}}});
}

TEST_CASE("a backend with a malformed subscribe flag does not break the merge") {
  std::vector<BackendView> ready = {{"odd", json{{"resources", {{"subscribe", "yes"}}}}, ""},
                                    {"nul", json{{"resources", {{"subscribe", nullptr}}}}, ""}};
  json merged;
  CHECK_NOTHROW(merged = mcpbraid::merge_capabilities(ready, false));
  CHECK(merged["resources"]["listChanged"] == true);
}

TEST_CASE("instructions are combined as one section per backend, in order") {
  std::vector<BackendView> ready = {
      {"fs", json::object(), "Use read for files."},
      {"quiet", json::object(), ""},
      {"git", json::object(), "Commit often.\nPush rarely."},
  };
  CHECK(mcpbraid::combine_instructions(ready) ==
        "## fs\nUse read for files.\n\n## git\nCommit often.\nPush rarely.");
}

TEST_CASE("no instructions from any backend combine to an empty string") {
  CHECK(mcpbraid::combine_instructions({}) == "");
  CHECK(mcpbraid::combine_instructions({{"a", json::object(), ""}, {"b", json::object(), ""}}) ==
        "");
  CHECK(mcpbraid::combine_instructions({{"only", json::object(), "Hi."}}) == "## only\nHi.");
}

TEST_CASE("search_instructions: how to search, each searched server with its first real line") {
  std::vector<BackendView> searched = {
      {"everything", json::object(),
       "# Everything Server\n\nA server that tests every feature.\nMore."},
      {"memory", json::object(), ""},
      {"headings", json::object(), "## Only a heading\n"},
      {"long", json::object(), std::string(199, 'x') + "\xc3\xa9" + "tail"}};
  std::vector<BackendView> listed = {{"files", json::object(), "Reads files."}};
  std::string text = mcpbraid::search_instructions(searched, listed);
  CHECK(text.rfind("Not every tool of this gateway is listed.", 0) == 0);
  CHECK(text.find("gateway_search_tools") != std::string::npos);
  CHECK(text.find("\n- everything: A server that tests every feature.\n") != std::string::npos);
  CHECK(text.find("More.") == std::string::npos);
  CHECK(text.find("\n- memory\n") != std::string::npos);
  CHECK(text.find("\n- headings: Only a heading\n") != std::string::npos);
  // Cut at 200 bytes, not inside the two-byte character at 199.
  CHECK(text.find("\n- long: " + std::string(199, 'x') + "...") != std::string::npos);
  // The listed servers keep their whole instructions.
  CHECK(text.find("\n\n## files\nReads files.") != std::string::npos);
}
