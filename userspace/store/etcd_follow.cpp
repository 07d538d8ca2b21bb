// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Following etcd (etcd_store.hpp): the watch's thread turns each revision
// other writers make into a StoreChange and queues it; take_changes() hands
// the queue to the list layer. After a compaction or an outage the thread
// lists the prefix again and queues the whole list.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "model/clock.hpp"
#include "store/etcd_store.hpp"

namespace xdpgate {
namespace {

// How long a write refused for a conflict waits for the winner's change.
constexpr auto kCatchUpWait = std::chrono::seconds(5);
constexpr auto kMaxBackoff = std::chrono::seconds(5);

} // namespace

bool EtcdStore::wait_for_changes(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return !queued_.empty() || stopping_; });
  return !queued_.empty();
}

Result<std::vector<StoreChange>> EtcdStore::take_changes() {
  std::unique_lock lock(mutex_);
  if (behind_until_ > seen_revision_ &&
      !changed_.wait_for(lock, kCatchUpWait, [&] {
        return seen_revision_ >= behind_until_ || stopping_;
      }))
    return Error{ErrorCode::StoreUnavailable,
                 "etcd's watch has not brought revision " +
                     std::to_string(behind_until_) + " within " +
                     std::to_string(kCatchUpWait.count()) +
                     " s; check that etcd is reachable"};
  behind_until_ = 0;
  std::vector<StoreChange> changes;
  std::int64_t last = 0;
  for (Queued &queued : queued_) {
    last = queued.revision;
    if (!queued.relisted && own_revisions_.count(queued.revision))
      continue; // written here, applied already
    if (queued.moves_head)
      head_revision_ = std::max(head_revision_, queued.revision);
    if (queued.relisted)
      head_revision_ = queued.revision;
    if (queued.named) {
      head_ = *queued.named;
      chunked_ = std::move(queued.chunked);
    }
    if (queued.change.state)
      state_ = *queued.change.state;
    if (queued.audit_last)
      audit_last_ = *queued.audit_last;
    changes.push_back(std::move(queued.change));
  }
  queued_.clear();
  if (!changes.empty())
    applied_at_ = now_epoch_ms();
  own_revisions_.erase(own_revisions_.begin(),
                       own_revisions_.upper_bound(last));
  return changes;
}

void EtcdStore::enforced(const StoreChange &change) { keep_locally(change); }

void EtcdStore::queue(Queued queued) {
  {
    std::lock_guard lock(mutex_);
    queued_.push_back(std::move(queued));
  }
  changed_.notify_all();
}

bool EtcdStore::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool EtcdStore::back_off(std::chrono::milliseconds &wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return stopping_; });
  wait = std::min<std::chrono::milliseconds>(wait * 2, kMaxBackoff);
  return !stopping_;
}

void EtcdStore::set_stale(bool stale, const std::string &why) {
  if (stale_.exchange(stale) == stale)
    return;
  if (stale)
    spdlog::warn("the list may be behind the fleet's: {}; enforcing the last "
                 "list applied (etcd revision {}) and retrying",
                 why, applied_revision());
  else
    spdlog::info("following etcd again from revision {}", applied_revision());
}

void EtcdStore::follow(std::int64_t from) {
  auto backoff = std::chrono::milliseconds(100);
  while (!stopping()) {
    if (from == 0) {
      Result<Snapshot> snapshot = read_snapshot();
      if (!snapshot) {
        set_stale(true, snapshot.error().message);
        back_off(backoff);
        continue;
      }
      watched_generation_ = snapshot->head.generation;
      Queued whole;
      whole.revision = snapshot->head_revision;
      whole.change.replace_all = true;
      whole.change.upserts = std::move(snapshot->generation.entries);
      whole.change.state = snapshot->state;
      whole.relisted = true;
      whole.named = snapshot->head;
      whole.chunked = std::move(snapshot->generation.chunked);
      whole.audit_last = snapshot->audit_last;
      queue(std::move(whole));
      from = snapshot->revision + 1;
    }
    auto watch =
        client_->watch(layout_.list(), etcd::prefix_end(layout_.list()), from);
    if (!watch) {
      if (watch.error().code == ErrorCode::StoreCompacted) {
        spdlog::warn("{}; reading the whole list again", watch.error().message);
        from = 0;
        continue;
      }
      set_stale(true, watch.error().message);
      back_off(backoff);
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_)
        break;
      watch_ = std::move(*watch);
    }
    set_stale(false, "");
    backoff = std::chrono::milliseconds(100);
    for (;;) {
      keep_registered();
      auto message = watch_->next(std::chrono::seconds(1));
      if (!message) {
        if (message.error().code == ErrorCode::StoreCompacted) {
          spdlog::warn("{}; reading the whole list again",
                       message.error().message);
          from = 0;
        } else if (!stopping())
          set_stale(true, message.error().message);
        break;
      }
      if (!*message)
        continue;
      const std::vector<etcd::Event> &events = (*message)->events;
      bool relist = false;
      for (std::size_t i = 0; i < events.size() && !relist;) {
        const std::int64_t revision = events[i].kv.mod_revision;
        std::size_t j = i;
        while (j < events.size() && events[j].kv.mod_revision == revision)
          ++j;
        const std::vector<etcd::Event> group(events.begin() + i,
                                             events.begin() + j);
        i = j;
        Result<std::optional<Queued>> change = change_of(group, revision);
        if (!change) {
          relist = true; // the generation it names is compacted away
          break;
        }
        if (*change)
          queue(std::move(**change));
        from = revision + 1;
      }
      if (relist) {
        from = 0;
        break;
      }
      {
        std::lock_guard lock(mutex_);
        seen_revision_ = std::max(seen_revision_, (*message)->revision);
        from = std::max(from, (*message)->revision + 1);
      }
      changed_.notify_all();
    }
    {
      std::lock_guard lock(mutex_);
      watch_.reset();
    }
    if (from != 0 && !stopping())
      back_off(backoff);
  }
}

Result<std::optional<EtcdStore::Queued>>
EtcdStore::change_of(const std::vector<etcd::Event> &events,
                     std::int64_t revision) {
  using Kind = EtcdLayout::Key::Kind;
  Queued queued;
  queued.revision = revision;
  StoreChange &change = queued.change;
  bool touches_list = false;
  std::optional<Head> named;
  const auto ignore_at = [&](const std::string &key, const std::string &why) {
    ignore(key, why + " (revision " + std::to_string(revision) + ")");
  };
  // xdpgated rewrites the head with every change it makes: a revision that
  // does not was written by someone else (etcdctl, say), and is not
  // applied, so it can never allow more than xdpgated's own writes.
  const bool ours = std::any_of(events.begin(), events.end(), [&](auto &e) {
    return e.type == etcd::Event::Type::Put &&
           layout_.classify(e.kv.key).kind == Kind::Head &&
           parse_head(e.kv.value);
  });
  for (const etcd::Event &event : events) {
    const bool put = event.type == etcd::Event::Type::Put;
    const EtcdLayout::Key key = layout_.classify(event.kv.key);
    // A head written by hand moves it too: writers compare against its
    // revision, so it is handed over even with nothing to apply.
    queued.moves_head |= key.kind == Kind::Head;
    if (!ours &&
        (key.kind == Kind::State || key.kind == Kind::AuditLast ||
         (key.kind == Kind::Entry && key.generation == watched_generation_))) {
      ignore_at(event.kv.key, "written without the head, so not by xdpgated");
      continue;
    }
    switch (key.kind) {
    case Kind::Head: {
      if (!put) {
        ignore_at(event.kv.key,
                  "the head was deleted; the list stays as it was");
        break;
      }
      Result<Head> head = parse_head(event.kv.value);
      if (!head)
        ignore_at(event.kv.key, head.error().message);
      else if (head->generation != watched_generation_)
        named = *head;
      break;
    }
    case Kind::State: {
      if (!put) {
        ignore_at(event.kv.key, "the state was deleted; it stays as it was");
        break;
      }
      Result<RestrictionState> state = parse_state(event.kv.value);
      if (!state) {
        ignore_at(event.kv.key, state.error().message);
        break;
      }
      change.state = *state;
      touches_list = true;
      break;
    }
    case Kind::AuditLast: {
      Result<std::int64_t> last =
          put ? parse_audit_last(event.kv.value)
              : Error{ErrorCode::StoreCorrupt, "the audit's last sequence was "
                                               "deleted; it stays as it was"};
      if (last)
        queued.audit_last = *last;
      else
        ignore_at(event.kv.key, last.error().message);
      break;
    }
    case Kind::Entry: {
      if (key.generation != watched_generation_)
        break; // not the list (yet): a generation being written or deleted
      touches_list = true;
      const std::string id(key.name);
      Result<std::optional<Entry>> entry =
          put ? parse_changed(id, event.kv.value) : std::optional<Entry>();
      if (!entry)
        ignore_at(event.kv.key, entry.error().message);
      if (entry && *entry)
        change.upserts.push_back(std::move(**entry));
      else // deleted, or never more allowed than the valid entries
        change.deletes.push_back(id);
      break;
    }
    case Kind::Chunk: // not watched
    case Kind::Host:
    case Kind::Other:
      break;
    }
  }
  if (named) {
    watched_generation_ = named->generation;
    queued.named = *named;
    change.replace_all = true;
    change.deletes.clear();
    // A generation this daemon wrote is applied already (take_changes()
    // skips its revision): reading it back would only cost time.
    if (written_here(named->generation, revision))
      return std::optional<Queued>(std::move(queued));
    Result<Generation> generation = read_generation(*named, revision, revision);
    if (!generation)
      return generation.error();
    change.upserts = std::move(generation->entries);
    queued.chunked = std::move(generation->chunked);
    return std::optional<Queued>(std::move(queued));
  }
  if (!touches_list && !queued.moves_head)
    return std::optional<Queued>();
  return std::optional<Queued>(std::move(queued));
}

} // namespace xdpgate
