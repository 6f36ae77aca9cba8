#pragma once
// Tasks (MCP 2025-11-25, experimental) through the gateway. A backend's task
// ids are unique only at that backend, so the client sees ids of ours
// (core/task_table) and every message that names a task is translated where
// it crosses: the CreateTaskResult of a task-augmented tools/call, tasks/get,
// tasks/result and tasks/cancel (routed by task id), tasks/list (merged
// here), notifications/tasks/status, and the related-task _meta of the
// requests and notifications a backend sends about a task (an elicitation
// while tasks/result waits) and of the client's answers to them.
//
// A task whose backend restarted or exited since it was made is reported by
// the gateway itself: failed, with the reason (tasks/get, tasks/list), its
// tasks/result an error, its tasks/cancel refused as for any ended task.
#include <optional>
#include <string>

#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"
#include "core/task_table.hpp"

namespace mcpbraid {

class Backend;
class Gateway;
struct Reply;

class Tasks {
 public:
  // tasks/list follows a backend's nextCursor this many pages at most.
  static constexpr int kMaxListPages = 16;

  explicit Tasks(Gateway& gateway);

  // tasks/get, tasks/result, tasks/cancel from the client.
  void on_request(rpc::Message& message);
  // tasks/list from the client: every task-listing backend's tasks, and the
  // lost ones, in one page.
  void on_list(rpc::Message& message);
  // The answer to a call forwarded with a task role, before the client gets
  // it: the backend's task ids become ours.
  // A task made keeps the call's progress token until the task ends (taken
  // from `call`, so the call's end leaves it).
  void on_answer(CallRecord& call, Reply& reply);
  // A backend's notifications/tasks/status: its task id becomes ours. False
  // when it names no task (it is dropped).
  bool on_status(Backend& backend, json& params);
  // The related-task _meta of what a backend sends the client (`holder` is
  // its params) names our id; of the client's answer to a request relayed
  // from backend `index` (`holder` its result), the backend's again.
  void to_client(Backend& backend, json& holder);
  void to_backend(int index, json& holder);

  const tasks::TaskTable& table() const { return table_; }

 private:
  // Why the task's backend no longer has it; nullopt while it may.
  std::optional<std::string> lost(const tasks::TaskRoute& route) const;
  // The gateway's report of a lost task, remembered so it stays the same.
  json report_lost(const std::string& ours, const tasks::TaskRoute& route,
                   const std::string& reason);
  // A backend's Task object, its id made ours (adopted when new); our id.
  std::string adopt_task(Backend& backend, json& task);
  // The task ended (or was lost): its progress route goes.
  void ended(const std::string& ours);
  void drop_evicted();

  Gateway& g_;
  tasks::TaskTable table_;
};

}  // namespace mcpbraid
