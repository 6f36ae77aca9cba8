// The table of calls in flight: open/find/close, duplicate ids, stale
// handles after a slot is reused, request ids, and bounded slot growth.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

using mcpbraid::CallHandle;
using mcpbraid::CallRecord;
using mcpbraid::CallTable;
using mcpbraid::json;
using mcpbraid::Milliseconds;
using mcpbraid::TimePoint;

namespace {
const TimePoint t0 = TimePoint{} + Milliseconds(1000);

CallHandle open_ok(CallTable& table, const json& id, const char* method = "tools/call",
                   TimePoint now = t0) {
  auto h = table.open(id, mcpbraid::rpc::id_key(id), method, now);
  REQUIRE(h.has_value());
  REQUIRE(bool(*h));
  return *h;
}
}  // namespace

TEST_CASE("a default CallHandle names no call") {
  CallHandle none;
  CHECK_FALSE(bool(none));
  CallTable table;
  CHECK(table.get(none) == nullptr);
  CHECK_FALSE(table.close(none).has_value());
}

TEST_CASE("an opened call is found by its key and holds what it was opened with") {
  CallTable table;
  CHECK(table.empty());
  CallHandle h = open_ok(table, json(7), "tools/list", t0);
  CHECK(table.size() == 1);
  CHECK_FALSE(table.empty());
  CHECK(table.contains("7"));
  CHECK_FALSE(table.contains("\"7\""));  // 7 and "7" are different ids
  REQUIRE(table.find("7").has_value());
  CHECK(*table.find("7") == h);

  const CallRecord* record = table.get(h);
  REQUIRE(record != nullptr);
  CHECK(record->id == json(7));
  CHECK(record->key == "7");
  CHECK(record->method == "tools/list");
  CHECK(record->started == t0);
  // Not routed nor forwarded yet.
  CHECK(record->server.empty());
  CHECK(record->backend == -1);
  CHECK(record->attempt == 0);
  CHECK(record->backend_id == -1);
  CHECK(record->progress_token == 0);
  CHECK_FALSE(record->cancelled);
  CHECK_FALSE(record->waiting_retry);

  // The record is the caller's to fill in.
  table.get(h)->server = "alpha";
  table.get(h)->backend = 2;
  const CallTable& view = table;
  CHECK(view.get(h)->server == "alpha");
  CHECK(view.get(h)->backend == 2);
}

TEST_CASE("a duplicate id is refused and leaves the table unchanged") {
  CallTable table;
  CallHandle first = open_ok(table, json("a"), "ping");
  auto again = table.open(json("a"), "\"a\"", "tools/call", t0 + Milliseconds(5));
  CHECK_FALSE(again.has_value());
  CHECK(table.size() == 1);
  CHECK(table.get(first)->method == "ping");
  CHECK(table.get(first)->started == t0);
  // The refused open did not use up a request number.
  CallHandle next = open_ok(table, json("b"));
  CHECK(table.get(next)->request_id == "r2");
}

TEST_CASE("close moves the record out and the handle goes stale") {
  CallTable table;
  CallHandle h = open_ok(table, json(1), "resources/read");
  table.get(h)->params = R"({"uri":"file:///x"})";
  auto closed = table.close(h);
  REQUIRE(closed.has_value());
  CHECK(closed->id == json(1));
  CHECK(closed->method == "resources/read");
  CHECK(closed->params == R"({"uri":"file:///x"})");
  CHECK(table.empty());
  CHECK_FALSE(table.contains("1"));
  CHECK_FALSE(table.find("1").has_value());
  CHECK(table.get(h) == nullptr);
  CHECK_FALSE(table.close(h).has_value());  // a second close is a no-op
  // The id may be used again once its call is answered.
  CallHandle reopened = open_ok(table, json(1));
  CHECK(table.get(reopened) != nullptr);
}

TEST_CASE("a reused slot does not answer to the old handle") {
  CallTable table;
  CallHandle old = open_ok(table, json(1));
  REQUIRE(table.close(old).has_value());
  CallHandle fresh = open_ok(table, json(2));
  CHECK(fresh.index == old.index);  // the slot was reused...
  CHECK(fresh.generation != old.generation);
  CHECK_FALSE(fresh == old);
  CHECK(table.get(old) == nullptr);  // ...but the old handle sees nothing
  CHECK_FALSE(table.close(old).has_value());
  REQUIRE(table.get(fresh) != nullptr);
  CHECK(table.get(fresh)->id == json(2));
  CHECK(table.size() == 1);
}

TEST_CASE("a handle outside the table is invalid") {
  CallTable table;
  open_ok(table, json(1));
  CHECK(table.get(CallHandle{5, 1}) == nullptr);
  CHECK(table.get(CallHandle{0, 99}) == nullptr);
  CHECK_FALSE(table.close(CallHandle{5, 1}).has_value());
  CHECK(table.size() == 1);
}

TEST_CASE("request ids count r1, r2, ... per table") {
  CallTable table;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(table.get(open_ok(table, json(i)))->request_id);
  CHECK(ids == std::vector<std::string>{"r1", "r2", "r3"});
  // Closing does not rewind the count.
  table.close(*table.find("1"));
  CHECK(table.get(open_ok(table, json(10)))->request_id == "r4");
  CallTable other;
  CHECK(other.get(open_ok(other, json(0)))->request_id == "r1");
}

TEST_CASE("handles() lists every open call and none that was closed") {
  CallTable table;
  CHECK(table.handles().empty());
  CallHandle a = open_ok(table, json(1));
  CallHandle b = open_ok(table, json(2));
  CallHandle c = open_ok(table, json(3));
  table.close(b);
  auto open = table.handles();
  CHECK(open.size() == 2);
  CHECK(std::count(open.begin(), open.end(), a) == 1);
  CHECK(std::count(open.begin(), open.end(), c) == 1);
  CHECK(std::count(open.begin(), open.end(), b) == 0);
  for (CallHandle h : open) CHECK(table.get(h) != nullptr);
}

TEST_CASE("10,000 open/close cycles keep the slot vector at the peak of open calls") {
  CallTable table;
  CallHandle held = open_ok(table, json("held"));
  CallHandle previous;
  for (int i = 0; i < 10000; ++i) {
    CallHandle h = open_ok(table, json(i));
    CHECK_FALSE(h == previous);
    REQUIRE(table.close(h).has_value());
    CHECK(table.get(h) == nullptr);
    previous = h;
  }
  CHECK(table.size() == 1);
  CHECK(table.capacity() == 2);
  CHECK(table.get(held) != nullptr);
  CHECK(table.get(open_ok(table, json("last")))->request_id == "r10002");
}

TEST_CASE("discard closes like close and the slot's next call starts from a clean record") {
  CallTable table;
  CallHandle h = open_ok(table, json("a"), "tools/call");
  CallRecord* r = table.get(h);
  r->server = "fs";
  r->backend = 2;
  r->params = R"({"name":"read"})";
  r->attempt = 3;
  r->retry_safe = r->cancelled = r->waiting_retry = true;
  r->backend_id = 17;
  r->progress_token = 9;
  r->task_role = mcpbraid::TaskRole::create;
  CHECK(table.discard(h));
  CHECK_FALSE(table.discard(h));
  CHECK(table.get(h) == nullptr);
  CHECK(table.empty());
  CallHandle again = open_ok(table, json(2), "ping");
  CHECK(again.index == h.index);  // the same slot, reused
  const CallRecord* n = table.get(again);
  REQUIRE(n);
  CHECK(n->id == json(2));
  CHECK(n->key == "2");
  CHECK(n->method == "ping");
  CHECK(n->server.empty());
  CHECK(n->backend == -1);
  CHECK(n->params.empty());
  CHECK(n->attempt == 0);
  CHECK_FALSE(n->retry_safe);
  CHECK_FALSE(n->cancelled);
  CHECK_FALSE(n->waiting_retry);
  CHECK(n->backend_id == -1);
  CHECK(n->progress_token == 0);
  CHECK(n->task_role == mcpbraid::TaskRole::none);  // else a fast-path call reads as a task's
}

TEST_CASE("rekey moves a call to a new id; the old id is free, a taken one refused") {
  CallTable table;
  CallHandle h = open_ok(table, json(1));
  CallHandle other = open_ok(table, json(2));
  table.get(h)->params = "p";
  CHECK_FALSE(table.rekey(h, json(2), "2"));  // taken: nothing changes
  CHECK(table.find("1") == h);
  REQUIRE(table.rekey(h, json(7), "7"));
  CHECK_FALSE(table.contains("1"));
  CHECK(table.find("7") == h);
  CHECK(table.get(h)->id == json(7));
  CHECK(table.get(h)->params == "p");
  CHECK(table.get(h)->request_id == "r1");
  CHECK(table.size() == 2);
  CallHandle reuse = open_ok(table, json(1));  // the old id can be used again
  CHECK(table.find("1") == reuse);
  table.discard(other);
  CHECK_FALSE(table.rekey(other, json(9), "9"));  // stale
  CHECK_FALSE(table.contains("9"));
}
