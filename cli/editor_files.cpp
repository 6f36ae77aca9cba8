#include "cli/editor_files.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "core/config.hpp"

namespace mcpbraid::cli {

namespace fs = std::filesystem;

namespace {

std::string reason(int error) {
  return std::strerror(error);
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// The file a write replaces: a symlink's target (dotfile managers link
// editors' files), else the path itself.
std::string target_of(const std::string& path) {
  std::error_code ec;
  fs::path target = fs::canonical(path, ec);
  return ec ? path : target.string();
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

// Writes `text` to a new file at `path` (it must not exist) with `mode`.
bool create_with(const std::string& path, const std::string& text, mode_t mode,
                 std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create " + path + ": " + reason(errno);
    return false;
  }
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    *error = "cannot write " + path + ": " + reason(saved);
  }
  return ok;
}

mode_t mode_of(const std::string& path, mode_t fallback) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? info.st_mode & 07777 : fallback;
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path, std::string* error,
                                          bool* missing) {
  if (missing) *missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (missing) *missing = errno == ENOENT;
    *error = "cannot read " + path + ": " + reason(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + path + ": " + reason(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool file_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

std::string back_up(const std::string& path, std::string* error) {
  std::string original = target_of(path);
  auto text = read_text_file(original, error);
  if (!text) return "";
  std::string backup = path + ".bak";
  if (file_exists(backup)) backup = path + ".bak." + timestamp();
  for (int n = 2; file_exists(backup); ++n)
    backup = path + ".bak." + timestamp() + "-" + std::to_string(n);
  if (!create_with(backup, *text, mode_of(original, 0600), error)) return "";
  return backup;
}

bool write_text_file(const std::string& path, const std::string& text, std::string* error) {
  std::string target = target_of(path);
  std::error_code ec;
  fs::path parent = fs::path(target).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) {
    *error = "cannot create " + parent.string() + ": " + ec.message();
    return false;
  }
  std::string temporary = target + ".tmp-" + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  if (!create_with(temporary, text, mode_of(target, 0600), error)) return false;
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    *error = "cannot replace " + target + ": " + reason(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

std::string absolute_path(const std::string& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute.lexically_normal().string();
}

std::string self_executable() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("mcpbraid") : exe.string();
}

std::string workspace_of(const std::string& path) {
  fs::path file = fs::path(absolute_path(path));
  fs::path dir = file.parent_path();
  std::string dir_name = dir.filename().string();
  if (file.filename() == "mcp.json" && (dir_name == ".vscode" || dir_name == ".cursor"))
    return dir.parent_path().string();
  if (file.filename() == ".mcp.json") return dir.string();
  return "";
}

std::string config_problem(const std::string& text, const std::string& path) {
  try {
    parse_config_text(text, path);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace mcpbraid::cli
