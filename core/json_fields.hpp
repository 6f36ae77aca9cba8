#pragma once
// Reading a message's fields without throwing: what is absent or of the
// wrong type reads as empty.
#include <nlohmann/json.hpp>
#include <string>

namespace mcpbraid {

// object[key] if it is a string, else "".
inline std::string string_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A message's params if they are an object, else {}.
inline nlohmann::json params_of(const nlohmann::json& message) {
  auto it = message.find("params");
  if (it == message.end() || !it->is_object()) return nlohmann::json::object();
  return *it;
}

}  // namespace mcpbraid
