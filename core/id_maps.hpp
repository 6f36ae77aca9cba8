#pragma once
// The ids the gateway hands out in place of someone else's, so that ids from
// different peers never collide:
//   - ProgressMap: the progress token we give a backend for a client's call,
//     mapped back to the client's own token when progress arrives;
//   - UpstreamMap: the id under which a backend's request (sampling,
//     elicitation, roots) is relayed to the client, mapped back to the
//     backend and its id when the client answers.
// Ours are integers from 1 up, never reused within a map.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/call_table.hpp"
#include "core/jsonrpc.hpp"

namespace mcpbraid {

// Progress tokens: ours at a backend -> the client's token and its call.
struct ProgressRoute {
  int backend;
  json client_token;
  CallHandle call;
};

class ProgressMap {
 public:
  // A fresh token, from 1 up.
  std::int64_t add(int backend, json client_token, CallHandle call);
  // nullptr when unknown (the call ended: late progress is dropped).
  const ProgressRoute* find(std::int64_t token) const;
  void erase(std::int64_t token) { routes_.erase(token); }
  // The call's progress now goes to `client_token` (null: to nobody; the
  // route stays, so the backend's progress still extends its deadline).
  void retarget(std::int64_t token, json client_token) {
    if (auto it = routes_.find(token); it != routes_.end())
      it->second.client_token = std::move(client_token);
  }
  std::size_t size() const { return routes_.size(); }

 private:
  std::unordered_map<std::int64_t, ProgressRoute> routes_;
  std::int64_t next_ = 1;
};

// A backend's request relayed to the client under an id of ours.
struct UpstreamRoute {
  int backend;
  json backend_id;
  std::string method;
};

class UpstreamMap {
 public:
  // A fresh id, from 1 up.
  std::int64_t add(int backend, json backend_id, std::string method);
  // Found and removed (the client answered); nullopt when unknown.
  std::optional<UpstreamRoute> take(std::int64_t id);
  // Our id for one backend's request id (for its notifications/cancelled),
  // nullopt if unknown. Backend ids compare by rpc::id_key: 5 and "5" differ.
  // Should a backend reuse an id still open, the oldest route is named.
  std::optional<std::int64_t> find_by_backend(int backend, const json& backend_id) const;
  // Removes and returns every route of `backend` (every route when
  // backend < 0), ordered by our id: the backend exited, or the client left.
  std::vector<std::pair<std::int64_t, UpstreamRoute>> take_all(int backend = -1);
  std::size_t size() const { return routes_.size(); }

 private:
  // Ordered by our id, so take_all() needs no sort.
  std::map<std::int64_t, UpstreamRoute> routes_;
  // (backend, id_key(backend_id), our id): a cancel from a backend is found
  // in O(log n) however many requests it has open.
  using IndexKey = std::tuple<int, std::string, std::int64_t>;
  std::set<IndexKey> by_backend_;
  std::int64_t next_ = 1;
};

}  // namespace mcpbraid
