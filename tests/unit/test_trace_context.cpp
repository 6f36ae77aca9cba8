// W3C trace context (core/trace_context): which traceparents are valid, the
// ids a generator mints, and the traceparent put into raw params.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/trace_context.hpp"

namespace tc = mcpbraid::trace_context;

TEST_CASE("a valid traceparent gives its trace id") {
  auto id = tc::trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(id);
  CHECK(*id == "4bf92f3577b34da6a3ce929d0e0e4736");
  // A later version may append fields; version 00 may not.
  CHECK(tc::trace_id("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));
  CHECK_FALSE(tc::trace_id("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));
}

TEST_CASE("an invalid traceparent gives nothing") {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     // no flags
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // separator
       }) {
    INFO(bad);
    CHECK_FALSE(tc::trace_id(bad));
  }
}

TEST_CASE("minted traceparents are valid, sampled and all different") {
  tc::Generator g(42);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string tp = g.traceparent();
    REQUIRE(tp.size() == 55);
    CHECK(tp.substr(0, 3) == "00-");
    CHECK(tp.substr(52) == "-01");
    CHECK(tc::trace_id(tp));
    seen.insert(tp.substr(3, 32));
  }
  CHECK(seen.size() == 1000);
  // The same seed, the same ids (tests); another seed, others.
  tc::Generator a(7), b(7), c(8);
  std::string first = a.traceparent();
  CHECK(first == b.traceparent());
  CHECK(first != c.traceparent());
}

TEST_CASE("a traceparent goes first into raw params") {
  std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CHECK(tc::with_traceparent(R"({"name":"x","arguments":{}})", tp) ==
        R"({"_meta":{"traceparent":")" + tp + R"("},"name":"x","arguments":{}})");
  CHECK(tc::with_traceparent("{}", tp) == R"({"_meta":{"traceparent":")" + tp + R"("}})");
  CHECK(tc::with_traceparent("{ }", tp) == R"({"_meta":{"traceparent":")" + tp + R"("} })");
  for (const char* params : {"{}", "{ }", R"({ "name" : "x" })", "{\n\"a\":[1,2]}"}) {
    INFO(params);
    auto doc = nlohmann::json::parse(tc::with_traceparent(params, tp));
    CHECK(doc["_meta"]["traceparent"] == tp);
  }
}

TEST_CASE("the trace id found in params as sent") {
  std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  CHECK(tc::trace_id_in(tc::with_traceparent(R"({"name":"x"})", tp)) ==
        "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(tc::trace_id_in(R"({"_meta":{"progressToken":1,"traceparent":")" + tp + R"("}})") ==
        "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(tc::trace_id_in(R"({"_meta":{"traceparent":"00-bad"}})") == "");
  CHECK(tc::trace_id_in(R"({"name":"x"})") == "");
  CHECK(tc::trace_id_in("") == "");
}
