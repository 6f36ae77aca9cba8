#include "backends/list_sync.hpp"

#include "backends/gateway.hpp"
#include "core/json_fields.hpp"
#include "core/shape.hpp"
#include "core/task_table.hpp"
#include "core/trace.hpp"

namespace mcpbraid {

namespace {

unsigned bit(ListKind kind) {
  return 1u << static_cast<unsigned>(kind);
}

// Whose lists are merged: a backend that is restarting keeps its place.
// A removed one is `stopped`.
bool in_merge(const Backend& backend) {
  return backend.state() == BackendState::ready || backend.state() == BackendState::backoff;
}

bool has_capability(const Backend& backend, ListKind kind) {
  const json& caps = backend.capabilities();
  switch (kind) {
    case ListKind::tools:
      return caps.contains("tools");
    case ListKind::prompts:
      return caps.contains("prompts");
    default:
      return caps.contains("resources");
  }
}

}  // namespace

ListSync::ListSync(Gateway& gateway) : g_(gateway), per_backend_(gateway.backends().size()) {}

ListSync::Cache& ListSync::cache(const Backend& backend, ListKind kind) {
  return per_backend_[g_.index_of(backend)].lists[static_cast<std::size_t>(kind)];
}

const ListSync::Cache& ListSync::cache(const Backend& backend, ListKind kind) const {
  return per_backend_[g_.index_of(backend)].lists[static_cast<std::size_t>(kind)];
}

const std::optional<std::vector<json>>& ListSync::items(const Backend& backend,
                                                        ListKind kind) const {
  return cache(backend, kind).items;
}

bool ListSync::retry_safe(const Backend& backend, const std::string& tool) const {
  return per_backend_[g_.index_of(backend)].retry_safe.count(tool) > 0;
}

void ListSync::collect(ListKind kind, std::function<void()> done) {
  auto remaining = std::make_shared<std::size_t>(1);
  auto finish_one = [remaining, done] {
    if (--*remaining == 0) done();
  };
  for (auto& backend : g_.backends()) {
    if (backend->state() != BackendState::ready) continue;
    ++*remaining;
    fetch(*backend, kind, finish_one);
  }
  finish_one();
}

void ListSync::fetch(Backend& backend, ListKind kind, std::function<void()> done) {
  Cache& c = cache(backend, kind);
  bool stale = c.fresh_until && Clock::now() >= *c.fresh_until;
  if (c.items && !stale) return done();
  if (!has_capability(backend, kind)) {
    store(backend, kind, {});
    return done();
  }
  c.waiters.push_back(std::move(done));
  if (c.fetching) return;
  c.fetching = true;
  c.refreshing = stale && c.items.has_value();
  c.error.clear();
  c.fresh_until.reset();
  if (stale)
    trace::debug("backend.list_expired")
        .kv("server", backend.name())
        .kv("method", list_method(kind));
  fetch_page(backend, kind, {}, nullptr, 0, 0);
}

void ListSync::fetch_page(Backend& backend, ListKind kind, std::vector<json> items, json cursor,
                          int restarts, int pages) {
  json params = json::object();
  if (!cursor.is_null()) params["cursor"] = cursor;
  std::uint64_t generation = cache(backend, kind).generation;
  backend.request(
      list_method(kind), std::move(params),
      [this, &backend, kind, items = std::move(items), restarts, pages,
       generation](Reply&& reply) mutable {
        if (cache(backend, kind).generation != generation && restarts < kMaxListRestarts) {
          // list_changed arrived while we were paging: start over.
          return fetch_page(backend, kind, {}, nullptr, restarts + 1, 0);
        }
        Gateway::HandlingScope scope(g_,
                                     Gateway::Handling{nullptr, list_method(kind), backend.name()});
        shape::Problem problem;
        if (reply.ok()) problem = shape::list_page(list_key(kind), reply.value);
        if (!reply.ok() || problem) {
          std::string reason = problem                            ? "bad answer: " + *problem
                               : reply.kind == Reply::Kind::error ? reply.value.dump()
                                                                  : reply.reason;
          trace::warn("backend.list_failed")
              .kv("server", backend.name())
              .kv("method", list_method(kind))
              .kv("reason", reason);
          Cache& c = cache(backend, kind);
          c.error = std::move(reason);
          if (c.refreshing && c.items) {
            // A refresh after ttlMs failed: the list it had stays, stale, and
            // the next use tries again.
            c.fetching = false;
            c.refreshing = false;
            c.fresh_until = Clock::now();
            auto waiters = std::move(c.waiters);
            c.waiters.clear();
            for (auto& fn : waiters) fn();
            return;
          }
          return store(backend, kind, std::move(items));
        }
        auto page = reply.value.find(list_key(kind));
        if (page != reply.value.end()) {
          for (auto& item : *page) {
            if (auto bad = shape::list_item(list_key(kind), item)) {
              trace::warn("backend.bad_list_entry")
                  .kv("server", backend.name())
                  .kv("method", list_method(kind))
                  .kv("error", *bad)
                  .kv("entry",
                      item.dump(-1, ' ', false, json::error_handler_t::replace).substr(0, 200));
              continue;
            }
            items.push_back(std::move(item));
          }
        }
        if (backend.modern()) {
          // ttlMs (2026-07-28): how long the list may be kept. cacheScope
          // needs nothing here: one client, one authorization context.
          auto ttl = reply.value.find("ttlMs");
          if (ttl != reply.value.end() && ttl->is_number_unsigned()) {
            // At most a day, as clients cap it: no overflow of the clock.
            constexpr std::uint64_t kMaxTtlMs = 24ull * 3600 * 1000;
            auto ms = std::min(ttl->get<std::uint64_t>(), kMaxTtlMs);
            TimePoint until = Clock::now() + Milliseconds(static_cast<std::int64_t>(ms));
            auto& fresh = cache(backend, kind).fresh_until;
            if (!fresh || until < *fresh) fresh = until;
          }
        }
        auto next = reply.value.find("nextCursor");
        if (next != reply.value.end() && next->is_string() && !next->get<std::string>().empty() &&
            pages + 1 < kMaxPages)
          return fetch_page(backend, kind, std::move(items), *next, restarts, pages + 1);
        store(backend, kind, std::move(items));
      });
}

void ListSync::store(Backend& backend, ListKind kind, std::vector<json> items) {
  PerBackend& mine = per_backend_[g_.index_of(backend)];
  Cache& c = mine.lists[static_cast<std::size_t>(kind)];
  c.fetching = false;
  c.refreshing = false;
  // A fetch that was under way when a reload removed it stores nothing: its
  // names must not come back (a server of the same name may have them now).
  if (!backend.removed()) {
    ExposedList exposed = expose_list(kind, backend.config(), std::move(items), g_.catalog(),
                                      kind == ListKind::tools ? &mine.retry_safe : nullptr,
                                      tasks::tool_calls(backend.capabilities()));
    trace::debug("backend.list")
        .kv("server", backend.name())
        .kv("method", list_method(kind))
        .kv("items", static_cast<std::int64_t>(exposed.items.size()))
        .kv("hidden", static_cast<std::int64_t>(exposed.hidden));
    c.items = std::move(exposed.items);
    c.listed = std::move(exposed.listed);
    c.hidden = exposed.hidden;
    c.stamp = next_stamp_++;
    if (kind == ListKind::tools || kind == ListKind::prompts) warn_collisions(kind);
  }
  auto waiters = std::move(c.waiters);
  c.waiters.clear();
  for (auto& fn : waiters) fn();
}

void ListSync::warn_collisions(ListKind kind) {
  for (auto& backend : g_.backends()) {
    for (const Collision& c : g_.catalog().names(kind).collisions(backend->name())) {
      std::string key =
          std::string(list_key(kind)) + '\0' + c.exposed + '\0' + c.kept_by + '\0' + c.hidden_from;
      if (!warned_.insert(std::move(key)).second) continue;
      trace::warn("catalog.name_collision")
          .kv("kind", kind == ListKind::tools ? "tool" : "prompt")
          .kv("name", c.exposed)
          .kv("kept_by", c.kept_by)
          .kv("hidden_from", c.hidden_from)
          .kv("hidden_name", c.hidden_name);
    }
  }
}

bool ListSync::shown(const Backend& backend, ListKind kind, std::size_t i) const {
  const Cache& c = cache(backend, kind);
  if (!c.listed[i]) return false;
  if (kind != ListKind::tools && kind != ListKind::prompts) return true;
  return g_.catalog().names(kind).keeps(backend.name(), string_field((*c.items)[i], "name"));
}

std::vector<std::uint64_t> ListSync::tools_signature() const {
  std::vector<std::uint64_t> signature;
  signature.reserve(g_.backends().size());
  for (const auto& backend : g_.backends()) {
    const Cache& c = cache(*backend, ListKind::tools);
    signature.push_back(in_merge(*backend) && c.items ? c.stamp : 0);
  }
  return signature;
}

void ListSync::invalidate(Backend& backend, ListKind kind) {
  Cache& c = cache(backend, kind);
  c.items.reset();
  ++c.generation;
}

void ListSync::on_client_list(rpc::Message& message, ListKind kind) {
  json id = message.body["id"];
  auto params = message.body.find("params");
  if (params != message.body.end() && params->is_object()) {
    // We always answer with the whole list, so we never hand out cursors.
    if (auto cursor = params->find("cursor"); cursor != params->end() && !cursor->is_null())
      return g_.client().reply_error(id, rpc::kInvalidParams, "Invalid params: unknown cursor");
  }
  collect(kind, [this, id, kind] {
    client_listed_[static_cast<std::size_t>(kind)] = true;
    const std::string& list = rendered(kind);
    std::string id_text = id.dump(-1, ' ', false, json::error_handler_t::replace);
    std::string line;
    line.reserve(64 + id_text.size() + list.size());
    line += R"({"jsonrpc":"2.0","id":)";
    line += id_text;
    line += R"(,"result":{")";
    line += list_key(kind);
    line += "\":";
    line += list;
    line += "}}\n";
    g_.client().respond_line(id, std::move(line));
  });
}

const std::string& ListSync::rendered(ListKind kind) {
  std::vector<std::uint64_t> signature;
  signature.reserve(g_.backends().size());
  for (auto& backend : g_.backends()) {
    const Cache& c = cache(*backend, kind);
    signature.push_back(in_merge(*backend) && c.items ? c.stamp : 0);
  }
  MergedList& merged = merged_[static_cast<std::size_t>(kind)];
  if (merged.fresh(signature)) return merged.text();
  // The catalog (who keeps a name) only changes when some list is stored,
  // which changes the signature.
  std::vector<ListPart> parts;
  parts.reserve(g_.backends().size());
  for (auto& backend : g_.backends()) {
    const Cache& c = cache(*backend, kind);
    if (!in_merge(*backend) || !c.items) continue;
    ListPart& part = parts.emplace_back();
    part.stamp = c.stamp;
    part.items = &*c.items;
    if ((kind == ListKind::tools || kind == ListKind::prompts) &&
        g_.catalog().names(kind).lost(backend->name()) > 0) {
      part.shown.resize(c.items->size());
      for (std::size_t i = 0; i < c.items->size(); ++i) part.shown[i] = shown(*backend, kind, i);
    } else {
      part.shown = c.listed;  // it keeps every name it claims
    }
  }
  json extra = kind == ListKind::tools ? GatewayTools::definitions(g_.config()) : json::array();
  return merged.render(std::move(signature), parts, extra);
}

void ListSync::on_backend_list_changed(Backend& backend, const std::string& method) {
  std::vector<ListKind> kinds;
  if (method == "notifications/tools/list_changed")
    kinds = {ListKind::tools};
  else if (method == "notifications/prompts/list_changed")
    kinds = {ListKind::prompts};
  else
    kinds = {ListKind::resources, ListKind::resource_templates};
  for (ListKind kind : kinds) {
    invalidate(backend, kind);
    schedule_list_changed(kind);
  }
  trace::debug("backend.list_changed").kv("server", backend.name()).kv("method", method);
}

void ListSync::refresh_after_restart(Backend& backend) {
  for (ListKind kind : kAllListKinds) {
    Cache& c = cache(backend, kind);
    auto before = std::make_shared<std::optional<std::vector<json>>>(std::move(c.items));
    invalidate(backend, kind);
    fetch(backend, kind, [this, &backend, kind, before] {
      const auto& after = cache(backend, kind).items;
      bool changed;
      if (*before)
        changed = !after || **before != *after;
      else  // the client's view lacked this server's items, if it had a view
        changed = client_listed_[static_cast<std::size_t>(kind)] && after && !after->empty();
      if (changed) schedule_list_changed(kind);
    });
  }
}

void ListSync::drop(Backend& backend) {
  for (ListKind kind : kAllListKinds) invalidate(backend, kind);
  if (g_.session().settled()) announce_all();
}

void ListSync::announce_all() {
  schedule_list_changed(ListKind::tools);
  schedule_list_changed(ListKind::prompts);
  schedule_list_changed(ListKind::resources);
}

void ListSync::on_backend_added() {
  per_backend_.emplace_back();
}

void ListSync::reexpose(Backend& backend) {
  if (backend.state() == BackendState::ready) return refresh_after_restart(backend);
  for (ListKind kind : kAllListKinds) invalidate(backend, kind);
}

void ListSync::remove(Backend& backend) {
  for (ListKind kind : kAllListKinds) invalidate(backend, kind);
  g_.catalog().clear_server(backend.name());
}

void ListSync::invalidate_rendered() {
  for (auto& merged : merged_) merged.invalidate();
}

void ListSync::hold() {
  if (holds_++ > 0) return;
  for (ListKind kind : kAllListKinds) {
    std::size_t k = static_cast<std::size_t>(kind);
    before_hold_[k].reset();
    if (client_listed_[k]) before_hold_[k] = rendered(kind);
  }
}

void ListSync::release() {
  if (holds_ == 0 || --holds_ > 0) return;
  auto before =
      std::make_shared<std::array<std::optional<std::string>, kListKinds>>(std::move(before_hold_));
  for (auto& text : before_hold_) text.reset();
  for (ListKind kind : kAllListKinds) {
    if (!(*before)[static_cast<std::size_t>(kind)]) continue;
    collect(kind, [this, kind, before] {
      if (holds_ > 0) return;  // another reload began: it compares again
      if (rendered(kind) != *(*before)[static_cast<std::size_t>(kind)]) schedule_list_changed(kind);
    });
  }
}

void ListSync::schedule_list_changed(ListKind kind) {
  // Held by a reload: release() compares the lists instead.
  if (holds_ > 0) return;
  if (kind == ListKind::resource_templates) kind = ListKind::resources;
  list_changed_pending_ |= bit(kind);
  if (list_changed_timer_) return;
  list_changed_timer_ = std::make_unique<Timer>(g_.io(), kListChangedCoalesce);
  list_changed_timer_->async_wait([this](asio::error_code) {
    unsigned pending = list_changed_pending_;
    list_changed_pending_ = 0;
    list_changed_timer_.reset();
    bool legacy = g_.session().may_notify_list_changed();
    for (ListKind k : {ListKind::tools, ListKind::prompts, ListKind::resources}) {
      if (!(pending & bit(k))) continue;
      if (legacy) g_.client().send(rpc::make_notification(list_changed_method(k)));
      g_.subscriptions().on_list_changed(k);  // 2026-07-28 listens
    }
  });
}

void ListSync::cancel() {
  if (list_changed_timer_) list_changed_timer_->cancel();
}

}  // namespace mcpbraid
