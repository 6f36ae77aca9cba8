#pragma once
// A config reload as plain values: what differs between the running config
// and a new one, and what the gateway must do about each server. The
// gateway (backends/reloader) carries the plan out.
#include <string>
#include <vector>

#include "core/config.hpp"

namespace mcpbraid {

struct ReloadPlan {
  // Enabled in the new config only (or enabled again): started.
  std::vector<std::string> added;
  // Gone from the new config, or disabled now: stopped, their in-flight
  // requests answered with an error naming the reload.
  std::vector<std::string> removed;
  // How they are reached changed (command, args, env, cwd, type, url,
  // headers, ...): stopped and started again with the new config.
  std::vector<std::string> restarted;
  // Only what the gateway applies itself changed (failsafe, restart,
  // filters, prefix, expose, pinned, file order): updated in place, the
  // process and session kept.
  std::vector<std::string> updated;
  // The same in both, or only moved in the file: untouched (same pid,
  // session, circuit, counters; a new rank decides collisions from the
  // server's next list on).
  std::vector<std::string> unchanged;
  bool empty() const {
    return added.empty() && removed.empty() && restarted.empty() && updated.empty();
  }
};

// Whether a server must be restarted to go from `a` to `b`: what its
// transport is made of differs.
bool transport_differs(const ServerConfig& a, const ServerConfig& b);

// The new config with what cannot change while running (the separator,
// max_name_length, max_line, max_json_depth: names and readers are made
// with them) kept at the running values; those keys are added to
// `needs_restart` when they differed (a WARN each).
Config adopt(const Config& running, Config next, std::vector<std::string>* needs_restart);

// Every enabled server of either config lands in exactly one list; lists in name
// order.
ReloadPlan plan_reload(const Config& running, const Config& next);

// "2 added (a, b), 1 removed (c), ...", for the trace line and the reload
// command's answer; "no change" when empty.
std::string describe(const ReloadPlan& plan);

}  // namespace mcpbraid
