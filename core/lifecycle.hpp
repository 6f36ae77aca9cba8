#pragma once
// The lifecycle of one configured server, as the gateway sees it.
//   starting -> ready            (initialize answered)
//   starting/ready -> backoff    (it exited; a restart is scheduled)
//   backoff -> starting          (the restart is due and the spawn worked)
//   any -> failed                (initialize refused, crash loop, spawn failed)
//   any -> stopped               (stopped by us)
namespace mcpbraid {

enum class BackendState { starting, ready, backoff, failed, stopped };

inline const char* to_string(BackendState state) {
  switch (state) {
    case BackendState::starting:
      return "starting";
    case BackendState::ready:
      return "ready";
    case BackendState::backoff:
      return "backoff";
    case BackendState::failed:
      return "failed";
    case BackendState::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace mcpbraid
