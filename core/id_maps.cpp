#include "core/id_maps.hpp"

#include <cassert>
#include <limits>

namespace mcpbraid {

// ---------------------------------------------------------------- progress

std::int64_t ProgressMap::add(int backend, json client_token, CallHandle call) {
  std::int64_t token = next_++;
  [[maybe_unused]] bool fresh =
      routes_.emplace(token, ProgressRoute{backend, std::move(client_token), call}).second;
  assert(fresh);
  return token;
}

const ProgressRoute* ProgressMap::find(std::int64_t token) const {
  auto it = routes_.find(token);
  return it != routes_.end() ? &it->second : nullptr;
}

// ---------------------------------------------------------------- upstream

std::int64_t UpstreamMap::add(int backend, json backend_id, std::string method) {
  std::int64_t id = next_++;
  by_backend_.emplace(backend, rpc::id_key(backend_id), id);
  [[maybe_unused]] bool fresh =
      routes_.emplace(id, UpstreamRoute{backend, std::move(backend_id), std::move(method)}).second;
  assert(fresh);
  assert(by_backend_.size() == routes_.size());
  return id;
}

std::optional<UpstreamRoute> UpstreamMap::take(std::int64_t id) {
  auto it = routes_.find(id);
  if (it == routes_.end()) return std::nullopt;
  [[maybe_unused]] std::size_t erased =
      by_backend_.erase(IndexKey{it->second.backend, rpc::id_key(it->second.backend_id), id});
  assert(erased == 1);
  std::optional<UpstreamRoute> out(std::move(it->second));
  routes_.erase(it);
  assert(by_backend_.size() == routes_.size());
  return out;
}

std::optional<std::int64_t> UpstreamMap::find_by_backend(int backend,
                                                         const json& backend_id) const {
  std::string key = rpc::id_key(backend_id);
  // The first entry at or after (backend, key, lowest id) is the oldest route
  // for that pair, if it is one at all.
  auto it =
      by_backend_.lower_bound(IndexKey{backend, key, std::numeric_limits<std::int64_t>::min()});
  if (it == by_backend_.end() || std::get<0>(*it) != backend || std::get<1>(*it) != key)
    return std::nullopt;
  return std::get<2>(*it);
}

std::vector<std::pair<std::int64_t, UpstreamRoute>> UpstreamMap::take_all(int backend) {
  std::vector<std::pair<std::int64_t, UpstreamRoute>> out;
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (backend >= 0 && it->second.backend != backend) {
      ++it;
      continue;
    }
    by_backend_.erase(IndexKey{it->second.backend, rpc::id_key(it->second.backend_id), it->first});
    out.emplace_back(it->first, std::move(it->second));
    it = routes_.erase(it);
  }
  assert(by_backend_.size() == routes_.size());
  return out;
}

}  // namespace mcpbraid
