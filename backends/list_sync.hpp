#pragma once
// The backends' lists, kept in sync: fetched on demand, drained across
// pages, cached per backend until list_changed (or a restart) invalidates
// them, merged for the client (core/list_merge), and list_changed sent to
// the client coalesced.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "backends/timer.hpp"
#include "core/jsonrpc.hpp"
#include "core/list_kind.hpp"
#include "core/list_merge.hpp"

namespace mcpbraid {

class Backend;
class Gateway;

class ListSync {
 public:
  static constexpr int kMaxPages = 1000;
  static constexpr int kMaxListRestarts = 3;
  static constexpr std::chrono::milliseconds kListChangedCoalesce{10};

  explicit ListSync(Gateway& gateway);

  // The client's tools/list, prompts/list, ...: the merged list, whole.
  void on_client_list(rpc::Message& message, ListKind kind);
  // Every ready backend's list of `kind` fetched (from cache when valid), then done().
  void collect(ListKind kind, std::function<void()> done);
  // A backend said notifications/<kind>/list_changed.
  void on_backend_list_changed(Backend& backend, const std::string& method);
  // A restarted backend: fetch again; list_changed only if they changed.
  void refresh_after_restart(Backend& backend);
  // A failed backend leaves the lists (its routes stay, so a client that
  // still knows its tools hears why they fail rather than "unknown tool").
  void drop(Backend& backend);
  // Tell the client every list may have changed (a late join, a drop).
  void announce_all();
  // A reload: list_changed is held back from hold() to release(), which
  // fetches every list again and sends list_changed only for those whose
  // merged text differs from what it was at hold(). Holds nest.
  void hold();
  void release();
  // A reload appended a backend.
  void on_backend_added();
  // A reload changed how its items are exposed (prefix, filters, expose):
  // fetched again when ready, else dropped until it is.
  void reexpose(Backend& backend);
  // A reload removed it: its lists and names are gone.
  void remove(Backend& backend);
  // The gateway's own tools changed (gateway_tools, search mode).
  void invalidate_rendered();
  void cancel();

  // What the other parts read.
  const std::optional<std::vector<json>>& items(const Backend& backend, ListKind kind) const;
  bool retry_safe(const Backend& backend, const std::string& tool) const;
  // Whether item i of items() is in the client's list: listed (not behind
  // search) and, for tools and prompts, its server keeps the name.
  bool shown(const Backend& backend, ListKind kind, std::size_t i) const;
  // How many the server's filter hid from its last stored list.
  std::size_t hidden(const Backend& backend, ListKind kind) const {
    return cache(backend, kind).hidden;
  }
  // A stamp per backend of its stored tools list (0: none); changes with
  // every store, so the search index knows when to rebuild.
  std::vector<std::uint64_t> tools_signature() const;
  // Why the last fetch of this list stopped short ("" when it did not).
  const std::string& error(const Backend& backend, ListKind kind) const {
    return cache(backend, kind).error;
  }

 private:
  struct Cache {
    std::optional<std::vector<json>> items;  // exposed form (names already prefixed)
    std::vector<bool> listed;                // per item: in the client's list
    std::size_t hidden = 0;                  // left out by the filter
    std::vector<std::function<void()>> waiters;
    bool fetching = false;
    std::uint64_t generation = 0;  // bumped on invalidation; stale fetches are discarded
    std::uint64_t stamp = 0;       // unique per stored list (never reused), for the render cache
    std::string error;             // why the last fetch stopped short
    // A 2026-07-28 backend's list is fresh for its ttlMs (the least of its
    // pages'); after that the next use fetches it again. Unset: until its
    // list_changed.
    std::optional<TimePoint> fresh_until;
    bool refreshing = false;  // this fetch replaces a list whose ttlMs passed
  };
  struct PerBackend {
    std::array<Cache, kListKinds> lists;
    std::unordered_set<std::string> retry_safe;  // its own tool names
  };
  Cache& cache(const Backend& backend, ListKind kind);
  const Cache& cache(const Backend& backend, ListKind kind) const;
  void fetch(Backend& backend, ListKind kind, std::function<void()> done);
  void fetch_page(Backend& backend, ListKind kind, std::vector<json> items, json cursor,
                  int restarts, int pages);
  void store(Backend& backend, ListKind kind, std::vector<json> items);
  // The one place a cached list is dropped.
  void invalidate(Backend& backend, ListKind kind);
  const std::string& rendered(ListKind kind);
  // WARN once for every name a server loses to another.
  void warn_collisions(ListKind kind);
  void schedule_list_changed(ListKind kind);

  Gateway& g_;
  std::vector<PerBackend> per_backend_;  // by backend index
  std::array<MergedList, kListKinds> merged_;
  // The client was sent this merged list at least once: a list it never
  // saw cannot have changed for it.
  std::array<bool, kListKinds> client_listed_{};
  std::uint64_t next_stamp_ = 1;
  std::unordered_set<std::string> warned_;  // collisions already logged
  int holds_ = 0;
  // At the first hold(): the client's lists as they were (only those it
  // has seen; resources holds resources and templates).
  std::array<std::optional<std::string>, kListKinds> before_hold_;
  unsigned list_changed_pending_ = 0;  // bit per ListKind
  std::unique_ptr<Timer> list_changed_timer_;
};

}  // namespace mcpbraid
