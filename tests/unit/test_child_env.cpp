// The environment of a stdio server's child (core/child_env): inherited,
// or with inherit_env false only the few variables programs need, plus
// the server's own env.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/child_env.hpp"

using mcpbraid::child_environment;
using mcpbraid::EnvList;
using Entries = std::vector<std::string>;

namespace {

const Entries kOurs = {"PATH=/usr/bin:/bin", "HOME=/home/ada",   "USER=ada",
                       "LANG=C.UTF-8",       "TMPDIR=/tmp/ada",  "XDG_RUNTIME_DIR=/run/user/1000",
                       "SECRET_X=hunter2",   "AWS_PROFILE=prod", "LC_ALL=C"};

}  // namespace

TEST_CASE("child env: inherited by default, the server's own env added and winning") {
  Entries env = child_environment(kOurs, EnvList{{"PORT", "8080"}, {"USER", "svc"}}, true);
  CHECK(env == Entries{"AWS_PROFILE=prod", "HOME=/home/ada", "LANG=C.UTF-8", "LC_ALL=C",
                       "PATH=/usr/bin:/bin", "PORT=8080", "SECRET_X=hunter2", "TMPDIR=/tmp/ada",
                       "USER=svc", "XDG_RUNTIME_DIR=/run/user/1000"});
}

TEST_CASE("child env: inherit_env false keeps only PATH HOME USER LANG TMPDIR XDG_RUNTIME_DIR") {
  Entries env = child_environment(kOurs, EnvList{{"TOKEN", "t"}}, false);
  CHECK(env == Entries{"HOME=/home/ada", "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "TMPDIR=/tmp/ada",
                       "TOKEN=t", "USER=ada", "XDG_RUNTIME_DIR=/run/user/1000"});
}

TEST_CASE("child env: isolated, an unset kept variable stays unset; own env may set anything") {
  Entries env = child_environment(Entries{"PATH=/bin", "SECRET_X=1", "BROKEN"},
                                  EnvList{{"SECRET_X", "mine"}, {"HOME", "/srv"}}, false);
  CHECK(env == Entries{"HOME=/srv", "PATH=/bin", "SECRET_X=mine"});
}

TEST_CASE("child env: a value may hold '=' and an empty value is kept") {
  Entries env = child_environment(Entries{"A=b=c", "EMPTY=", "NOEQ"}, EnvList{}, true);
  CHECK(env == Entries{"A=b=c", "EMPTY="});
}
