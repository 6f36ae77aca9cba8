#pragma once
// Which running instance a control command talks to: the one at --socket,
// else the only one running (several: the user must choose).
#include <chrono>
#include <optional>
#include <string>

#include "core/config.hpp"

namespace mcpbraid::cli {

inline constexpr std::chrono::milliseconds kControlTimeout{5000};

// The socket path, or nullopt after printing why on stderr (`command` names
// the subcommand in the message).
std::optional<std::string> choose_instance(const std::string& socket, const char* command);

// One request to it: its "result", or nullopt after printing the error.
std::optional<json> control_call(const std::string& path, const json& request, const char* command,
                                 std::chrono::milliseconds timeout = kControlTimeout);

}  // namespace mcpbraid::cli
