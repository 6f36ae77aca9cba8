// libFuzzer target: message parsing and validation, parse_message
// (core/jsonrpc.hpp) and the shape checks (core/shape.hpp).
//
// Invariants:
//  - parse_message(line, 128) never throws, and classifies as JSON-RPC 2.0
//    says: a line nested deeper than 128 is Invalid/kInvalidRequest with
//    the id peek_id reads; text nlohmann rejects is Invalid/kParseError;
//    a Request/Notification/Response has the members that make it one;
//    an Invalid message carries an error code, a text and an echoable id
//    (null, an integer or a string);
//  - every shape check, on the body and on the members and list items a
//    handler would read (result, error, params, result.tools[i], ...),
//    returns without throwing, and a non-empty text when it objects;
//  - an accepted body serializes (to_line) to one line that parses back
//    to a message of the same kind and method.
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "core/jsonrpc.hpp"
#include "core/shape.hpp"
#include "fuzz_check.hpp"
#include "json_reference.hpp"

using mcpbraid::json;
namespace rpc = mcpbraid::rpc;
namespace shape = mcpbraid::shape;

namespace {

constexpr int kDepth = 128;

const char* const kPageKeys[] = {"tools", "prompts", "resources", "resourceTemplates", "other"};
const char* const kMethods[] = {"notifications/progress",
                                "notifications/cancelled",
                                "notifications/message",
                                "notifications/tools/list_changed",
                                "roots/list",
                                "sampling/createMessage",
                                "elicitation/create",
                                ""};

// A member of a const object without const operator[]'s precondition.
json at(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

void problem_ok(const shape::Problem& p, const char* check) {
  FUZZ_CHECK(!p || !p->empty(), "%s objects with an empty text", check);
}

// Every check on one value; the checks must not throw on any JSON value.
void all_checks(const json& v, std::string_view method) {
  std::string d = shape::describe(v);
  FUZZ_CHECK(!d.empty(), "describe() is empty");
  problem_ok(shape::error_object(v), "error_object");
  auto r = shape::result_object(v);
  problem_ok(r, "result_object");
  FUZZ_CHECK(r.has_value() != v.is_object(), "result_object disagrees with is_object");
  problem_ok(shape::initialize_result(v), "initialize_result");
  for (const char* key : kPageKeys) {
    problem_ok(shape::list_page(key, v), "list_page");
    problem_ok(shape::list_item(key, v), "list_item");
  }
  for (const char* m : kMethods) {
    problem_ok(shape::notification(m, v), "notification");
    problem_ok(shape::server_request(m, v), "server_request");
  }
  problem_ok(shape::notification(method, v), "notification");
  problem_ok(shape::server_request(method, v), "server_request");
}

// What the gateway does with a message: check it, then its parts.
void validate(const json& body, std::string_view method) {
  all_checks(body, method);
  if (!body.is_object()) return;
  int budget = 64;
  for (const auto& [key, value] : body.items()) {
    if (--budget < 0) break;
    all_checks(value, method);
  }
  auto error = body.find("error");
  if (error != body.end() && !shape::error_object(*error)) {
    FUZZ_CHECK(error->is_object() && at(*error, "code").is_number_integer() &&
                   at(*error, "message").is_string(),
               "error_object accepts %s", error->dump().c_str());
  }
  auto result = body.find("result");
  if (result == body.end() || !result->is_object()) return;
  for (const char* key : kPageKeys) {
    if (shape::list_page(key, *result)) continue;
    auto items = result->find(key);
    if (items == result->end()) continue;
    FUZZ_CHECK(items->is_array(), "list_page accepts a non-array %s", key);
    int n = 0;
    for (const auto& item : *items) {
      if (++n > 256) break;
      auto p = shape::list_item(key, item);
      problem_ok(p, "list_item");
      if (!p) FUZZ_CHECK(item.is_object(), "list_item accepts a non-object");
      all_checks(item, method);
    }
  }
}

bool echoable(const json& id) {
  return id.is_null() || id.is_string() || id.is_number_integer();
}

void check_message(std::string_view line, const rpc::Message& m) {
  if (rpc::nesting_exceeds(line, kDepth)) {
    FUZZ_CHECK(m.kind == rpc::Kind::Invalid && m.error_code == rpc::kInvalidRequest,
               "a line nested deeper than %d was not refused as kInvalidRequest", kDepth);
    FUZZ_CHECK(m.body.is_null(), "a DOM was built for a line nested too deep");
    FUZZ_CHECK(m.id == rpc::peek_id(line), "the id of a deep line is not peek_id's");
  } else if (fuzz::JsonFacts facts = fuzz::json_facts(line); !facts.valid) {
    FUZZ_CHECK(m.kind == rpc::Kind::Invalid && m.error_code == rpc::kParseError,
               "invalid JSON%s not refused as kParseError (kind %d, code %d): %s",
               facts.nul_cut ? " (nlohmann stops at a NUL byte)" : "", static_cast<int>(m.kind),
               m.error_code, fuzz::show(line).c_str());
  }
  switch (m.kind) {
    case rpc::Kind::Request:
    case rpc::Kind::Notification: {
      FUZZ_CHECK(m.body.is_object() && at(m.body, "jsonrpc") == "2.0",
                 "request without jsonrpc 2.0");
      FUZZ_CHECK(at(m.body, "method").is_string() && at(m.body, "method") == m.method,
                 "method mismatch");
      bool has_id = m.body.contains("id");
      FUZZ_CHECK(has_id == (m.kind == rpc::Kind::Request), "request/notification by id");
      if (has_id)
        FUZZ_CHECK(at(m.body, "id").is_string() || at(m.body, "id").is_number_integer(), "bad id");
      if (m.body.contains("params"))
        FUZZ_CHECK(at(m.body, "params").is_object() || at(m.body, "params").is_array(),
                   "bad params");
      FUZZ_CHECK(m.error_code == 0, "error code on a request");
      break;
    }
    case rpc::Kind::Response:
      FUZZ_CHECK(m.body.is_object() && at(m.body, "jsonrpc") == "2.0",
                 "response without jsonrpc 2.0");
      FUZZ_CHECK(!m.body.contains("method") && m.body.contains("id"), "response shape");
      FUZZ_CHECK(m.body.contains("result") != m.body.contains("error"), "result xor error");
      FUZZ_CHECK(m.error_code == 0, "error code on a response");
      break;
    case rpc::Kind::Invalid:
      FUZZ_CHECK(m.error_code == rpc::kParseError || m.error_code == rpc::kInvalidRequest,
                 "error code %d", m.error_code);
      FUZZ_CHECK(!m.error_text.empty(), "no error text");
      FUZZ_CHECK(echoable(m.id), "unechoable id %s", m.id.dump().c_str());
      if (m.body.is_object() && m.body.contains("id") &&
          (at(m.body, "id").is_string() || at(m.body, "id").is_number_integer()))
        FUZZ_CHECK(m.id == at(m.body, "id"), "the readable id is not echoed");
      break;
    default:
      FUZZ_CHECK(false, "kind %d", static_cast<int>(m.kind));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line = fuzz::as_view(data, size);
  try {
    rpc::Message m = rpc::parse_message(line, kDepth);
    check_message(line, m);
    // The body is nested at most kDepth deep here, so recursion is bounded.
    validate(m.body, m.method);
    if (m.kind != rpc::Kind::Invalid) {
      std::string out = rpc::to_line(m.body);
      FUZZ_CHECK(!out.empty() && out.back() == '\n' && out.find('\n') == out.size() - 1,
                 "to_line is not one line");
      out.pop_back();
      rpc::Message back = rpc::parse_message(out, kDepth);
      FUZZ_CHECK(back.kind == m.kind && back.method == m.method,
                 "to_line(body) parses back as kind %d, was %d: %s", static_cast<int>(back.kind),
                 static_cast<int>(m.kind), fuzz::show(out).c_str());
    } else if (!m.body.is_null()) {
      (void)m.body.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, "exception: %s", e.what());
  } catch (...) {
    FUZZ_CHECK(false, "unknown exception");
  }
  return 0;
}
