// Glob patterns and allow/deny filters (the config's tools/prompts/resources/pinned).
#include <doctest/doctest.h>

#include <string>

#include "core/glob.hpp"

using mcpbraid::glob_match;
using mcpbraid::glob_problem;
using mcpbraid::NameFilter;

TEST_CASE("glob: literals, * and ?") {
  CHECK(glob_match("read_file", "read_file"));
  CHECK_FALSE(glob_match("read_file", "read_files"));
  CHECK_FALSE(glob_match("read_file", "read"));
  CHECK(glob_match("read_*", "read_file"));
  CHECK(glob_match("read_*", "read_"));
  CHECK_FALSE(glob_match("read_*", "write_file"));
  CHECK(glob_match("*_file", "read_file"));
  CHECK(glob_match("*file*", "a_file_b"));
  CHECK(glob_match("*", ""));
  CHECK(glob_match("*", "anything/with/slashes"));
  CHECK(glob_match("?", "x"));
  CHECK_FALSE(glob_match("?", ""));
  CHECK_FALSE(glob_match("?", "xy"));
  CHECK(glob_match("get_?", "get_a"));
  CHECK(glob_match("a*b*c", "a_x_b_y_c"));
  CHECK_FALSE(glob_match("a*b*c", "a_x_b_y"));
  CHECK(glob_match("file:///docs/*", "file:///docs/a/b.txt"));
  CHECK_FALSE(glob_match("file:///docs/*", "file:///etc/passwd"));
}

TEST_CASE("glob: ? takes one UTF-8 character, \\ makes the next literal") {
  CHECK(glob_match("caf?", "caf\xc3\xa9"));
  CHECK(glob_match("?", "\xf0\x9f\x98\x80"));
  CHECK_FALSE(glob_match("caf?", "caf\xc3\xa9x"));
  CHECK(glob_match("a\\*", "a*"));
  CHECK_FALSE(glob_match("a\\*", "ab"));
  CHECK(glob_match("a\\?", "a?"));
  CHECK_FALSE(glob_match("a\\?", "ab"));
}

TEST_CASE("glob: many stars stay fast on a long text") {
  std::string text(20000, 'a');
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*b", text));
  CHECK(glob_match("*a*a*a*a*a*a*a*", text));
}

TEST_CASE("glob: bad patterns are named") {
  CHECK(glob_problem("read_*").empty());
  CHECK(glob_problem("a\\*").empty());
  CHECK(glob_problem("") == "an empty pattern matches nothing");
  CHECK(glob_problem("abc\\") == "a trailing '\\' escapes nothing");
  CHECK(glob_problem("a\nb") == "a control character in the pattern");
}

TEST_CASE("filter: no allow means all, deny wins, an empty allow hides everything") {
  NameFilter all;
  CHECK(all.empty());
  CHECK(all.allows("anything"));
  NameFilter deny_only;
  deny_only.deny = {"delete_*"};
  CHECK(deny_only.allows("read"));
  CHECK_FALSE(deny_only.allows("delete_file"));
  NameFilter both;
  both.allow = std::vector<std::string>{"read_*", "list_*"};
  both.deny = {"read_secret*"};
  CHECK(both.allows("read_file"));
  CHECK(both.allows("list_dir"));
  CHECK_FALSE(both.allows("write_file"));
  CHECK_FALSE(both.allows("read_secrets"));
  NameFilter none;
  none.allow = std::vector<std::string>{};
  CHECK_FALSE(none.empty());
  CHECK_FALSE(none.allows("read_file"));
}
