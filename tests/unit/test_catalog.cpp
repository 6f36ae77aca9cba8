// Naming and routing: exposed names, the name table, URI templates, resource owners.
#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/catalog.hpp"

using mcpbraid::exposed_name;
using mcpbraid::NameTable;
using mcpbraid::ResourceTable;
using mcpbraid::uri_template_matches;

namespace {

// Milliseconds one uri_template_matches call takes, and its result.
std::pair<bool, double> timed_match(const std::string& tpl, const std::string& uri) {
  auto start = std::chrono::steady_clock::now();
  bool matched = uri_template_matches(tpl, uri);
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  return {matched, took.count()};
}

// "{v0}{v1}...": n adjacent expressions, the worst case for a backtracking matcher.
std::string adjacent_expressions(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "{v" + std::to_string(i) + "}";
  return out;
}

bool valid_exposed(const std::string& name) {
  if (name.empty() || name.size() > 48) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

}  // namespace

TEST_CASE("stable_hash is 64-bit FNV-1a") {
  CHECK(mcpbraid::stable_hash("") == 0xcbf29ce484222325ull);
  CHECK(mcpbraid::stable_hash("a") == 0xaf63dc4c8601ec8cull);
}

TEST_CASE("a short clean tool name is exposed as server, separator, name") {
  CHECK(exposed_name("github", "create_issue", "__") == "github__create_issue");
  CHECK(exposed_name("fs", "read-file.v2", "-") == "fs-read-file.v2");
}

TEST_CASE("a name of exactly 64 characters is kept as is") {
  std::string name(64 - 5, 'a');  // "srv__" + 59
  std::string exposed = exposed_name("srv", name, "__", 64);
  CHECK(exposed == "srv__" + name);
  CHECK(exposed.size() == 64);
}

TEST_CASE("a tool name too long for 64 characters is shortened deterministically") {
  std::string name(64 - 5 + 1, 'a');  // one character too many
  std::string exposed = exposed_name("srv", name, "__", 64);
  CHECK(exposed == "srv__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_2083e15e");
  CHECK(exposed.size() == 64);
  CHECK(exposed_name("srv", name, "__", 64) == exposed);
}

TEST_CASE("long names that differ only at the end stay distinct") {
  std::string one = std::string(70, 'x') + "1";
  std::string two = std::string(70, 'x') + "2";
  std::string a = exposed_name("srv", one, "__");
  std::string b = exposed_name("srv", two, "__");
  CHECK(a == "srv__xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_3b312ca1");
  CHECK(b == "srv__xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_3b312ff4");
  CHECK(a != b);
  CHECK(valid_exposed(a));
  CHECK(valid_exposed(b));
}

TEST_CASE("invalid characters are replaced and a hash keeps the name distinct") {
  CHECK(exposed_name("weather", "get weather", "__") == "weather__get_weather_fbf409cd");
  CHECK(exposed_name("weather", "get/forecast", "__") == "weather__get_forecast_443bcfff");
  CHECK(exposed_name("srv", "caf\xc3\xa9", "__") == "srv__caf___5f94b305");
  // The sanitized form never collides with the clean name it resembles.
  CHECK(exposed_name("weather", "get_weather", "__") == "weather__get_weather");
}

TEST_CASE("the default name budget is 48 characters, and any budget is kept") {
  std::string name(48 - 5, 'a');  // "srv__" + 43 = 48: kept
  CHECK(exposed_name("srv", name, "__") == "srv__" + name);
  std::string longer = name + "b";
  std::string cut = exposed_name("srv", longer, "__");
  CHECK(cut.size() == 48);
  CHECK(cut.substr(0, 5) == "srv__");
  CHECK(cut[39] == '_');
  for (std::size_t budget : {16u, 32u, 64u, 128u}) {
    CAPTURE(budget);
    std::string e = exposed_name("server", std::string(300, 'q'), "__", budget);
    CHECK(e.size() == budget);
    CHECK(e == exposed_name("server", std::string(300, 'q'), "__", budget));  // deterministic
  }
}

TEST_CASE("an empty prefix leaves the name unchanged (no separator)") {
  CHECK(exposed_name("", "read_file", "__") == "read_file");
  CHECK(exposed_name("", "get weather", "__").rfind("get_weather_", 0) == 0);
  CHECK(exposed_name("", "get weather", "__").size() == 20);
}

TEST_CASE("exposed names are always within [A-Za-z0-9_.-] and 48 characters") {
  const std::vector<std::string> names = {
      "plain", "with space", std::string(200, 'z'), "emoji \xf0\x9f\x98\x80", "a:b/c?d", ""};
  for (const auto& name : names) {
    CAPTURE(name);
    CHECK(valid_exposed(exposed_name("server-1", name, "__")));
  }
}

TEST_CASE("two servers with the same tool names get distinct exposed names") {
  NameTable table("__");
  auto fs = table.set_server("fs", {"read", "write"});
  auto git = table.set_server("git", {"read", "status"});
  CHECK(fs == std::vector<std::string>{"fs__read", "fs__write"});
  CHECK(git == std::vector<std::string>{"git__read", "git__status"});
  auto route = table.find("fs__read");
  REQUIRE(route);
  CHECK(route->server == "fs");
  CHECK(route->name == "read");
  route = table.find("git__read");
  REQUIRE(route);
  CHECK(route->server == "git");
  CHECK(route->name == "read");
}

TEST_CASE("a shortened name routes back to the original long name") {
  NameTable table("__");
  std::string long_name = std::string(80, 'q') + "_tail";
  auto exposed = table.set_server("srv", {long_name, "short"});
  REQUIRE(exposed.size() == 2);
  CHECK(exposed[0].size() == 48);
  CHECK(exposed[1] == "srv__short");
  auto route = table.find(exposed[0]);
  REQUIRE(route);
  CHECK(route->server == "srv");
  CHECK(route->name == long_name);
}

TEST_CASE("a sanitized name routes back to the original name") {
  NameTable table("__");
  auto exposed = table.set_server("weather", {"get weather"});
  REQUIRE(exposed.size() == 1);
  CHECK(exposed[0] == "weather__get_weather_fbf409cd");
  auto route = table.find(exposed[0]);
  REQUIRE(route);
  CHECK(route->name == "get weather");
}

TEST_CASE("unknown exposed names are not found") {
  NameTable table("__");
  table.set_server("fs", {"read"});
  CHECK_FALSE(table.find("fs__write"));
  CHECK_FALSE(table.find("read"));
  CHECK_FALSE(table.find(""));
}

TEST_CASE("set_server replaces only that server's names") {
  NameTable table("__");
  table.set_server("fs", {"read", "write"});
  table.set_server("git", {"status"});
  auto exposed = table.set_server("fs", {"list"});
  CHECK(exposed == std::vector<std::string>{"fs__list"});
  CHECK_FALSE(table.find("fs__read"));
  CHECK_FALSE(table.find("fs__write"));
  CHECK(table.find("fs__list"));
  CHECK(table.find("git__status"));
}

TEST_CASE("clear_server forgets one server and leaves the others routable") {
  NameTable table("__");
  table.set_server("fs", {"read"});
  table.set_server("git", {"read"});
  table.clear_server("fs");
  CHECK_FALSE(table.find("fs__read"));
  auto route = table.find("git__read");
  REQUIRE(route);
  CHECK(route->server == "git");
  table.clear_server("not-there");  // harmless
  CHECK(table.find("git__read"));
}

TEST_CASE("the table uses its configured separator") {
  NameTable table("-");
  CHECK(table.separator() == "-");
  CHECK(table.set_server("fs", {"read"}) == std::vector<std::string>{"fs-read"});
  CHECK(table.find("fs-read"));
}

TEST_CASE("a name two servers claim is kept by the lower rank, whatever the arrival order") {
  for (bool low_first : {true, false}) {
    CAPTURE(low_first);
    NameTable table("__");
    auto add_low = [&] { return table.set_server("files", {"read", "stat"}, "", 0); };
    auto add_high = [&] { return table.set_server("alpha", {"read", "write"}, "", 1); };
    if (low_first) {
      add_low();
      add_high();
    } else {
      add_high();
      add_low();
    }
    auto read = table.find("read");
    REQUIRE(read);
    CHECK(read->server == "files");  // rank 0 keeps it, though "alpha" sorts first
    CHECK(table.keeps("files", "read"));
    CHECK_FALSE(table.keeps("alpha", "read"));
    CHECK(table.find("write")->server == "alpha");
    CHECK(table.collisions("alpha") ==
          std::vector<mcpbraid::Collision>{{"read", "files", "alpha", "read"}});
    CHECK(table.collisions("files").empty());
    // The keeper leaves: the other server gets the name.
    table.clear_server("files");
    REQUIRE(table.find("read"));
    CHECK(table.find("read")->server == "alpha");
    CHECK(table.collisions("alpha").empty());
  }
}

TEST_CASE("names that spell alike through the separator collide and go by rank") {
  // "a_" + "__" + "b" and "a" + "__" + "_b" spell the same exposed name.
  NameTable table("__");
  auto first = table.set_server("a_", {"b"}, "a_", 0);
  auto second = table.set_server("a", {"_b"}, "a", 1);
  CHECK(first == std::vector<std::string>{"a___b"});
  CHECK(second == std::vector<std::string>{"a___b"});
  auto route = table.find("a___b");
  REQUIRE(route);
  CHECK(route->server == "a_");
  CHECK(route->name == "b");
}

TEST_CASE("a reserved name routes nowhere and is reported as a collision") {
  NameTable table("__");
  table.reserve("gateway_health");
  table.set_server("raw", {"gateway_health", "ok"}, "", 0);
  CHECK_FALSE(table.find("gateway_health"));
  CHECK_FALSE(table.keeps("raw", "gateway_health"));
  CHECK(table.find("ok"));
  CHECK(table.collisions("raw") ==
        std::vector<mcpbraid::Collision>{{"gateway_health", "mcpbraid", "raw", "gateway_health"}});
}

TEST_CASE("a name repeated within one server routes to its first occurrence") {
  NameTable table("__");
  auto exposed = table.set_server("s", {"x", "x"});
  CHECK(exposed == std::vector<std::string>{"s__x", "s__x"});
  CHECK(table.collisions("s").empty());
  table.clear_server("s");
  CHECK_FALSE(table.find("s__x"));
}

TEST_CASE("a simple {var} matches one path segment") {
  CHECK(uri_template_matches("file:///{path}", "file:///notes.txt"));
  CHECK_FALSE(uri_template_matches("file:///{path}", "file:///dir/notes.txt"));
  CHECK(uri_template_matches("weather://{city}/current", "weather://paris/current"));
  CHECK(uri_template_matches("db://{schema}/{table}", "db://public/users"));
}

TEST_CASE("a literal mismatch anywhere fails the match") {
  CHECK_FALSE(uri_template_matches("weather://{city}/current", "weather://paris/forecast"));
  CHECK_FALSE(uri_template_matches("weather://{city}/current", "climate://paris/current"));
  CHECK_FALSE(uri_template_matches("weather://{city}/current", "weather://paris/current/x"));
  CHECK(uri_template_matches("static://exact", "static://exact"));
  CHECK_FALSE(uri_template_matches("static://exact", "static://exactly"));
}

TEST_CASE("a reserved {+var} may span slashes") {
  CHECK(uri_template_matches("file:///{+path}", "file:///dir/sub/notes.txt"));
  CHECK(uri_template_matches("repo://{owner}/{+path}", "repo://ada/src/main.cpp"));
  CHECK_FALSE(uri_template_matches("repo://{owner}/{+path}", "repo://ada"));
}

TEST_CASE("a path expansion {/var} matches one segment or nothing") {
  CHECK(uri_template_matches("api://items{/id}", "api://items/42"));
  CHECK(uri_template_matches("api://items{/id}", "api://items"));
  CHECK_FALSE(uri_template_matches("api://items{/id}", "api://items/42/extra"));
  CHECK_FALSE(uri_template_matches("api://items{/id}", "api://items42"));
}

TEST_CASE("a multi-variable path expansion {/a,b} matches several segments") {
  CHECK(uri_template_matches("api://{/kind,id}", "api:///users/42"));
}

TEST_CASE("a query expansion {?a,b} matches any query or none") {
  CHECK(uri_template_matches("search://items{?q,lang}", "search://items?q=x&lang=en"));
  CHECK(uri_template_matches("search://items{?q,lang}", "search://items?q=x"));
  CHECK(uri_template_matches("search://items{?q,lang}", "search://items"));
  CHECK_FALSE(uri_template_matches("search://items{?q,lang}", "search://itemsq=x"));
  CHECK_FALSE(uri_template_matches("search://items{?q,lang}", "search://other?q=x"));
}

TEST_CASE("an unterminated expression never matches") {
  CHECK_FALSE(uri_template_matches("file:///{path", "file:///{path"));
  CHECK_FALSE(uri_template_matches("file:///{path", "file:///x"));
  // Whatever comes before it, and however the URI would match the rest.
  CHECK_FALSE(uri_template_matches("x://{a}/{b", "x://a/b"));
  CHECK_FALSE(uri_template_matches("x://{a}/{b", "x://a/{b"));
  CHECK_FALSE(uri_template_matches("x://{a}{", "x://a{"));
  CHECK_FALSE(uri_template_matches("{", "{"));
  CHECK_FALSE(uri_template_matches("{", ""));
  // A '}' without a '{' is a plain literal.
  CHECK(uri_template_matches("x://}{a}", "x://}b"));
}

TEST_CASE("a variable name's first letter is not an operator") {
  // {var,x} has no operator: a 'v' in the value is an ordinary character,
  // including at its end.
  CHECK(uri_template_matches("tv://{var,x}", "tv://nav"));
  CHECK(uri_template_matches("tv://{var,x}", "tv://v"));
  CHECK(uri_template_matches("tv://{var,x}/end", "tv://vvv/end"));
  CHECK_FALSE(uri_template_matches("tv://{var,x}", "tv://nav/x"));
  CHECK_FALSE(uri_template_matches("tv://{var,x}", "tv://"));
}

TEST_CASE("a multi-variable expression's value cannot end on its operator") {
  CHECK(uri_template_matches("api://x{/a,b}", "api://x/users/42"));
  CHECK_FALSE(uri_template_matches("api://x{/a,b}", "api://x/users/"));
  CHECK_FALSE(uri_template_matches("api://x{/a,b}", "api://x//"));
  CHECK(uri_template_matches("search://i{?q,lang}", "search://i?q=x?y"));
  CHECK_FALSE(uri_template_matches("search://i{?q,lang}", "search://i?q=x?"));
}

TEST_CASE("a path-style parameter {;var} is ';' and a value, or nothing") {
  CHECK(uri_template_matches("map://x{;id}", "map://x;id=5"));
  CHECK(uri_template_matches("map://x{;id}", "map://x"));
  CHECK(uri_template_matches("map://x{;id}/tail", "map://x/tail"));
  CHECK(uri_template_matches("map://x{;a,b}", "map://x;a=1;b=2"));
  CHECK_FALSE(uri_template_matches("map://x{;id}", "map://x;"));
  CHECK_FALSE(uri_template_matches("map://x{;id}", "map://xid=5"));
  CHECK_FALSE(uri_template_matches("map://x{;id}", "map://x;id=5/more"));
  CHECK_FALSE(uri_template_matches("map://x{;id}", "map://x;id=5?q"));
  CHECK_FALSE(uri_template_matches("map://x{;a,b}", "map://x;a=1;"));
}

TEST_CASE("adjacent expressions match in time linear in the URI") {
  // A backtracking matcher tries every split of the x's between the ten
  // expressions (C(34, 9) = 5e7 of them) before failing on "/enx".
  std::string tpl = "bt://" + adjacent_expressions(10) + "/end";
  std::string miss = "bt://" + std::string(35, 'x') + "/enx";
  REQUIRE(miss.size() == 44);
  auto [missed, miss_ms] = timed_match(tpl, miss);
  CHECK_FALSE(missed);
  CHECK(miss_ms < 100.0);
  auto [hit, hit_ms] = timed_match(tpl, "bt://" + std::string(35, 'x') + "/end");
  CHECK(hit);
  CHECK(hit_ms < 100.0);
  // Ten expressions need ten characters.
  CHECK_FALSE(uri_template_matches(tpl, "bt://" + std::string(9, 'x') + "/end"));
}

TEST_CASE("fifty adjacent expressions against a 10,000-character URI stay fast") {
  std::string tpl = "bt://" + adjacent_expressions(50) + "/end";
  std::string body(10000 - 9, 'x');
  std::string hit = "bt://" + body + "/end";
  std::string miss = "bt://" + body + "/enx";
  REQUIRE(hit.size() == 10000);
  REQUIRE(miss.size() == 10000);
  auto [matched, hit_ms] = timed_match(tpl, hit);
  CHECK(matched);
  CHECK(hit_ms < 100.0);
  auto [missed, miss_ms] = timed_match(tpl, miss);
  CHECK_FALSE(missed);
  CHECK(miss_ms < 100.0);
}

TEST_CASE("exact resource URIs win over templates of another server") {
  ResourceTable table;
  table.set_templates("generic", {"file:///{name}"});
  table.set_resources("specific", {"file:///readme.md"});
  CHECK(table.owner("file:///readme.md") == "specific");
  CHECK(table.owner("file:///other.md") == "generic");
  CHECK_FALSE(table.owner("http://example.com/"));
}

TEST_CASE("the first server whose template matches owns the URI") {
  ResourceTable table;
  table.set_templates("a", {"mem://{key}"});
  table.set_templates("b", {"mem://{key}", "mem://{ns}/{key}"});
  CHECK(table.owner("mem://x") == "a");
  CHECK(table.owner("mem://ns/x") == "b");
}

TEST_CASE("template_matches: only the named server's templates") {
  ResourceTable table;
  table.set_templates("a", {"mem://{key}"});
  table.set_templates("b", {"mem://{ns}/{key}"});
  CHECK(table.template_matches("a", "mem://x"));
  CHECK_FALSE(table.template_matches("b", "mem://x"));
  CHECK(table.template_matches("b", "mem://ns/x"));
  CHECK_FALSE(table.template_matches("c", "mem://x"));
  table.clear_server("a");
  CHECK_FALSE(table.template_matches("a", "mem://x"));
}

TEST_CASE("set_resources and clear_server replace one server's ownership") {
  ResourceTable table;
  table.set_resources("a", {"mem://1", "mem://2"});
  table.set_resources("b", {"mem://3"});
  table.set_resources("a", {"mem://2"});
  CHECK_FALSE(table.owner("mem://1"));
  CHECK(table.owner("mem://2") == "a");
  table.set_templates("a", {"tpl://{x}"});
  table.clear_server("a");
  CHECK_FALSE(table.owner("mem://2"));
  CHECK_FALSE(table.owner("tpl://y"));
  CHECK(table.owner("mem://3") == "b");
}

TEST_CASE("template_owner finds who published an exact template string") {
  ResourceTable table;
  table.set_templates("a", {"mem://{key}"});
  table.set_templates("b", {"mem://{other}"});
  // "mem://{other}" also matches a's template as a URI; the exact string wins.
  CHECK(table.template_owner("mem://{other}") == "b");
  CHECK(table.template_owner("mem://{key}") == "a");
  CHECK_FALSE(table.template_owner("nothing://{x}"));
}

TEST_CASE("lost() counts the names a server claims but does not keep, as servers come and go") {
  NameTable table("__");
  // Same prefix: both claim "p__a"; rank 0 ties go by server name, so s1 keeps it.
  table.set_server("s1", {"a", "b"}, "p", 0);
  CHECK(table.lost("s1") == 0);
  table.set_server("s2", {"a", "c"}, "p", 0);
  CHECK(table.lost("s1") == 0);
  CHECK(table.lost("s2") == 1);
  CHECK(table.collisions("s2").size() == 1);
  // A better rank takes the name over.
  table.set_server("s2", {"a", "c"}, "p", -1);
  CHECK(table.lost("s1") == 1);
  CHECK(table.lost("s2") == 0);
  CHECK(table.collisions("s2").empty());
  table.clear_server("s2");
  CHECK(table.lost("s1") == 0);
  CHECK(table.lost("s2") == 0);
  // A reserved name is lost to everybody who claims it, before or after.
  table.reserve("p__b");
  CHECK(table.lost("s1") == 1);
  table.set_server("s3", {"b"}, "p", -5);
  CHECK(table.lost("s3") == 1);
  CHECK(table.lost("s1") == 1);
  // A name repeated within one server is one claim.
  table.set_server("s4", {"z", "z"}, "q", 0);
  CHECK(table.lost("s4") == 0);
}

TEST_CASE("lost() agrees with keeps() over random sets of servers") {
  std::mt19937 rng(42);
  NameTable table("__");
  const std::vector<std::string> servers{"a", "b", "c", "d"};
  std::map<std::string, std::vector<std::string>> names_of;
  for (int step = 0; step < 300; ++step) {
    const std::string& server = servers[rng() % servers.size()];
    if (rng() % 4 == 0) {
      table.clear_server(server);
      names_of.erase(server);
    } else {
      std::vector<std::string> names;
      for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i)
        names.push_back(std::string(1, static_cast<char>('k' + rng() % 5)));
      // Two prefixes, so names of different servers meet.
      names_of[server] =
          table.set_server(server, names, rng() % 2 ? "x" : "y", static_cast<int>(rng() % 3) - 1);
    }
    if (step == 150) table.reserve("x__m");
    for (const auto& s : servers) {
      std::set<std::string> unique(names_of[s].begin(), names_of[s].end());
      std::size_t lost = 0;
      for (const auto& exposed : unique) lost += table.keeps(s, exposed) ? 0 : 1;
      CHECK(table.lost(s) == lost);
      CHECK(table.collisions(s).size() == lost);
    }
  }
}
