#pragma once
// Shape checks for what the backends send: every field the gateway reads
// from a backend message is type-checked here before it is used, so that a
// live server that says what no good server says cannot throw past a
// handler. Each check returns nullopt when the value is fine, else a short
// description of what is wrong ("error.code is a string, expected an
// integer"), meant for a log line or an error text that names the server.
// None of them throws or recurses into values it does not read.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mcpbraid::shape {

using json = nlohmann::json;
using Problem = std::optional<std::string>;

// "null", "a string", "an array", "an object", "a number", "true"/"false".
std::string describe(const json& value);

// A JSON-RPC error object: an object with an integer `code` and a string
// `message` (`data` is free).
Problem error_object(const json& error);

// The result of any MCP request: an object.
Problem result_object(const json& result);

// An initialize result: an object; `protocolVersion` and `instructions`
// strings, `capabilities` and `serverInfo` objects, where present.
Problem initialize_result(const json& result);

// A page of tools/list ("tools"), prompts/list ("prompts"), resources/list
// ("resources") or resources/templates/list ("resourceTemplates"): an
// object whose `key` member, where present, is an array, and whose
// `nextCursor`, where present and not null, is a string.
Problem list_page(std::string_view key, const json& result);

// One item of such a page. tools: an object with a non-empty string `name`,
// `inputSchema` an object, `annotations` and `execution` objects where
// present, `execution.taskSupport` a string where present; prompts: a
// non-empty string `name`, `arguments` an array where present; resources: a
// string `uri`; resourceTemplates: a string `uriTemplate`.
Problem list_item(std::string_view key, const json& item);

// A notification from a backend (the whole message): `params`, where
// present, an object; for notifications/progress a string or integer
// `progressToken`; for notifications/cancelled a `requestId`; for
// notifications/message a string `level`.
Problem notification(std::string_view method, const json& message);

// A request from a backend to the client (the whole message): `params`,
// where present, an object.
Problem server_request(std::string_view method, const json& message);

}  // namespace mcpbraid::shape
