#include "core/shape.hpp"

namespace mcpbraid::shape {

namespace {

// `key` of `object`, where present, must satisfy `ok`; `expected` names it.
template <typename Ok>
Problem member(const json& object, const char* where, const char* key, Ok ok,
               const char* expected) {
  auto it = object.find(key);
  if (it == object.end() || ok(*it)) return std::nullopt;
  return std::string(where) + key + " is " + describe(*it) + ", expected " + expected;
}

bool is_object(const json& v) {
  return v.is_object();
}
bool is_string(const json& v) {
  return v.is_string();
}
bool is_array(const json& v) {
  return v.is_array();
}
bool is_token(const json& v) {
  return v.is_string() || v.is_number_integer();
}

Problem params_object(const json& message) {
  if (!message.is_object()) return "not an object";
  return member(message, "", "params", is_object, "an object");
}

Problem non_empty_name(const json& item) {
  auto name = item.find("name");
  if (name == item.end()) return std::string("name is missing");
  if (!name->is_string()) return "name is " + describe(*name) + ", expected a string";
  if (name->get_ref<const std::string&>().empty()) return std::string("name is empty");
  return std::nullopt;
}

}  // namespace

std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "not a JSON value";
  }
}

Problem error_object(const json& error) {
  if (!error.is_object()) return "error is " + describe(error) + ", expected an object";
  auto code = error.find("code");
  if (code == error.end()) return std::string("error.code is missing");
  if (!code->is_number_integer())
    return "error.code is " + describe(*code) + ", expected an integer";
  auto message = error.find("message");
  if (message == error.end()) return std::string("error.message is missing");
  if (!message->is_string())
    return "error.message is " + describe(*message) + ", expected a string";
  return std::nullopt;
}

Problem result_object(const json& result) {
  if (result.is_object()) return std::nullopt;
  return "result is " + describe(result) + ", expected an object";
}

Problem initialize_result(const json& result) {
  if (auto p = result_object(result)) return p;
  if (auto p = member(result, "result.", "protocolVersion", is_string, "a string")) return p;
  if (auto p = member(result, "result.", "capabilities", is_object, "an object")) return p;
  if (auto p = member(result, "result.", "serverInfo", is_object, "an object")) return p;
  if (auto p = member(result, "result.", "instructions", is_string, "a string")) return p;
  return std::nullopt;
}

Problem list_page(std::string_view key, const json& result) {
  if (auto p = result_object(result)) return p;
  std::string k(key);
  if (auto p = member(result, "result.", k.c_str(), is_array, "an array")) return p;
  return member(
      result, "result.", "nextCursor", [](const json& v) { return v.is_null() || v.is_string(); },
      "a string");
}

Problem list_item(std::string_view key, const json& item) {
  if (!item.is_object()) return "entry is " + describe(item) + ", expected an object";
  if (key == "tools") {
    if (auto p = non_empty_name(item)) return p;
    if (auto p = member(item, "", "inputSchema", is_object, "an object")) return p;
    if (auto p = member(item, "", "annotations", is_object, "an object")) return p;
    if (auto p = member(item, "", "execution", is_object, "an object")) return p;
    if (auto exec = item.find("execution"); exec != item.end())
      if (auto p = member(*exec, "execution.", "taskSupport", is_string, "a string")) return p;
    return std::nullopt;
  }
  if (key == "prompts") {
    if (auto p = non_empty_name(item)) return p;
    return member(item, "", "arguments", is_array, "an array");
  }
  const char* field = key == "resources" ? "uri" : "uriTemplate";
  auto it = item.find(field);
  if (it == item.end()) return std::string(field) + " is missing";
  if (!it->is_string()) return std::string(field) + " is " + describe(*it) + ", expected a string";
  return std::nullopt;
}

Problem notification(std::string_view method, const json& message) {
  if (auto p = params_object(message)) return p;
  // The member each known notification cannot do without.
  const char* key = nullptr;
  bool (*ok)(const json&) = nullptr;
  const char* expected = nullptr;
  if (method == "notifications/progress") {
    key = "progressToken", ok = is_token, expected = "a string or an integer";
  } else if (method == "notifications/cancelled") {
    key = "requestId", ok = is_token, expected = "a string or an integer";
  } else if (method == "notifications/message") {
    key = "level", ok = is_string, expected = "a string";
  } else {
    return std::nullopt;
  }
  auto params = message.find("params");
  if (params == message.end()) return std::string("params is missing");
  if (!params->contains(key)) return std::string("params.") + key + " is missing";
  return member(*params, "params.", key, ok, expected);
}

Problem server_request(std::string_view, const json& message) {
  return params_object(message);
}

}  // namespace mcpbraid::shape
