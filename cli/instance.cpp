#include "cli/instance.hpp"

#include <cstdio>

#include "backends/control.hpp"

namespace mcpbraid::cli {

std::optional<std::string> choose_instance(const std::string& socket, const char* command) {
  if (!socket.empty()) return socket;
  std::vector<std::string> sockets = instance_sockets();
  if (sockets.size() == 1) return sockets.front();
  if (sockets.empty()) {
    std::string dirs;
    for (const auto& dir : control_dirs()) dirs += (dirs.empty() ? "" : ", ") + dir;
    std::fprintf(stderr, "mcpbraid %s: no running mcpbraid instance found (looked in %s)\n",
                 command, dirs.empty() ? default_control_dir().c_str() : dirs.c_str());
    return std::nullopt;
  }
  std::fprintf(stderr, "mcpbraid %s: %zu instances are running; choose one with --socket:\n",
               command, sockets.size());
  for (const auto& path : sockets) std::fprintf(stderr, "  %s\n", path.c_str());
  return std::nullopt;
}

std::optional<json> control_call(const std::string& path, const json& request, const char* command,
                                 std::chrono::milliseconds timeout) {
  std::string error;
  auto answer = control_request(path, request, timeout, &error);
  if (!answer) {
    std::fprintf(stderr, "mcpbraid %s: %s\n", command, error.c_str());
    return std::nullopt;
  }
  if (answer->contains("error")) {
    std::fprintf(stderr, "mcpbraid %s: %s\n", command,
                 answer->value("/error/message"_json_pointer, std::string("error")).c_str());
    return std::nullopt;
  }
  auto result = answer->find("result");
  if (result == answer->end()) {
    std::fprintf(stderr, "mcpbraid %s: %s: unexpected answer\n", command, path.c_str());
    return std::nullopt;
  }
  return *result;
}

}  // namespace mcpbraid::cli
