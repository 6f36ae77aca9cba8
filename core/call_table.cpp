#include "core/call_table.hpp"

#include <cassert>
#include <utility>

namespace mcpbraid {

// O(1), so that debug builds stay usable with thousands of calls open:
// every slot is either open (and in the key index) or on the free list.
void CallTable::check_invariants() const {
  assert(by_key_.size() + free_.size() == slots_.size());
}

std::optional<CallHandle> CallTable::open(json id, std::string key, std::string method,
                                          TimePoint now) {
  if (by_key_.find(std::string_view(key)) != by_key_.end()) return std::nullopt;
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    assert(slots_.size() < UINT32_MAX);
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  assert(!slot.open);
  slot.open = true;
  CallRecord& record = slot.record;  // empty: new, or cleared by close()
  record.id = std::move(id);
  record.key = std::move(key);
  record.method = std::move(method);
  record.request_id = "r" + std::to_string(next_request_number_++);
  record.started = now;
  by_key_.emplace(record.key, index);
  check_invariants();
  return CallHandle{index, slot.generation};
}

CallRecord* CallTable::get(CallHandle h) {
  return valid(h) ? &slots_[h.index].record : nullptr;
}

const CallRecord* CallTable::get(CallHandle h) const {
  return valid(h) ? &slots_[h.index].record : nullptr;
}

std::optional<CallHandle> CallTable::find(std::string_view key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  const Slot& slot = slots_[it->second];
  assert(slot.open && slot.record.key == key);
  return CallHandle{it->second, slot.generation};
}

bool CallTable::rekey(CallHandle h, json id, std::string key) {
  if (!valid(h) || by_key_.find(std::string_view(key)) != by_key_.end()) return false;
  CallRecord& r = slots_[h.index].record;
  by_key_.erase(by_key_.find(std::string_view(r.key)));
  r.id = std::move(id);
  r.key = std::move(key);
  by_key_.emplace(r.key, h.index);
  check_invariants();
  return true;
}

std::optional<CallRecord> CallTable::close(CallHandle h) {
  if (!valid(h)) return std::nullopt;
  Slot& slot = slots_[h.index];
  auto it = by_key_.find(std::string_view(slot.record.key));
  assert(it != by_key_.end() && it->second == h.index);
  by_key_.erase(it);
  std::optional<CallRecord> out(std::move(slot.record));
  slot.record = CallRecord{};  // a moved-from json/string: leave the slot plainly empty
  slot.open = false;
  // 0 means "no call"; after 2^32 reuses of one slot a generation repeats,
  // far beyond the life of any handle.
  if (++slot.generation == 0) slot.generation = 1;
  free_.push_back(h.index);
  check_invariants();
  return out;
}

bool CallTable::discard(CallHandle h) {
  if (!valid(h)) return false;
  Slot& slot = slots_[h.index];
  auto it = by_key_.find(std::string_view(slot.record.key));
  assert(it != by_key_.end() && it->second == h.index);
  by_key_.erase(it);
  CallRecord& r = slot.record;
  static constexpr std::size_t kKeepParams = 4096;
  r.id = nullptr;
  r.key.clear();
  r.method.clear();
  r.request_id.clear();
  r.server.clear();
  if (r.params.capacity() > kKeepParams)
    r.params = std::string();
  else
    r.params.clear();
  r.started = TimePoint{};
  r.backend = -1;
  r.attempt = 0;
  r.retry_safe = r.cancelled = r.waiting_retry = r.modern = false;
  r.backend_id = -1;
  r.progress_token = 0;
  r.task_role = TaskRole::none;
  r.client_inputs = 0;
  r.log_rank = 0;
  slot.open = false;
  if (++slot.generation == 0) slot.generation = 1;
  free_.push_back(h.index);
  check_invariants();
  return true;
}

std::vector<CallHandle> CallTable::handles() const {
  std::vector<CallHandle> out;
  out.reserve(by_key_.size());
  for (std::uint32_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].open) out.push_back(CallHandle{i, slots_[i].generation});
  assert(out.size() == by_key_.size());
  return out;
}

}  // namespace mcpbraid
