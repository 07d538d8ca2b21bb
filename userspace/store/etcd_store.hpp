// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list of a fleet, in etcd (SPEC §7; the layout: etcd_layout.hpp,
// docs/FLEET.md). Every daemon of the fleet opens one on the same prefix:
//   - open() reads the head, the state and the head's generation at one
//     revision, then a thread watches the prefix from the next revision and
//     queues what other writers change (take_changes());
//   - a write is one etcd transaction on condition that the head is where
//     this daemon last applied it; otherwise store_conflict, and
//     take_changes() brings the list up to date;
//   - a whole-list change writes a new generation in chunks, then names it
//     in the head; the watch reads another writer's generation once the
//     head names it;
//   - the last list applied is kept in a local SQLite store (state_dir),
//     which the daemon enforces when it starts while etcd is unreachable;
//     it also holds this host's audit log.
// Reads and writes are etcd_store.cpp, generations etcd_generation.cpp,
// following other writers etcd_follow.cpp, the fleet's host keys
// etcd_hosts.cpp.
// While the watch is broken the store is stale (status()); writes that cannot
// reach etcd fail with store_unavailable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "etcd/etcd_client.hpp"
#include "store/etcd_layout.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

namespace xdpgate {

struct EtcdStoreOptions {
  etcd::Options etcd;
  std::string prefix;              // ends with '/'
  std::filesystem::path state_dir; // the local copy
  std::string host_name;           // as the fleet lists this daemon
};

class EtcdStore final : public Store {
public:
  static Result<std::unique_ptr<EtcdStore>> open(EtcdStoreOptions options);
  ~EtcdStore() override; // stops the watch

  Result<std::size_t> entry_count() const override;
  // The list as open() read it (once: the entries move out).
  Status
  each_entry(const std::function<Status(Entry &&)> &visit) const override;
  Result<RestrictionState> state() const override;
  Result<std::unique_ptr<Txn>> begin(const StoreChange &change) override;
  Result<AuditPage> audit(std::int64_t offset,
                          std::int64_t limit) const override;
  void release_memory() override;
  StoreStatus status() const override;
  Result<Fleet> fleet() const override;
  std::size_t change_limit() const override;
  bool wait_for_changes(std::chrono::milliseconds wait) override;
  Result<std::vector<StoreChange>> take_changes() override;
  // Keeps the change in the local copy.
  void enforced(const StoreChange &change) override;

  // The etcd revision of the last change to the list this daemon applied.
  std::int64_t applied_revision() const;
  // Values under the prefix that are not xdpgate's, ignored so far
  // (metric xdpgate_store_invalid_values_total).
  std::uint64_t invalid_values() const { return invalid_values_; }

  class EtcdTxn; // etcd_store.cpp

private:
  // A generation as read: its entries, and which its chunks hold.
  struct Generation {
    std::vector<Entry> entries;
    ChunkedIds chunked;
  };
  struct Snapshot {
    std::int64_t revision = 0; // of the store when read
    std::int64_t head_revision = 0;
    Head head;
    RestrictionState state;
    std::int64_t audit_last = 0;
    Generation generation;
  };
  // A change of another writer, queued by the watch.
  struct Queued {
    std::int64_t revision = 0;
    StoreChange change;
    // The list as read again (after a compaction or an outage): handed
    // over even when this daemon wrote its revision.
    bool relisted = false;
    bool moves_head = false; // the change rewrote the head
    // When the change named another generation: the head, and which ids
    // its chunks hold.
    std::optional<Head> named = {};
    ChunkedIds chunked = {};
    std::optional<std::int64_t> audit_last = {}; // when the change moved it
  };

  EtcdStore(EtcdStoreOptions options, std::unique_ptr<etcd::Client> client,
            SqliteStore local);
  // The head, state and generation at one revision; a fresh prefix gets a
  // head and an empty generation first.
  Result<Snapshot> read_snapshot();
  // The audit's last sequence into `snapshot`.
  Status read_audit_last(Snapshot &snapshot);
  // The generation `head` names as of `revision`, without the values
  // written after the head (at `head_revision`): xdpgated never writes one.
  Result<Generation> read_generation(const Head &head, std::int64_t revision,
                                     std::int64_t head_revision);
  // Visits every key under `prefix` as of `revision`, `page` per request.
  Status each_key(const std::string &prefix, std::int64_t revision,
                  std::int64_t page,
                  const std::function<void(etcd::KeyValue &)> &visit) const;
  // Puts what next() hands out (until nullopt) over up to `writers`
  // connections at once.
  Status put_all(const std::function<std::optional<etcd::Put>()> &next,
                 std::size_t writers);
  // The watch's thread: queues changes until stopped; lists the prefix
  // again after a compaction or an outage.
  void follow(std::int64_t from_revision);
  // What one revision's events change; nullopt: neither the list nor the
  // head.
  Result<std::optional<Queued>>
  change_of(const std::vector<etcd::Event> &events, std::int64_t revision);
  // Logs and counts a value that is not xdpgated's.
  void ignore(const std::string &key, const std::string &why) const;

  // The audit of one change as it goes to etcd (etcd_audit.cpp): its
  // records in parts, and the index that lists them.
  struct AuditWrite {
    std::vector<etcd::Put> parts;
    AuditIndex index;       // none (records 0) for a change without records
    std::int64_t last = 0;  // the audit's last sequence after the change
    bool in_change = false; // the parts go in the change's transaction
  };
  AuditWrite plan_audit(const std::vector<AuditRecord> &records,
                        std::int64_t last) const;
  // Writes the parts before the change's transaction (too many or too
  // large for it).
  Status write_audit_first(const AuditWrite &write);
  // Deletes records written first whose change was not made.
  void delete_unlisted_audit(const AuditIndex &index);
  // Every index, newest first.
  Result<std::vector<AuditIndex>> read_audit_indexes() const;
  Result<AuditRecord> read_audit_record(const AuditIndex &index,
                                        std::size_t record) const;
  // Deletes what the retention does not keep, now and then: called after
  // each change this daemon makes, with the size of its records.
  void trim_audit(std::uint64_t written_bytes);
  void queue(Queued queued);
  // Waits `wait` (doubled for the next time, up to a bound) or until the
  // store stops; false once stopping.
  bool back_off(std::chrono::milliseconds &wait);
  bool stopping() const;
  // Keeps this daemon's key under hosts/ on its lease, with the revision
  // it applied: called by the watch's thread at least once a second.
  void keep_registered();
  // Writes `entries` as the chunks of a generation no head names yet;
  // returns how many.
  Result<std::size_t> write_generation(const std::string &generation,
                                       const std::vector<Entry> &entries);
  // Deletes generation `gone` unless the head names it (a commit whose
  // answer was lost may have named it after all).
  void delete_generation(const Head &gone);
  void set_stale(bool stale, const std::string &why);
  // This daemon is done writing `generation`: committed or not.
  void written(const std::string &generation);
  // Whether this daemon's own commit named `generation` in the head at
  // `revision`, so that its list needs no reading back: waits, bounded,
  // while that commit has not answered yet.
  bool written_here(const std::string &generation, std::int64_t revision);
  // Writes a change to the local copy (logging a failure: the copy is a
  // cache, etcd holds the list).
  void keep_locally(const StoreChange &change);

  EtcdStoreOptions options_;
  std::unique_ptr<etcd::Client> client_;
  EtcdLayout layout_;
  SqliteStore local_;
  mutable Snapshot loaded_; // until each_entry() hands it over

  // Only the watch's thread uses these (and open(), before it starts).
  std::string watched_generation_;
  std::int64_t lease_ = 0; // of the hosts/ key; 0: none
  std::int64_t published_revision_ = -1;
  std::chrono::steady_clock::time_point kept_alive_at_;

  mutable std::mutex mutex_; // guards what follows
  std::condition_variable changed_;
  std::deque<Queued> queued_;
  std::int64_t seen_revision_ = 0;       // the watch has queued up to here
  std::int64_t behind_until_ = 0;        // a conflict showed the head here
  std::int64_t head_revision_ = 0;       // of the last change applied here
  Head head_;                            // as applied here
  ChunkedIds chunked_;                   // of head_'s generation
  RestrictionState state_;               // as applied here
  std::optional<EpochMs> applied_at_;    // when this daemon last applied one
  std::set<std::int64_t> own_revisions_; // written here, not to re-apply
  std::string writing_generation_;       // being written here
  std::int64_t audit_last_ = 0;          // list/audit-last as applied here
  std::size_t changes_since_trim_ = 0;   // of the audit log, by this host
  std::unique_ptr<etcd::Client::Watch> watch_;
  bool stopping_ = false;

  std::atomic<bool> stale_{false};
  mutable std::atomic<std::uint64_t> invalid_values_{0};
  std::thread follower_;
};

} // namespace xdpgate
