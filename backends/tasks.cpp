#include "backends/tasks.hpp"

#include <chrono>
#include <memory>
#include <random>

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

// Ids of one run differ from another's: a client that kept a task id across
// a gateway restart gets "not found", never somebody else's task.
std::string run_prefix() {
  std::random_device device;
  char text[16];
  std::snprintf(text, sizeof text, "%08x-", static_cast<unsigned>(device()));
  return text;
}

std::string now_iso() {
  using namespace std::chrono;
  return tasks::iso_time(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

Tasks::Tasks(Gateway& gateway) : g_(gateway), table_(run_prefix()) {}

std::optional<std::string> Tasks::lost(const tasks::TaskRoute& route) const {
  const Backend& b = *g_.backends()[route.backend];
  if (b.removed()) return "server " + b.name() + " was removed; its tasks are lost";
  if (b.serial() != route.serial) return "server " + b.name() + " restarted; its tasks are lost";
  if (!b.running()) return "server " + b.name() + " exited; its tasks are lost";
  return std::nullopt;
}

json Tasks::report_lost(const std::string& ours, const tasks::TaskRoute& route,
                        const std::string& reason) {
  // A task that had ended keeps its status; once reported lost, the same
  // report (its lastUpdatedAt) every time.
  if (tasks::terminal(route.last.value("status", std::string()))) {
    ended(ours);
    json task = route.last;
    task["taskId"] = ours;
    return task;
  }
  json task = tasks::lost_task(route, ours, reason, now_iso());
  table_.remember(ours, task);
  ended(ours);
  return task;
}

std::string Tasks::adopt_task(Backend& backend, json& task) {
  std::string theirs = tasks::task_id(task);
  if (theirs.empty()) return {};
  std::string ours = table_.adopt(g_.index_of(backend), theirs, backend.serial());
  drop_evicted();
  task["taskId"] = ours;
  json seen = task;
  seen.erase("_meta");
  table_.remember(ours, seen);
  if (tasks::terminal(seen.value("status", std::string()))) ended(ours);
  return ours;
}

void Tasks::ended(const std::string& ours) {
  if (std::int64_t token = table_.take_progress(ours)) g_.runner().drop_progress(token);
}

void Tasks::drop_evicted() {
  for (std::int64_t token : table_.take_dropped_progress()) g_.runner().drop_progress(token);
}

void Tasks::on_request(rpc::Message& message) {
  json id = message.body["id"];
  json params = params_of(message.body);
  const std::string& method = message.method;
  ClientChannel& client = g_.client();
  std::string ours = tasks::task_id(params);
  if (ours.empty())
    return client.reply_error(id, rpc::kInvalidParams, "Invalid params: missing taskId");
  const tasks::TaskRoute* route = table_.find(ours);
  if (!route) return client.reply_error(id, rpc::kInvalidParams, "Task not found: " + ours);
  if (auto why = lost(*route)) {
    json task = report_lost(ours, *route, *why);
    if (method == "tasks/get") return client.reply(id, std::move(task));
    if (method == "tasks/cancel")
      return client.reply_error(id, rpc::kInvalidParams,
                                "Cannot cancel task " + ours + ": it is already " +
                                    task["status"].get<std::string>() + " (" + *why + ")");
    // tasks/result: what the request would have returned, had it ended so.
    return client.reply_error(id, rpc::kInternalError, *why);
  }
  Backend& backend = *g_.backends()[route->backend];
  params["taskId"] = route->theirs;
  TaskRole role = method == "tasks/result" ? TaskRole::result : TaskRole::task;
  g_.runner().forward(CallSpec{backend, id, method, std::move(params), {}, role});
}

void Tasks::on_answer(CallRecord& call, Reply& reply) {
  if (!reply.ok() || call.backend < 0) return;
  Backend& backend = *g_.backends()[call.backend];
  switch (call.task_role) {
    case TaskRole::none:
      return;
    case TaskRole::create:
      if (json* task = tasks::created_task(reply.value)) {
        std::string ours = adopt_task(backend, *task);
        // "The progressToken provided in the initial request remains valid
        // throughout the task lifetime."
        if (call.progress_token && !tasks::terminal(task->value("status", std::string()))) {
          table_.set_progress(ours, call.progress_token);
          call.progress_token = 0;
        }
      }
      return;
    case TaskRole::task:
      adopt_task(backend, reply.value);
      return;
    case TaskRole::result:
      // The final result: the task has ended.
      to_client(backend, reply.value);
      if (json* id = tasks::related_task(reply.value)) ended(id->get<std::string>());
      return;
  }
}

bool Tasks::on_status(Backend& backend, json& params) {
  return !adopt_task(backend, params).empty();
}

void Tasks::to_client(Backend& backend, json& holder) {
  json* id = tasks::related_task(holder);
  if (!id) return;
  *id = table_.adopt(g_.index_of(backend), id->get<std::string>(), backend.serial());
  drop_evicted();
}

void Tasks::to_backend(int index, json& holder) {
  json* id = tasks::related_task(holder);
  if (!id) return;
  const tasks::TaskRoute* route = table_.find(id->get<std::string>());
  if (route && route->backend == index) *id = route->theirs;
}

namespace {

// One tasks/list being merged: the pages still awaited, what came.
struct ListMerge {
  json id;
  std::vector<json> per_backend;  // by backend index: the merge is in config order
  int remaining = 1;              // the fan-out itself, until every request is sent
};

}  // namespace

void Tasks::on_list(rpc::Message& message) {
  json id = message.body["id"];
  json params = params_of(message.body);
  // The merge is one page (nextCursor never given), so no cursor is ours.
  if (params.contains("cursor"))
    return g_.client().reply_error(id, rpc::kInvalidParams, "Invalid params: unknown cursor");
  auto merge = std::make_shared<ListMerge>();
  merge->id = id;
  merge->per_backend.assign(g_.backends().size(), json::array());
  auto finish_one = [this, merge] {
    if (--merge->remaining > 0) return;
    json all = json::array();
    for (std::size_t i = 0; i < merge->per_backend.size(); ++i) {
      for (json& task : merge->per_backend[i]) all.push_back(std::move(task));
      // And the tasks only the gateway still knows of: their backend lost them.
      for (const auto& ours : table_.of_backend(static_cast<int>(i)))
        if (const tasks::TaskRoute* route = table_.find(ours))
          if (auto why = lost(*route)) all.push_back(report_lost(ours, *route, *why));
    }
    g_.client().reply(merge->id, {{"tasks", std::move(all)}});
  };
  for (auto& owned : g_.backends()) {
    Backend* b = owned.get();
    if (b->state() != BackendState::ready || !tasks::offers(b->capabilities(), "list")) continue;
    ++merge->remaining;
    // One page asked; the next asked from its answer. The function holds
    // itself weakly; each request's callback holds it while it waits.
    using Page = std::function<void(json, int)>;
    auto first = std::make_shared<Page>();
    *first = [this, b, merge, finish_one, self = std::weak_ptr<Page>(first)](json cursor,
                                                                             int pages) {
      auto page = self.lock();
      json p = json::object();
      if (!cursor.is_null()) p["cursor"] = cursor;
      int serial = b->serial();
      b->request("tasks/list", std::move(p),
                 [this, b, merge, finish_one, page, pages, serial](Reply&& reply) {
                   json next;
                   if (!reply.ok()) {
                     trace::warn("backend.tasks_list_failed")
                         .kv("server", b->name())
                         .kv("reason",
                             reply.kind == Reply::Kind::error ? reply.value.dump() : reply.reason);
                   } else if (b->serial() == serial) {
                     auto list = reply.value.find("tasks");
                     if (list != reply.value.end() && list->is_array())
                       for (json& task : *list)
                         if (!tasks::task_id(task).empty()) {
                           adopt_task(*b, task);
                           merge->per_backend[g_.index_of(*b)].push_back(std::move(task));
                         }
                     auto cursor = reply.value.find("nextCursor");
                     if (cursor != reply.value.end() && cursor->is_string()) next = *cursor;
                   }
                   if (!next.is_null() && pages + 1 < kMaxListPages)
                     return (*page)(std::move(next), pages + 1);
                   finish_one();
                 });
    };
    (*first)(nullptr, 0);
  }
  finish_one();
}

}  // namespace mcpbraid
