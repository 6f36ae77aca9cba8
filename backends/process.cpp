#include "backends/process.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

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

// What the child does between vfork and exec, prepared by the parent: the
// child may only make system calls (it shares our memory until it execs).
struct ChildPlan {
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;  // null: inherit
  pid_t parent = -1;
  int stdio[3] = {-1, -1, -1};
  int error_pipe = -1;  // close-on-exec: EOF means exec succeeded
};

// Which step failed, sent with its errno through the error pipe.
enum class ChildStep : int { deathsig, parent_gone, setpgid, dup2, chdir, exec };

struct ChildFailure {
  ChildStep step;
  int err;
};

[[noreturn]] void fail_in_child(const ChildPlan& plan, ChildStep step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = ::write(plan.error_pipe, &failure, sizeof failure);
  (void)ignored;
  ::_exit(127);
}

// The signals mcpbraid handles or ignores get their defaults back (SIGPIPE
// above all: we ignore it, a server must not inherit that), every handler
// is dropped before the mask opens (a signal now must not run our handler in
// the child), and nothing stays blocked. As posix_spawn's SETSIGDEF and
// SETSIGMASK did.
void reset_signals_in_child() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) != 0) continue;  // a signal glibc reserves
    bool reset = sig == SIGPIPE || sig == SIGINT || sig == SIGTERM || old.sa_handler != SIG_IGN;
    if (reset && old.sa_handler != SIG_DFL) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void exec_child(const ChildPlan& plan) {
  // The child must not outlive us, even when we are SIGKILLed and cannot
  // stop it: SIGKILL, since nobody is left to follow a SIGTERM it ignores.
  // It fires when the thread that forked exits: the gateway's only thread.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail_in_child(plan, ChildStep::deathsig);
  // We may have died before the prctl: then nobody would ever send it.
  if (::getppid() != plan.parent) {
    errno = ESRCH;
    fail_in_child(plan, ChildStep::parent_gone);
  }
  // Put the child in its own process group, so a Ctrl-C meant for the editor
  // does not reach it and we can stop its whole tree at once.
  if (::setpgid(0, 0) != 0) fail_in_child(plan, ChildStep::setpgid);
  for (int fd = 0; fd < 3; ++fd) {
    // Already in place (we were started with that fd closed): dup2 would
    // keep its close-on-exec flag.
    int r = plan.stdio[fd] == fd ? ::fcntl(fd, F_SETFD, 0) : ::dup2(plan.stdio[fd], fd);
    if (r < 0) fail_in_child(plan, ChildStep::dup2);
  }
  if (plan.cwd && ::chdir(plan.cwd) != 0) fail_in_child(plan, ChildStep::chdir);
  reset_signals_in_child();
  ::execve(plan.program, plan.argv, plan.envp);
  fail_in_child(plan, ChildStep::exec);
}

// Blocks every signal for the vfork: the child starts with our handlers
// installed, and must not run one before it has dropped them.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~BlockedSignals() { ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;

 private:
  sigset_t saved_;
};

// vfork, not fork: nothing of our memory is copied (a gateway that carried
// large results holds hundreds of MiB) and we resume once the child has
// exec'd or failed. Returns the pid, or -1 with errno.
pid_t vfork_child(const ChildPlan& plan) {
  BlockedSignals blocked;
  pid_t pid = ::vfork();
  if (pid == 0) exec_child(plan);
  return pid;
}

std::string describe_failure(const SpawnSpec& spec, const ChildFailure& failure) {
  std::string why = std::strerror(failure.err);
  switch (failure.step) {
    case ChildStep::exec:
      return "cannot start " + spec.command + ": " + why;
    case ChildStep::chdir:
      return "cannot start " + spec.command + ": " + why + " (cwd " + spec.cwd + ")";
    case ChildStep::deathsig:
      return errno_text("prctl(PR_SET_PDEATHSIG)", failure.err);
    case ChildStep::parent_gone:
      return "cannot start " + spec.command + ": mcpbraid exited meanwhile";
    case ChildStep::setpgid:
      return errno_text("setpgid", failure.err);
    case ChildStep::dup2:
      return errno_text("dup2", failure.err);
  }
  return "cannot start " + spec.command;
}

// After the vfork: EOF on the error pipe means the exec happened; otherwise
// the child says which step failed, and has exited (127): reap it.
std::optional<ChildFailure> read_failure(int error_pipe, pid_t pid) {
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(error_pipe, &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof failure)) return std::nullopt;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return failure;
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
  Pipe in, out, err, report;
  if (!in.open() || !out.open() || !err.open() || !report.open()) {
    int e = errno;
    for (Pipe* p : {&in, &out, &err, &report}) p->close_both();
    result.error = errno_text("pipe2", e);
    return result;
  }

  std::vector<std::string> argv_strings;
  argv_strings.push_back(spec.command);
  argv_strings.insert(argv_strings.end(), spec.args.begin(), spec.args.end());
  auto argv = c_strings(argv_strings);
  auto envp = c_strings(env_strings);

  ChildPlan plan;
  plan.program = program.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  plan.parent = ::getpid();
  plan.stdio[0] = in.read;
  plan.stdio[1] = out.write;
  plan.stdio[2] = err.write;
  plan.error_pipe = report.write;

  pid_t pid = vfork_child(plan);
  int fork_errno = errno;
  ::close(report.write);
  ::close(in.read);
  ::close(out.write);
  ::close(err.write);
  std::optional<ChildFailure> failure;
  if (pid < 0)
    result.error = errno_text("vfork", fork_errno);
  else
    failure = read_failure(report.read, pid);
  ::close(report.read);
  if (failure) result.error = describe_failure(spec, *failure);
  if (pid < 0 || failure) {
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

std::optional<int> try_reap(pid_t pid, int rest_of_group) {
  if (pid <= 0) return 0;
  siginfo_t info{};
  info.si_pid = 0;
  // Look without reaping first: the zombie keeps the group id ours.
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD ? std::optional<int>(0) : std::nullopt;  // ECHILD: reaped elsewhere
  if (info.si_pid == 0) return std::nullopt;                        // still running
  ::kill(-pid, rest_of_group);
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
