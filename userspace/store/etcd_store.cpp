// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/etcd_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <unordered_set>

#include "model/clock.hpp"

namespace xdpgate {
namespace {

using etcd::Compare;
using etcd::DeleteRange;
using etcd::Put;

// etcd refuses a transaction of more than 128 operations (its default
// --max-txn-ops); a change leaves room for the head and the state.
constexpr std::size_t kTxnOperations = 128;
constexpr std::size_t kChangeLimit = kTxnOperations - 8;
// Connections that write a new generation's chunks at once.
constexpr std::size_t kGenerationWriters = 16;
// Keys read per request when a generation is loaded.
constexpr std::int64_t kPage = 10000;
// How long a write refused for a conflict waits for the winner's change.
constexpr auto kCatchUpWait = std::chrono::seconds(5);
constexpr auto kMaxBackoff = std::chrono::seconds(5);
// A host's key outlives the daemon by at most this (its lease's TTL); the
// daemon renews the lease every kRenewEvery.
constexpr auto kHostTtl = std::chrono::seconds(10);
constexpr auto kRenewEvery = std::chrono::seconds(3);

std::string new_generation() {
  std::random_device random;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i)
    id += kHex[random() % 16];
  return id;
}

Compare head_unchanged(const EtcdLayout &layout, std::int64_t revision) {
  return Compare{layout.head(), Compare::Target::Mod, Compare::Result::Equal,
                 revision};
}

} // namespace

// A change on its way: a whole-list change's generation is written by
// begin(); commit() names it in the head, or writes a small change, in one
// transaction on condition that the head has not moved.
class EtcdStore::EtcdTxn final : public Store::Txn {
public:
  EtcdTxn(EtcdStore &store, StoreChange change, std::string generation,
          etcd::Txn txn)
      : store_(store), change_(std::move(change)),
        generation_(std::move(generation)), txn_(std::move(txn)) {}

  ~EtcdTxn() override {
    if (!committed_ && change_.replace_all)
      store_.delete_generation(generation_); // written, never named
  }

  Status commit() override {
    Result<etcd::TxnResult> done = store_.client_->txn(txn_);
    if (!done)
      return done.error();
    if (!done->succeeded) {
      std::int64_t head = 0;
      if (!done->ranges.empty() && !done->ranges[0].kvs.empty())
        head = done->ranges[0].kvs[0].mod_revision;
      std::lock_guard lock(store_.mutex_);
      store_.behind_until_ = std::max(store_.behind_until_, head);
      return Error{ErrorCode::StoreConflict,
                   "another host changed the list at the same moment (etcd "
                   "revision " +
                       std::to_string(head) +
                       "); this host is catching up: try again"};
    }
    committed_ = true;
    std::string replaced_generation;
    {
      std::lock_guard lock(store_.mutex_);
      store_.own_revisions_.insert(done->revision);
      store_.head_revision_ = done->revision;
      store_.applied_at_ = now_epoch_ms();
      if (change_.state)
        store_.state_ = *change_.state;
      if (change_.replace_all) {
        replaced_generation = store_.generation_;
        store_.generation_ = generation_;
      }
    }
    store_.keep_locally(change_);
    if (!replaced_generation.empty())
      store_.delete_generation(replaced_generation);
    return {};
  }

private:
  EtcdStore &store_;
  StoreChange change_;
  std::string generation_;
  etcd::Txn txn_;
  bool committed_ = false;
};

EtcdStore::EtcdStore(EtcdStoreOptions options,
                     std::unique_ptr<etcd::Client> client, SqliteStore local)
    : options_(std::move(options)), client_(std::move(client)),
      layout_(options_.prefix), local_(std::move(local)) {}

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdStoreOptions options) {
  if (options.prefix.empty() || options.prefix.back() != '/')
    return Error{ErrorCode::InvalidConfig,
                 "[etcd] prefix must end with '/', such as \"/xdpgate/prod/\"",
                 "etcd.prefix"};
  auto client = etcd::Client::open(options.etcd);
  if (!client)
    return client.error();
  auto local = SqliteStore::open(options.state_dir);
  if (!local)
    return local.error();
  std::unique_ptr<EtcdStore> store(
      new EtcdStore(std::move(options), std::move(*client), std::move(*local)));
  Result<Snapshot> snapshot = store->read_snapshot();
  std::int64_t follow_from = 0; // 0: list again first
  if (snapshot) {
    store->loaded_ = std::move(*snapshot);
    follow_from = store->loaded_.revision + 1;
    store->head_revision_ = store->loaded_.head_revision;
    store->generation_ = store->loaded_.head.generation;
    store->state_ = store->loaded_.state;
    store->applied_at_ = now_epoch_ms();
    store->watched_generation_ = store->generation_;
    StoreChange whole{true, store->loaded_.entries, {}, store->loaded_.state};
    store->keep_locally(whole);
  } else if (snapshot.error().code == ErrorCode::StoreUnavailable) {
    // Enforce the last list applied here until etcd is back.
    spdlog::warn("{}; enforcing the last list this host applied, kept in {}, "
                 "until etcd answers",
                 snapshot.error().message, store->options_.state_dir.string());
    store->stale_ = true;
    Status read = store->local_.each_entry([&](Entry &&entry) {
      store->loaded_.entries.push_back(std::move(entry));
      return Status();
    });
    if (!read)
      return read.error();
    Result<RestrictionState> state = store->local_.state();
    if (!state)
      return state.error();
    store->loaded_.state = *state;
  } else {
    return snapshot.error();
  }
  store->follower_ =
      std::thread([s = store.get(), follow_from] { s->follow(follow_from); });
  return store;
}

EtcdStore::~EtcdStore() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (watch_)
      watch_->stop();
  }
  changed_.notify_all();
  if (follower_.joinable())
    follower_.join();
  // Gone from the fleet at once, not when the lease runs out.
  if (lease_)
    (void)client_->lease_revoke(lease_);
}

Result<EtcdStore::Snapshot> EtcdStore::read_snapshot() {
  for (int attempt = 0; attempt < 3; ++attempt) {
    Result<etcd::RangeResult> head = client_->range({layout_.head()});
    if (!head)
      return head.error();
    if (head->kvs.empty()) {
      // A fresh prefix: the first daemon names an empty generation, and
      // a second at the same moment finds the first's.
      const std::string generation = new_generation();
      Result<etcd::TxnResult> made =
          client_->txn({{Compare{layout_.head(), Compare::Target::Create,
                                 Compare::Result::Equal, 0}},
                        {Put{layout_.head(), head_value({generation})},
                         Put{layout_.state(), state_value({})}}});
      if (!made)
        return made.error();
      continue;
    }
    Snapshot snapshot;
    snapshot.revision = head->revision;
    snapshot.head_revision = head->kvs[0].mod_revision;
    Result<Head> parsed = parse_head(head->kvs[0].value);
    if (!parsed)
      return Error{ErrorCode::StoreCorrupt,
                   "etcd key " + layout_.head() +
                       " is not xdpgate's: " + parsed.error().message +
                       "; restore it or choose another [etcd] prefix"};
    snapshot.head = *parsed;
    Result<etcd::RangeResult> state =
        client_->range({layout_.state(), "", snapshot.revision});
    if (!state)
      return state.error();
    if (!state->kvs.empty()) {
      Result<RestrictionState> read = parse_state(state->kvs[0].value);
      if (read)
        snapshot.state = *read;
      else
        spdlog::error("ignoring etcd key {}: {}", layout_.state(),
                      read.error().message);
    }
    Result<std::vector<Entry>> entries = read_generation(
        snapshot.head.generation, snapshot.revision, snapshot.head_revision);
    if (!entries)
      return entries.error();
    snapshot.entries = std::move(*entries);
    return snapshot;
  }
  return Error{ErrorCode::StoreFailed,
               "etcd's head key " + layout_.head() +
                   " keeps changing while this daemon reads it"};
}

Result<std::vector<Entry>>
EtcdStore::read_generation(const std::string &generation, std::int64_t revision,
                           std::int64_t head_revision) {
  std::vector<Entry> entries;
  const std::string first = layout_.generation(generation);
  const std::string end = etcd::prefix_end(first);
  std::string from = first;
  std::unordered_set<IpPrefix> ranges;
  for (;;) {
    Result<etcd::RangeResult> page =
        client_->range({from, end, revision, kPage});
    if (!page)
      return page.error();
    for (const etcd::KeyValue &kv : page->kvs) {
      if (kv.mod_revision > head_revision) {
        ++invalid_values_;
        spdlog::error("ignoring etcd key {}: written after the head, so not "
                      "by xdpgated",
                      kv.key);
        continue;
      }
      const std::string id = kv.key.substr(first.size());
      Result<Entry> entry = parse_entry(id, kv.value);
      if (!entry) {
        spdlog::error("ignoring etcd key {}: {}", kv.key,
                      entry.error().message);
        continue;
      }
      if (!ranges.insert(entry->range).second) {
        spdlog::error("ignoring etcd key {}: another entry lists {}", kv.key,
                      entry->range.to_string());
        continue;
      }
      entries.push_back(std::move(*entry));
    }
    if (!page->more || page->kvs.empty())
      break;
    from = page->kvs.back().key + '\0';
  }
  // The list's order is creation order (the index sorts by it).
  return entries;
}

Result<std::size_t> EtcdStore::entry_count() const {
  return loaded_.entries.size();
}

Status
EtcdStore::each_entry(const std::function<Status(Entry &&)> &visit) const {
  std::vector<Entry> entries = std::move(loaded_.entries);
  loaded_.entries = {};
  for (Entry &entry : entries)
    if (Status s = visit(std::move(entry)); !s)
      return s;
  return {};
}

Result<RestrictionState> EtcdStore::state() const { return loaded_.state; }

Result<std::unique_ptr<Store::Txn>>
EtcdStore::begin(const StoreChange &change) {
  std::int64_t expected = 0;
  std::string generation;
  RestrictionState state;
  {
    std::lock_guard lock(mutex_);
    expected = head_revision_;
    generation = generation_;
    state = state_;
  }
  if (generation.empty())
    return Error{ErrorCode::StoreUnavailable,
                 "this daemon started while etcd was unreachable and has not "
                 "read the fleet's list yet; writes wait until it has (check "
                 "that etcd runs and [etcd] endpoints reach it)"};
  etcd::Txn txn;
  txn.compare = {head_unchanged(layout_, expected)};
  txn.failure = {etcd::Range{layout_.head()}};
  std::string target = generation;
  if (change.replace_all) {
    // The new generation goes in first, under keys no head names yet.
    target = new_generation();
    if (Status s = write_generation(target, change.upserts); !s) {
      delete_generation(target);
      return s.error();
    }
  } else {
    if (change.upserts.size() + change.deletes.size() > kChangeLimit)
      return Error{
          ErrorCode::Internal,
          "a change of " +
              std::to_string(change.upserts.size() + change.deletes.size()) +
              " entries is over the etcd store's limit of " +
              std::to_string(kChangeLimit) +
              " (the list layer writes such a change whole)"};
    for (const std::string &id : change.deletes)
      txn.success.push_back(DeleteRange{layout_.entry(generation, id)});
    for (const Entry &entry : change.upserts)
      txn.success.push_back(
          Put{layout_.entry(generation, entry.id), entry_value(entry)});
  }
  // The state is written with every change, so that one written by hand
  // does not outlive the next change.
  txn.success.push_back(Put{layout_.head(), head_value({target})});
  txn.success.push_back(
      Put{layout_.state(), state_value(change.state.value_or(state))});
  return std::unique_ptr<Txn>(
      new EtcdTxn(*this, change, target, std::move(txn)));
}

Result<AuditPage> EtcdStore::audit(std::int64_t offset,
                                   std::int64_t limit) const {
  return local_.audit(offset, limit);
}

void EtcdStore::release_memory() { local_.release_memory(); }

std::size_t EtcdStore::change_limit() const { return kChangeLimit; }

StoreStatus EtcdStore::status() const {
  std::lock_guard lock(mutex_);
  return {"etcd",      options_.etcd.endpoints, head_revision_, stale_,
          applied_at_, invalid_values_};
}

Result<Fleet> EtcdStore::fleet() const {
  Result<etcd::RangeResult> head = client_->range({layout_.head()});
  if (!head)
    return head.error();
  Fleet fleet;
  if (!head->kvs.empty())
    fleet.revision = head->kvs[0].mod_revision;
  Result<etcd::RangeResult> hosts = client_->range(
      {layout_.hosts(), etcd::prefix_end(layout_.hosts()), head->revision});
  if (!hosts)
    return hosts.error();
  for (const etcd::KeyValue &kv : hosts->kvs) {
    const std::string name = kv.key.substr(layout_.hosts().size());
    Result<FleetHost> host = parse_host(name, kv.value);
    if (host)
      fleet.hosts.push_back(std::move(*host));
    else
      spdlog::error("ignoring etcd key {}: {}", kv.key, host.error().message);
  }
  return fleet;
}

void EtcdStore::keep_registered() {
  std::int64_t revision = 0;
  std::optional<EpochMs> at;
  {
    std::lock_guard lock(mutex_);
    revision = head_revision_;
    at = applied_at_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (lease_ && now - kept_alive_at_ >= kRenewEvery) {
    Result<std::int64_t> ttl = client_->lease_keep_alive(lease_);
    if (!ttl)
      return; // etcd is away: the watch's errors say so
    kept_alive_at_ = now;
    if (*ttl == 0)
      lease_ = 0; // expired while etcd or this daemon was away
  }
  if (!lease_) {
    Result<std::int64_t> granted = client_->lease_grant(kHostTtl);
    if (!granted)
      return;
    lease_ = *granted;
    kept_alive_at_ = now;
    published_revision_ = -1;
  }
  if (revision == published_revision_)
    return;
  Result<etcd::TxnResult> put =
      client_->txn({{},
                    {Put{layout_.host(options_.host_name),
                         host_value(revision, at), lease_}}});
  if (put)
    published_revision_ = revision;
}

std::int64_t EtcdStore::applied_revision() const {
  std::lock_guard lock(mutex_);
  return head_revision_;
}

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
    if (!queued.generation.empty())
      generation_ = queued.generation;
    if (queued.change.state)
      state_ = *queued.change.state;
    changes.push_back(std::move(queued.change));
  }
  queued_.clear();
  if (!changes.empty())
    applied_at_ = now_epoch_ms();
  own_revisions_.erase(own_revisions_.begin(),
                       own_revisions_.upper_bound(last));
  lock.unlock();
  for (const StoreChange &change : changes)
    keep_locally(change);
  return changes;
}

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

void EtcdStore::keep_locally(const StoreChange &change) {
  if (Status s = local_.apply(change); !s)
    spdlog::error("could not keep the list in {} (the copy a start without "
                  "etcd enforces): {}",
                  options_.state_dir.string(), s.error().message);
}

Status EtcdStore::write_generation(const std::string &generation,
                                   const std::vector<Entry> &entries) {
  // etcd makes a transaction durable with a write to its log; transactions
  // that arrive together share one. So the chunks go over several
  // connections at once: one at a time, a million entries took minutes.
  const std::size_t chunks =
      (entries.size() + kTxnOperations - 1) / kTxnOperations;
  const std::size_t writers = std::min(chunks, kGenerationWriters);
  std::atomic<std::size_t> next{0};
  std::mutex failed_mutex;
  std::optional<Error> failed;
  const auto write = [&](etcd::Client &client) {
    for (std::size_t c; (c = next++) < chunks;) {
      etcd::Txn chunk;
      const std::size_t end =
          std::min(entries.size(), (c + 1) * kTxnOperations);
      for (std::size_t i = c * kTxnOperations; i < end; ++i)
        chunk.success.push_back(Put{layout_.entry(generation, entries[i].id),
                                    entry_value(entries[i])});
      if (Result<etcd::TxnResult> done = client.txn(chunk); !done) {
        std::lock_guard lock(failed_mutex);
        failed = done.error();
        next = chunks; // the others stop too
      }
    }
  };
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<etcd::Client>> clients;
  for (std::size_t w = 1; w < writers; ++w) {
    auto client = etcd::Client::open(options_.etcd);
    if (!client)
      return client.error();
    clients.push_back(std::move(*client));
  }
  for (auto &client : clients)
    threads.emplace_back(write, std::ref(*client));
  write(*client_); // this thread is a writer too
  for (std::thread &thread : threads)
    thread.join();
  return failed ? Status(*failed) : Status();
}

void EtcdStore::delete_generation(const std::string &generation) {
  const std::string first = layout_.generation(generation);
  const std::string end = etcd::prefix_end(first);
  for (;;) {
    Result<etcd::RangeResult> page =
        client_->range({first, end, 0, 1000, true});
    if (!page || page->kvs.empty()) {
      if (!page)
        spdlog::warn("generation {} stays in etcd: {}", generation,
                     page.error().message);
      return;
    }
    Result<etcd::TxnResult> deleted =
        client_->txn({{}, {DeleteRange{first, page->kvs.back().key + '\0'}}});
    if (!deleted) {
      spdlog::warn("generation {} stays in etcd: {}", generation,
                   deleted.error().message);
      return;
    }
  }
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
      whole.change.upserts = std::move(snapshot->entries);
      whole.change.state = snapshot->state;
      whole.relisted = true;
      whole.generation = snapshot->head.generation;
      queue(std::move(whole));
      from = snapshot->revision + 1;
    }
    auto watch = client_->watch(layout_.prefix(),
                                etcd::prefix_end(layout_.prefix()), from);
    if (!watch) {
      if (watch.error().code == ErrorCode::StoreCompacted) {
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
        if (message.error().code == ErrorCode::StoreCompacted)
          from = 0;
        else if (!stopping())
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
        bool moves_head = false;
        for (const etcd::Event &event : group)
          moves_head |= layout_.classify(event.kv.key).kind ==
                        EtcdLayout::Key::Kind::Head;
        const std::string before = watched_generation_;
        Result<std::optional<StoreChange>> change = change_of(group, revision);
        if (!change) {
          relist = true; // the generation it names is compacted away
          break;
        }
        // A head written by hand moves it too: writers compare against
        // its revision, so it is handed over even with nothing to apply.
        if (*change || moves_head)
          queue({revision, *change ? std::move(**change) : StoreChange{}, false,
                 moves_head,
                 watched_generation_ != before ? watched_generation_ : ""});
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

Result<std::optional<StoreChange>>
EtcdStore::change_of(const std::vector<etcd::Event> &events,
                     std::int64_t revision) {
  using Kind = EtcdLayout::Key::Kind;
  StoreChange change;
  bool touches_list = false;
  std::optional<Head> named;
  const auto ignore = [&](const std::string &key, const std::string &why) {
    ++invalid_values_;
    spdlog::error("ignoring etcd key {} (revision {}): {}", key, revision, why);
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
    if (!ours &&
        (key.kind == Kind::State ||
         (key.kind == Kind::Entry && key.generation == watched_generation_))) {
      ignore(event.kv.key, "written without the head, so not by xdpgated");
      continue;
    }
    switch (key.kind) {
    case Kind::Head: {
      if (!put) {
        ignore(event.kv.key, "the head was deleted; the list stays as it was");
        break;
      }
      Result<Head> head = parse_head(event.kv.value);
      if (!head)
        ignore(event.kv.key, head.error().message);
      else if (head->generation != watched_generation_)
        named = *head;
      break;
    }
    case Kind::State: {
      if (!put) {
        ignore(event.kv.key, "the state was deleted; it stays as it was");
        break;
      }
      Result<RestrictionState> state = parse_state(event.kv.value);
      if (!state) {
        ignore(event.kv.key, state.error().message);
        break;
      }
      change.state = *state;
      touches_list = true;
      break;
    }
    case Kind::Entry: {
      if (key.generation != watched_generation_)
        break; // not the list (yet): a generation being written or deleted
      touches_list = true;
      const std::string id(key.name);
      if (!put) {
        change.deletes.push_back(id);
        break;
      }
      Result<Entry> entry = parse_entry(id, event.kv.value);
      if (!entry) {
        // Never more allowed than the valid entries: the id is gone.
        ignore(event.kv.key, entry.error().message);
        change.deletes.push_back(id);
        break;
      }
      change.upserts.push_back(std::move(*entry));
      break;
    }
    case Kind::Host:
    case Kind::Other:
      break;
    }
  }
  if (named) {
    Result<std::vector<Entry>> entries =
        read_generation(named->generation, revision, revision);
    if (!entries)
      return entries.error();
    watched_generation_ = named->generation;
    change.replace_all = true;
    change.deletes.clear();
    change.upserts = std::move(*entries);
    return std::optional<StoreChange>(std::move(change));
  }
  if (!touches_list)
    return std::optional<StoreChange>();
  return std::optional<StoreChange>(std::move(change));
}

} // namespace xdpgate
