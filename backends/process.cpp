#include "backends/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/child_env.hpp"

extern char** environ;

namespace mcpbraid {

namespace {

struct Pipe {
  int read = -1, write = -1;
  bool open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  void close_both() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
    read = write = -1;
  }
};

// Protocol pipes get 1 MiB (the default unprivileged maximum) instead of
// 64 KiB: a large result crosses in 8 times fewer wake-ups. Pages are only
// used while data is in the pipe; failure just keeps the default.
constexpr int kProtocolPipeSize = 1 << 20;

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

std::vector<std::string> build_environment(const SpawnSpec& spec) {
  std::vector<std::string> ours;
  for (char** e = environ; e && *e; ++e) ours.emplace_back(*e);
  return child_environment(ours, spec.env, spec.inherit_env);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// posix_spawnp with PATH taken from the child's environment, as execvp would
// in the child: a server's `env.PATH` decides where its command is found.
std::string resolve_command(const std::string& command, const std::vector<std::string>& envp) {
  if (command.find('/') != std::string::npos) return command;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : envp)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + command;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return {};
}

}  // namespace

SpawnResult spawn_process(const SpawnSpec& spec) {
  SpawnResult result;
  std::vector<std::string> env_strings = build_environment(spec);
  std::string program = resolve_command(spec.command, env_strings);
  if (program.empty()) {
    result.error = "command not found: " + spec.command;
    return result;
  }
  Pipe in, out, err;
  if (!in.open() || !out.open() || !err.open()) {
    int e = errno;
    in.close_both();
    out.close_both();
    err.close_both();
    result.error = errno_text("pipe2", e);
    return result;
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  int rc = 0;
  auto check = [&](int r, const char* what) {
    if (rc == 0 && r != 0) {
      rc = r;
      result.error = errno_text(what, r);
    }
  };
  check(posix_spawn_file_actions_adddup2(&actions, in.read, 0), "posix_spawn_file_actions_adddup2");
  check(posix_spawn_file_actions_adddup2(&actions, out.write, 1),
        "posix_spawn_file_actions_adddup2");
  check(posix_spawn_file_actions_adddup2(&actions, err.write, 2),
        "posix_spawn_file_actions_adddup2");
  if (!spec.cwd.empty())
    check(posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str()),
          "posix_spawn_file_actions_addchdir_np");

  // Put the child in its own process group, so a Ctrl-C meant for the editor
  // does not reach it and we can stop its whole tree at once.
  sigset_t default_signals, empty_mask;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);  // we ignore SIGPIPE; the child must not inherit that
  sigaddset(&default_signals, SIGINT);
  sigaddset(&default_signals, SIGTERM);
  sigemptyset(&empty_mask);
  check(posix_spawnattr_setflags(
            &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
        "posix_spawnattr_setflags");
  check(posix_spawnattr_setpgroup(&attr, 0), "posix_spawnattr_setpgroup");
  check(posix_spawnattr_setsigdefault(&attr, &default_signals), "posix_spawnattr_setsigdefault");
  check(posix_spawnattr_setsigmask(&attr, &empty_mask), "posix_spawnattr_setsigmask");

  std::vector<std::string> argv_strings;
  argv_strings.push_back(spec.command);
  argv_strings.insert(argv_strings.end(), spec.args.begin(), spec.args.end());
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  pid_t pid = -1;
  if (rc == 0) {
    // glibc reports exec failures (ENOENT, EACCES, bad cwd) as the return value.
    int r = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    if (r != 0) {
      rc = r;
      result.error = "cannot start " + spec.command + ": " + std::strerror(r);
      if (!spec.cwd.empty() && r == ENOENT) result.error += " (command or cwd " + spec.cwd + ")";
    }
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in.read);
  ::close(out.write);
  ::close(err.write);
  if (rc != 0) {
    ::close(in.write);
    ::close(out.read);
    ::close(err.read);
    return result;
  }
  for (int fd : {in.write, out.read, err.read}) set_nonblocking(fd);
  for (int fd : {in.write, out.read}) fcntl(fd, F_SETPIPE_SZ, kProtocolPipeSize);
  result.child = SpawnedChild{pid, in.write, out.read, err.read};
  return result;
}

std::optional<int> try_reap(pid_t pid) {
  if (pid <= 0) return 0;
  siginfo_t info{};
  info.si_pid = 0;
  // Look without reaping first: the zombie keeps the group id ours.
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD ? std::optional<int>(0) : std::nullopt;  // ECHILD: reaped elsewhere
  if (info.si_pid == 0) return std::nullopt;                        // still running
  ::kill(-pid, SIGTERM);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid, &status, 0);  // it has exited: does not block
  } while (r < 0 && errno == EINTR);
  return r == pid ? status : 0;
}

void signal_group(pid_t pid, int sig) {
  if (pid > 0) ::kill(-pid, sig);
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace mcpbraid
