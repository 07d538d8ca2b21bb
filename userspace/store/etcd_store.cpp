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

std::int64_t EtcdStore::applied_revision() const {
  std::lock_guard lock(mutex_);
  return head_revision_;
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

} // namespace xdpgate
