// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/etcd_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

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
// How long the watch waits for this daemon's own commit to say whether the
// generation a head names is the one it wrote: beyond a request's bound.
constexpr auto kWrittenHereWait = std::chrono::seconds(10);

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
  EtcdTxn(EtcdStore &store, StoreChange change, Head head, ChunkedIds chunked,
          AuditWrite audit, etcd::Txn txn)
      : store_(store), change_(std::move(change)), head_(std::move(head)),
        chunked_(std::move(chunked)), audit_(std::move(audit)),
        txn_(std::move(txn)) {}

  ~EtcdTxn() override {
    if (!committed_ && audit_.index.records && !audit_.in_change)
      store_.delete_unlisted_audit(audit_.index); // written, never listed
    if (!change_.replace_all)
      return;
    store_.written(head_.generation);
    if (!committed_)
      store_.delete_generation(head_); // written, never named
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
    std::optional<Head> replaced;
    {
      std::lock_guard lock(store_.mutex_);
      store_.own_revisions_.insert(done->revision);
      store_.head_revision_ = done->revision;
      store_.applied_at_ = now_epoch_ms();
      if (change_.state)
        store_.state_ = *change_.state;
      store_.audit_last_ = audit_.last;
      if (change_.replace_all) {
        replaced = store_.head_;
        store_.head_ = head_;
        store_.chunked_ = std::move(chunked_);
      }
    }
    store_.changed_.notify_all(); // a watch waiting in written_here()
    store_.keep_locally(change_);
    if (replaced)
      store_.delete_generation(*replaced);
    store_.trim_audit(audit_.index.bytes);
    return {};
  }

private:
  EtcdStore &store_;
  StoreChange change_;
  Head head_;          // the head after the change
  ChunkedIds chunked_; // a whole-list change: its generation's
  AuditWrite audit_;   // its parts written already
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
    store->head_ = store->loaded_.head;
    store->chunked_ = std::move(store->loaded_.generation.chunked);
    store->state_ = store->loaded_.state;
    store->audit_last_ = store->loaded_.audit_last;
    store->applied_at_ = now_epoch_ms();
    store->watched_generation_ = store->head_.generation;
    StoreChange whole{
        true, store->loaded_.generation.entries, {}, store->loaded_.state};
    store->keep_locally(whole);
  } else if (snapshot.error().code == ErrorCode::StoreUnavailable) {
    // Enforce the last list applied here until etcd is back.
    spdlog::warn("{}; enforcing the last list this host applied, kept in {}, "
                 "until etcd answers",
                 snapshot.error().message, store->options_.state_dir.string());
    store->stale_ = true;
    Status read = store->local_.each_entry([&](Entry &&entry) {
      store->loaded_.generation.entries.push_back(std::move(entry));
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
      Result<etcd::TxnResult> made =
          client_->txn({{Compare{layout_.head(), Compare::Target::Create,
                                 Compare::Result::Equal, 0}},
                        {Put{layout_.head(), head_value({new_token()})},
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
    if (Status read = read_audit_last(snapshot); !read)
      return read.error();
    Result<Generation> generation = read_generation(
        snapshot.head, snapshot.revision, snapshot.head_revision);
    if (!generation)
      return generation.error();
    snapshot.generation = std::move(*generation);
    return snapshot;
  }
  return Error{ErrorCode::StoreFailed,
               "etcd's head key " + layout_.head() +
                   " keeps changing while this daemon reads it"};
}

void EtcdStore::ignore(const std::string &key, const std::string &why) const {
  ++invalid_values_;
  spdlog::error("ignoring etcd key {}: {}", key, why);
}

Status EtcdStore::read_audit_last(Snapshot &snapshot) {
  Result<etcd::RangeResult> last =
      client_->range({layout_.audit_last(), "", snapshot.revision});
  if (!last)
    return last.error();
  if (!last->kvs.empty()) {
    Result<std::int64_t> read = parse_audit_last(last->kvs[0].value);
    if (read)
      snapshot.audit_last = *read;
    else
      ignore(layout_.audit_last(), read.error().message);
  }
  // Never a sequence an index holds already, whatever the counter says.
  Result<std::vector<AuditIndex>> indexes = read_audit_indexes();
  if (!indexes)
    return indexes.error();
  if (!indexes->empty())
    snapshot.audit_last =
        std::max(snapshot.audit_last,
                 indexes->front().first + indexes->front().records - 1);
  return {};
}

Result<std::size_t> EtcdStore::entry_count() const {
  return loaded_.generation.entries.size();
}

Status
EtcdStore::each_entry(const std::function<Status(Entry &&)> &visit) const {
  std::vector<Entry> entries = std::move(loaded_.generation.entries);
  loaded_.generation.entries = {};
  for (Entry &entry : entries)
    if (Status s = visit(std::move(entry)); !s)
      return s;
  return {};
}

Result<RestrictionState> EtcdStore::state() const { return loaded_.state; }

Result<std::unique_ptr<Store::Txn>>
EtcdStore::begin(const StoreChange &change) {
  std::int64_t expected = 0;
  Head head;
  RestrictionState state;
  std::int64_t audit_last = 0;
  // A deleted entry the chunks hold needs a tombstone.
  std::vector<bool> tombstone;
  {
    std::lock_guard lock(mutex_);
    expected = head_revision_;
    head = head_;
    state = state_;
    audit_last = audit_last_;
    for (const std::string &id : change.deletes)
      tombstone.push_back(chunked_.holds(id));
  }
  if (head.generation.empty())
    return Error{ErrorCode::StoreUnavailable,
                 "this daemon started while etcd was unreachable and has not "
                 "read the fleet's list yet; writes wait until it has (check "
                 "that etcd runs and [etcd] endpoints reach it)"};
  etcd::Txn txn;
  txn.compare = {head_unchanged(layout_, expected)};
  txn.failure = {etcd::Range{layout_.head()}};
  const std::string generation = head.generation;
  ChunkedIds chunked;
  if (change.replace_all) {
    // The new generation goes in first, under keys no head names yet.
    head.generation = new_token();
    {
      std::lock_guard lock(mutex_);
      writing_generation_ = head.generation;
    }
    Result<std::size_t> chunks =
        write_generation(head.generation, change.upserts);
    if (!chunks) {
      written(head.generation);
      delete_generation(head);
      return chunks.error();
    }
    head.chunks = *chunks;
    std::vector<std::uint64_t> ids;
    ids.reserve(change.upserts.size());
    for (const Entry &entry : change.upserts)
      ids.push_back(ChunkedIds::hash(entry.id));
    chunked = ChunkedIds(std::move(ids));
  } else {
    if (change.upserts.size() + change.deletes.size() > kChangeLimit)
      return Error{
          ErrorCode::Internal,
          "a change of " +
              std::to_string(change.upserts.size() + change.deletes.size()) +
              " entries is over the etcd store's limit of " +
              std::to_string(kChangeLimit) +
              " (the list layer writes such a change whole)"};
    for (std::size_t i = 0; i < change.deletes.size(); ++i) {
      const std::string &id = change.deletes[i];
      const std::string key = layout_.entry(generation, id);
      if (tombstone[i])
        txn.success.push_back(Put{key, tombstone_value(id)});
      else
        txn.success.push_back(DeleteRange{key});
    }
    for (const Entry &entry : change.upserts)
      txn.success.push_back(
          Put{layout_.entry(generation, entry.id), entry_value(entry)});
  }
  // The state is written with every change, so that one written by hand
  // does not outlive the next change.
  txn.success.push_back(Put{layout_.head(), head_value(head)});
  txn.success.push_back(
      Put{layout_.state(), state_value(change.state.value_or(state))});
  AuditWrite audit = plan_audit(change.audit, audit_last);
  if (audit.index.records) {
    // Records go in the change's transaction when they fit, else first.
    audit.in_change =
        !change.replace_all &&
        txn.success.size() + 2 + audit.parts.size() <= kTxnOperations &&
        audit.index.bytes <= kChunkBytes;
    if (audit.in_change) {
      txn.success.insert(txn.success.end(), audit.parts.begin(),
                         audit.parts.end());
    } else if (Status s = write_audit_first(audit); !s) {
      delete_unlisted_audit(audit.index);
      if (change.replace_all) {
        written(head.generation);
        delete_generation(head);
      }
      return s.error();
    }
    audit.parts = {};
    txn.success.push_back(Put{layout_.audit_index(audit.index.first),
                              audit_index_value(audit.index)});
    txn.success.push_back(
        Put{layout_.audit_last(), audit_last_value(audit.last)});
  }
  return std::unique_ptr<Txn>(new EtcdTxn(*this, change, std::move(head),
                                          std::move(chunked), std::move(audit),
                                          std::move(txn)));
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

void EtcdStore::written(const std::string &generation) {
  {
    std::lock_guard lock(mutex_);
    if (writing_generation_ == generation)
      writing_generation_.clear();
  }
  changed_.notify_all();
}

bool EtcdStore::written_here(const std::string &generation,
                             std::int64_t revision) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, kWrittenHereWait, [&] {
    return own_revisions_.count(revision) ||
           writing_generation_ != generation || stopping_;
  });
  return own_revisions_.count(revision) > 0;
}

void EtcdStore::keep_locally(const StoreChange &change) {
  const auto start = std::chrono::steady_clock::now();
  Status s = local_.apply(change);
  if (s && change.replace_all)
    spdlog::info("kept the list of {} entries in {} in {:.1f} s",
                 change.upserts.size(), options_.state_dir.string(),
                 seconds_since(start));
  if (!s)
    spdlog::error("could not keep the list in {} (the copy a start without "
                  "etcd enforces): {}",
                  options_.state_dir.string(), s.error().message);
}

} // namespace xdpgate
