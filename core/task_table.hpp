#pragma once
// Tasks (MCP 2025-11-25, experimental): the task ids the client sees in
// place of its backends' own. A task id is unique only per receiver, so two
// backends may both say "1"; the client gets ids of ours instead, made from
// a per-run prefix and a counter, and every message that names a task is
// translated where it crosses the gateway (backends/tasks).
//
// A route remembers the backend's start serial when the task was made: a
// backend that restarted (or exited) since has lost its tasks, and the
// gateway answers for them itself (`lost_task`): failed, with the reason.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/jsonrpc.hpp"

namespace mcpbraid::tasks {

inline constexpr const char* kRelatedTask = "io.modelcontextprotocol/related-task";

// The statuses after which a task never changes.
bool terminal(std::string_view status);

struct TaskRoute {
  int backend = -1;
  std::string theirs;  // the backend's own task id
  int serial = 0;      // the backend's start serial when the task was made
  // Our progress token at the backend for the task's progress (the call's,
  // kept past its CreateTaskResult as the spec says); 0 when none.
  std::int64_t progress = 0;
  // The last Task object seen for it (with our id): what the gateway
  // reports once the backend lost it.
  json last = json::object();
};

class TaskTable {
 public:
  // Routes kept at most; the oldest go first (a task that old is past any
  // ttl a server keeps tasks for, or abandoned).
  static constexpr std::size_t kMaxTasks = 4096;

  // `prefix` makes ids of one run differ from another's ("" in tests).
  explicit TaskTable(std::string prefix = {}, std::size_t max_tasks = kMaxTasks)
      : prefix_(std::move(prefix)), max_(max_tasks) {}

  // Our id for the backend's task, made when new.
  std::string adopt(int backend, const std::string& theirs, int serial);
  const TaskRoute* find(const std::string& ours) const;
  std::optional<std::string> ours_for(int backend, const std::string& theirs) const;
  // The task's state as last seen (a Task object, our id in it).
  void remember(const std::string& ours, const json& task);
  // The task's progress token (see TaskRoute), and taken back (0 when none)
  // once the task ended.
  void set_progress(const std::string& ours, std::int64_t token);
  std::int64_t take_progress(const std::string& ours);
  // Progress tokens of routes dropped for the bound since the last call.
  std::vector<std::int64_t> take_dropped_progress() { return std::exchange(dropped_, {}); }
  // Our ids of one backend's tasks, oldest first.
  std::vector<std::string> of_backend(int backend) const;
  std::size_t size() const { return routes_.size(); }

 private:
  std::string prefix_;
  std::size_t max_;
  std::size_t next_ = 1;
  std::map<std::string, TaskRoute> routes_;
  std::map<std::pair<int, std::string>, std::string> by_theirs_;
  std::deque<std::string> order_;  // ours, oldest first
  std::vector<std::int64_t> dropped_;
};

// The server's capabilities take task-augmented tools/call
// (tasks.requests.tools.call).
bool tool_calls(const json& capabilities);
// Its tasks capability says `what` ("list", "cancel").
bool offers(const json& capabilities, const char* what);

// params.task is an object: a task-augmented request.
bool task_augmented(const json& params);
// The taskId of a Task object (or of tasks/get params); "" when absent.
std::string task_id(const json& object);
// The Task of a CreateTaskResult, nullptr when it is none.
json* created_task(json& result);
// _meta["io.modelcontextprotocol/related-task"].taskId, nullptr when absent
// or not a string.
json* related_task(json& holder);

// A task whose backend lost it (it restarted or exited), as tasks/get
// reports it: status failed, the reason as statusMessage, with ttl,
// createdAt and lastUpdatedAt (the SDK client rejects a task without
// them), the times from what was last seen or else `now_iso`. A task last
// seen ended (completed, failed, cancelled) is reported as it was seen.
json lost_task(const TaskRoute& route, const std::string& ours, const std::string& reason,
               const std::string& now_iso);

// UTC, RFC 3339 with milliseconds: "2026-12-03T10:00:00.000Z".
std::string iso_time(std::int64_t unix_ms);

}  // namespace mcpbraid::tasks
