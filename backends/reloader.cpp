#include "backends/reloader.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "backends/gateway.hpp"
#include "core/reload.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Whether what the client sees of its lists (names, filters, search) differs.
bool exposure_differs(const ServerConfig& a, const ServerConfig& b) {
  return a.prefix != b.prefix || a.tools != b.tools || a.prompts != b.prompts ||
         a.resources != b.resources || a.expose != b.expose || a.pinned != b.pinned;
}

}  // namespace

struct Reloader::Watch {
  explicit Watch(asio::io_context& io) : stream(io) {}
  asio::posix::stream_descriptor stream;
  std::string path;
  std::string name;  // the file's name in the watched directory
  int dir_watch = -1;
  int file_watch = -1;
  std::array<char, 4096> buffer{};

  // The file itself (its inode): an in-place save closes it written; a
  // delete or a rename over it ends this watch, re-added after the reload.
  // Not through a symlink: a link into another directory is not watched.
  void watch_file() {
    file_watch =
        ::inotify_add_watch(stream.native_handle(), path.c_str(),
                            IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW);
  }
};

Reloader::Reloader(Gateway& gateway) : g_(gateway) {}
Reloader::~Reloader() = default;

void Reloader::watch(const std::string& path) {
  if (path.empty()) return;
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    trace::warn("config.watch_failed").kv("file", path).kv("error", std::strerror(errno));
    return;
  }
  // The directory only for renames into it: an editor that saves by
  // renaming a new file over the old one replaces the inode the file watch
  // follows. Not for every write in it (a config in a busy directory such as
  // /tmp or $HOME would wake the gateway for every file closed there).
  int dir_watch = ::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_ONLYDIR);
  if (dir_watch < 0) {
    trace::warn("config.watch_failed").kv("file", path).kv("error", std::strerror(errno));
    ::close(fd);
    return;
  }
  watch_ = std::make_unique<Watch>(g_.io());
  watch_->stream.assign(fd);
  watch_->path = path;
  watch_->name = std::move(name);
  watch_->dir_watch = dir_watch;
  watch_->watch_file();
  trace::debug("config.watch").kv("file", path);
  on_file_event();
}

void Reloader::on_file_event() {
  Watch& w = *watch_;
  w.stream.async_read_some(asio::buffer(w.buffer), [this](asio::error_code ec, std::size_t n) {
    if (ec || !watch_) return;
    Watch& w = *watch_;
    bool ours = false;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event event;
      std::memcpy(&event, w.buffer.data() + at, sizeof event);
      const char* name = w.buffer.data() + at + sizeof(inotify_event);
      if (event.wd == w.dir_watch && event.len > 0 &&
          w.name == std::string(name, ::strnlen(name, event.len)))
        ours = true;
      if (event.wd == w.file_watch && event.wd >= 0) {
        if (event.mask & (IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)) ours = true;
        if (event.mask & IN_IGNORED) w.file_watch = -1;
      }
      at += sizeof(inotify_event) + event.len;
    }
    if (ours && !g_.session().finishing()) {
      // Editors write in steps (truncate, write, rename): act on the last.
      debounce_ = std::make_unique<Timer>(g_.io(), kDebounce);
      debounce_->async_wait([this](asio::error_code e) {
        if (e || !watch_) return;
        watch_->watch_file();  // the file now there (a new inode after a rename)
        g_.guarded([this] { reload("file"); });
      });
    }
    on_file_event();
  });
}

json Reloader::reload(const std::string& source) {
  const std::string& path = g_.config().path;
  if (path.empty()) {
    record(false, "the config was not read from a file", "");
    return {{"ok", false}, {"error", status_->error}};
  }
  Config next;
  try {
    next = load_config(path);
  } catch (const ConfigError& e) {
    trace::error("config.reload_failed")
        .kv("source", source)
        .kv("file", path)
        .kv("error", e.what());
    record(false, e.what(), "");
    return {{"ok", false}, {"error", status_->error}};
  }
  for (const auto& warning : next.warnings)
    trace::warn("config.warning").kv("file", path).kv("warning", warning);
  return apply(std::move(next), source);
}

json Reloader::apply(Config next, const std::string& source) {
  if (g_.session().finishing()) {
    record(false, "mcpbraid is shutting down", "");
    return {{"ok", false}, {"error", status_->error}};
  }
  const Config& running = g_.config();
  std::vector<std::string> needs_restart;
  next = adopt(running, std::move(next), &needs_restart);
  for (const auto& key : needs_restart)
    trace::warn("config.reload_needs_restart")
        .kv("file", running.path)
        .kv("key", key)
        .kv("note", "this option cannot change while mcpbraid runs; the old value stays");
  ReloadPlan plan = plan_reload(running, next);
  std::string changes = describe(plan);
  trace::info("config.reload").kv("source", source).kv("file", next.path).kv("changes", changes);
  bool own_tools_changed = GatewayTools::definitions(running) != GatewayTools::definitions(next);

  bool settling = settle_timer_ != nullptr;
  if (!settling) g_.lists().hold();
  g_.set_config(std::move(next));
  auto server = [this](const std::string& name) -> const ServerConfig& {
    for (const auto& s : g_.config().servers)
      if (s.name == name) return s;
    throw std::logic_error("reload: no server " + name);
  };

  for (const auto& name : plan.removed)
    if (Backend* b = g_.find_backend(name))
      g_.remove_backend(*b, "mcpbraid: server '" + name + "' was removed by a config reload");
  for (const auto& name : plan.unchanged)
    if (Backend* b = g_.find_backend(name)) b->reconfigure(server(name));  // its rank, maybe
  for (const auto& name : plan.updated) {
    Backend* b = g_.find_backend(name);
    if (!b) continue;
    bool exposure = exposure_differs(b->config(), server(name));
    b->reconfigure(server(name));
    g_.supervisor().reconfigure(*b);
    if (exposure) g_.lists().reexpose(*b);
  }
  for (const auto& name : plan.restarted) {
    Backend* b = g_.find_backend(name);
    if (!b) continue;
    b->reconfigure(server(name));
    g_.supervisor().reconfigure(*b);
    g_.supervisor().restart_now(
        *b, "mcpbraid: server '" + name + "' was restarted by a config reload", true);
  }
  for (const auto& name : plan.added) g_.supervisor().start_backend(g_.add_backend(server(name)));
  if (own_tools_changed) {
    g_.reserve_own_names();
    g_.lists().invalidate_rendered();
  }
  record(true, "", changes);
  if (!settling) settle(Clock::now() + g_.config().initialize_timeout + Milliseconds(1000));
  return {{"ok", true},
          {"changes", changes},
          {"added", plan.added},
          {"removed", plan.removed},
          {"restarted", plan.restarted},
          {"updated", plan.updated},
          {"needs_restart", needs_restart}};
}

// Once the servers it started answered initialize (or the wait ran out),
// the lists are compared with what the client had.
void Reloader::settle(TimePoint until) {
  bool waiting = false;
  if (g_.session().settled() && !g_.session().finishing())
    for (const auto& b : g_.backends())
      if (!b->removed() && b->state() == BackendState::starting && b->running()) waiting = true;
  if (!waiting || Clock::now() >= until) {
    settle_timer_.reset();
    g_.lists().release();
    return;
  }
  settle_timer_ = std::make_unique<Timer>(g_.io(), kSettlePoll);
  settle_timer_->async_wait([this, until](asio::error_code ec) {
    if (!ec) g_.guarded([this, until] { settle(until); });
  });
}

void Reloader::record(bool ok, std::string error, std::string changes) {
  status_ = health::ReloadStatus{ok, utc_now(), std::move(error), std::move(changes)};
}

void Reloader::cancel() {
  if (debounce_) debounce_->cancel();
  if (settle_timer_) settle_timer_->cancel();
  settle_timer_.reset();
  if (watch_) {
    asio::error_code ignored;
    watch_->stream.close(ignored);
  }
}

}  // namespace mcpbraid
