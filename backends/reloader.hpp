#pragma once
// Hot reload: the config file is watched (inotify on the file, and on its
// directory for an editor's atomic rename; changes debounced) and re-read on
// SIGHUP and on the control socket's "reload". A new config is validated
// first: an invalid one leaves the running config as it is (ERROR naming
// the file and key, and `last reload failed` in health). A valid one is
// applied as core/reload plans it: added servers started (initialized
// with the client's capabilities), removed ones stopped with their open
// requests answered with an error naming the reload, changed ones
// restarted, the rest updated in place or left alone; then one
// list_changed per list whose merged text really changed.
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "backends/timer.hpp"
#include "core/config.hpp"
#include "core/health.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

class Gateway;

class Reloader {
 public:
  static constexpr Milliseconds kDebounce{150};
  // How often a reload checks whether the servers it started settled.
  static constexpr Milliseconds kSettlePoll{20};

  explicit Reloader(Gateway& gateway);
  ~Reloader();

  // Watches the config file's directory (nothing for an inline config, or
  // when inotify is unavailable: a WARN, SIGHUP still works).
  void watch(const std::string& path);
  // Reads the file again and applies it; what happened, as the control
  // socket answers it: {ok, changes} or {ok: false, error}.
  json reload(const std::string& source);
  // Applies an already-loaded config (reload() and tests).
  json apply(Config next, const std::string& source);
  const std::optional<health::ReloadStatus>& status() const { return status_; }
  void cancel();

 private:
  struct Watch;
  void on_file_event();
  void settle(TimePoint until);
  void record(bool ok, std::string error, std::string changes);

  Gateway& g_;
  std::unique_ptr<Watch> watch_;
  std::unique_ptr<Timer> debounce_;
  std::unique_ptr<Timer> settle_timer_;
  std::optional<health::ReloadStatus> status_;
};

}  // namespace mcpbraid
