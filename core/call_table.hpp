#pragma once
// The calls in flight: one record per client request, from its arrival to
// its answer. This is the only place that knows what is open, so that
// duplicates, cancellation, retries, progress and draining all agree.
//
// A record is reached by a CallHandle (slot index + generation) rather than a
// pointer: a timer or a reply that outlives its call holds a handle that has
// simply gone stale (get() returns nullptr), never a dangling pointer.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

struct CallHandle {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;  // 0: no call
  explicit operator bool() const { return generation != 0; }
  friend bool operator==(const CallHandle&, const CallHandle&) = default;
};

// A call whose answer names a task (MCP 2025-11-25), translated by
// backends/tasks before the client gets it: a task-augmented tools/call
// (CreateTaskResult), tasks/get or tasks/cancel (a Task), tasks/result (the
// related-task _meta).
enum class TaskRole : std::uint8_t { none, create, task, result };

struct CallRecord {
  json id;          // the client's id as sent
  std::string key;  // rpc::id_key(id): its raw token
  std::string method;
  std::string request_id;  // "r<N>", N counting from 1 per table, for trace lines
  std::string server;      // set once routed ("" before)
  TimePoint started;
  // The request carried a 2026-07-28 envelope: its answer is shaped for that
  // revision (core/modern) where it is sent.
  bool modern = false;
  // Of those: the input capabilities (modern::InputCapability bits) its
  // envelope's clientCapabilities declare; what a backend may ask of the
  // client during this call.
  std::uint8_t client_inputs = 0;
  // Its envelope's logLevel as modern::log_rank (0: none): the backend's log
  // messages at or above it reach the client while this call is in flight.
  std::uint8_t log_rank = 0;
  // Once forwarded to a backend (backend >= 0):
  int backend = -1;    // index of the backend
  std::string params;  // serialized as sent to it
  int attempt = 0;
  bool retry_safe = false;
  bool cancelled = false;
  bool waiting_retry = false;  // between attempts: nothing at the backend
  TaskRole task_role = TaskRole::none;
  std::int64_t backend_id = -1;     // its id at the backend for the current attempt
  std::int64_t progress_token = 0;  // our token at the backend, 0 when none
};

class CallTable {
 public:
  // nullopt, nothing changed, when `key` is already open (a duplicate id).
  std::optional<CallHandle> open(json id, std::string key, std::string method, TimePoint now);
  // nullptr once closed (stale generation) or invalid.
  CallRecord* get(CallHandle h);
  const CallRecord* get(CallHandle h) const;
  std::optional<CallHandle> find(std::string_view key) const;
  bool contains(std::string_view key) const { return find(key).has_value(); }
  // The call answers to another id from now on (a 2026-07-28 multi
  // round-trip request: the client's retry has a new id). False, nothing
  // changed, when `key` is open already or the handle is stale. The handle
  // stays valid.
  bool rekey(CallHandle h, json id, std::string key);
  // Moved out; the handle becomes stale. nullopt when it already was.
  std::optional<CallRecord> close(CallHandle h);
  // The same without moving the record out: its strings are cleared, their
  // buffers kept for the slot's next call (a large params is released).
  // False when the handle was already stale. The hot path's close.
  bool discard(CallHandle h);
  std::size_t size() const { return by_key_.size(); }
  bool empty() const { return by_key_.empty(); }
  // Every open call, in slot order (not arrival order).
  std::vector<CallHandle> handles() const;
  // Slots allocated, open or free: stays at the peak number of open calls.
  std::size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    CallRecord record;
    // Bumped on close, so the handles given out for this slot go stale.
    std::uint32_t generation = 1;
    bool open = false;
  };
  // Keys are looked up as string_view (a span of the client's line) without
  // building a std::string.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept {
      return std::hash<std::string_view>{}(key);
    }
  };
  bool valid(CallHandle h) const {
    return h && h.index < slots_.size() && slots_[h.index].open &&
           slots_[h.index].generation == h.generation;
  }
  void check_invariants() const;

  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_;  // closed slots, reused last-closed first
  std::unordered_map<std::string, std::uint32_t, KeyHash, std::equal_to<>> by_key_;
  std::uint64_t next_request_number_ = 1;
};

}  // namespace mcpbraid
