#pragma once
// Child processes: spawn with pipes, signal, reap. Plain POSIX, no Asio.
#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcpbraid {

struct SpawnSpec {
  std::string command;  // resolved on PATH (execvp semantics), no shell
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;  // added to our environment
  std::string cwd;                                       // empty: inherit
  // false: of our environment only kIsolatedEnvKeep (core/child_env.hpp).
  bool inherit_env = true;
};

struct SpawnedChild {
  pid_t pid = -1;
  int stdin_fd = -1;   // we write
  int stdout_fd = -1;  // we read
  int stderr_fd = -1;  // we read
};

struct SpawnResult {
  std::optional<SpawnedChild> child;
  std::string error;  // set when child is empty: why it could not start
};

// Starts the child (vfork + exec) in its own process group with SIGPIPE,
// SIGINT and SIGTERM at their defaults and no signal blocked, stdin/stdout/
// stderr on close-on-exec pipes (the parent's ends are non-blocking), and
// PR_SET_PDEATHSIG(SIGKILL): it dies with us, even when we are SIGKILLed.
// A failed step in the child (chdir, exec) comes back through a
// close-on-exec pipe as the error.
SpawnResult spawn_process(const SpawnSpec& spec);

// Non-blocking reap: the wait status if the child has exited. Before the
// zombie is reaped (while it still holds its pid, so the group id cannot
// be reused) the rest of its process group gets `rest_of_group` (SIGTERM,
// or SIGKILL in a hurried stop): what a server leaves behind (npx -> node)
// goes with it.
std::optional<int> try_reap(pid_t pid, int rest_of_group = SIGTERM);

// Sends a signal to the child's process group. Only for a child not yet
// reaped: there is no fallback to the bare pid, which after a reap may
// belong to an unrelated process.
void signal_group(pid_t pid, int sig);

// "exited with status 3", "killed by signal 9 (Killed)".
std::string describe_exit(int status);

}  // namespace mcpbraid
