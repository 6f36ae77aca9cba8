#include "core/task_table.hpp"

#include <ctime>
#include <utility>

namespace mcpbraid::tasks {

bool terminal(std::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

std::string TaskTable::adopt(int backend, const std::string& theirs, int serial) {
  if (auto known = ours_for(backend, theirs)) {
    TaskRoute& route = routes_[*known];
    if (route.serial == serial) return *known;
    // The same id from a later start is another task: a new route.
    by_theirs_.erase({backend, theirs});
  }
  std::string ours = prefix_ + std::to_string(next_++);
  routes_[ours] = TaskRoute{backend, theirs, serial, 0, json::object()};
  by_theirs_[{backend, theirs}] = ours;
  order_.push_back(ours);
  while (routes_.size() > max_ && !order_.empty()) {
    auto oldest = routes_.find(order_.front());
    order_.pop_front();
    if (oldest == routes_.end()) continue;
    auto index = by_theirs_.find({oldest->second.backend, oldest->second.theirs});
    if (index != by_theirs_.end() && index->second == oldest->first) by_theirs_.erase(index);
    if (oldest->second.progress) dropped_.push_back(oldest->second.progress);
    routes_.erase(oldest);
  }
  return ours;
}

const TaskRoute* TaskTable::find(const std::string& ours) const {
  auto it = routes_.find(ours);
  return it == routes_.end() ? nullptr : &it->second;
}

std::optional<std::string> TaskTable::ours_for(int backend, const std::string& theirs) const {
  auto it = by_theirs_.find({backend, theirs});
  if (it == by_theirs_.end()) return std::nullopt;
  return it->second;
}

void TaskTable::remember(const std::string& ours, const json& task) {
  auto it = routes_.find(ours);
  if (it != routes_.end() && task.is_object()) it->second.last = task;
}

void TaskTable::set_progress(const std::string& ours, std::int64_t token) {
  if (auto it = routes_.find(ours); it != routes_.end()) it->second.progress = token;
}

std::int64_t TaskTable::take_progress(const std::string& ours) {
  auto it = routes_.find(ours);
  return it == routes_.end() ? 0 : std::exchange(it->second.progress, 0);
}

std::vector<std::string> TaskTable::of_backend(int backend) const {
  std::vector<std::string> out;
  for (const auto& ours : order_) {
    auto it = routes_.find(ours);
    if (it != routes_.end() && it->second.backend == backend) out.push_back(ours);
  }
  return out;
}

namespace {
const json* member_object(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? &*it : nullptr;
}
}  // namespace

bool tool_calls(const json& capabilities) {
  const json* t = member_object(capabilities, "tasks");
  const json* r = t ? member_object(*t, "requests") : nullptr;
  const json* tools = r ? member_object(*r, "tools") : nullptr;
  return tools && member_object(*tools, "call");
}

bool offers(const json& capabilities, const char* what) {
  const json* t = member_object(capabilities, "tasks");
  return t && member_object(*t, what);
}

bool task_augmented(const json& params) {
  if (!params.is_object()) return false;
  auto it = params.find("task");
  return it != params.end() && it->is_object();
}

std::string task_id(const json& object) {
  if (!object.is_object()) return {};
  auto it = object.find("taskId");
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json* created_task(json& result) {
  if (!result.is_object()) return nullptr;
  auto it = result.find("task");
  if (it == result.end() || !it->is_object() || task_id(*it).empty()) return nullptr;
  return &*it;
}

json* related_task(json& holder) {
  if (!holder.is_object()) return nullptr;
  auto meta = holder.find("_meta");
  if (meta == holder.end() || !meta->is_object()) return nullptr;
  auto related = meta->find(kRelatedTask);
  if (related == meta->end() || !related->is_object()) return nullptr;
  auto id = related->find("taskId");
  if (id == related->end() || !id->is_string()) return nullptr;
  return &*id;
}

json lost_task(const TaskRoute& route, const std::string& ours, const std::string& reason,
               const std::string& now_iso) {
  const json& last = route.last;
  auto text = [&](const char* key) {
    auto it = last.find(key);
    return it != last.end() && it->is_string() ? it->get<std::string>() : now_iso;
  };
  // A task that had ended keeps its status (a terminal status never
  // changes); one still running is gone.
  if (last.is_object() && terminal(last.value("status", std::string()))) {
    json task = last;
    task["taskId"] = ours;
    return task;
  }
  json task = json::object();
  task["taskId"] = ours;
  task["status"] = "failed";
  task["statusMessage"] = reason;
  task["createdAt"] = text("createdAt");
  task["lastUpdatedAt"] = now_iso;
  auto ttl = last.find("ttl");
  task["ttl"] = ttl != last.end() && (ttl->is_number_integer() || ttl->is_null()) ? *ttl : json();
  return task;
}

std::string iso_time(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return text;
}

}  // namespace mcpbraid::tasks
