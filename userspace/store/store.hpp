// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The durable list: entries, the restriction state and the audit log. This
// is the seam between the list's rules and where the list is kept: the list
// layer talks to this interface only, and each store (SQLite on one host,
// sqlite_store.hpp) implements it. A change is acknowledged only once it is
// durable; a crash leaves the previous or the new state. Errors carry the
// store_* codes of common/error_code.hpp. Not thread-safe: the list layer
// serialises access.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "model/entry.hpp"

namespace xdpgate {

// Applied as one transaction, in this order: replace_all, deletes, upserts,
// state, audit.
struct StoreChange {
  bool replace_all = false;        // delete every entry first
  std::vector<Entry> upserts = {}; // insert, or replace the entry with its id
  std::vector<std::string> deletes = {}; // ids; unknown ids are ignored
  std::optional<RestrictionState> state = {};
  std::vector<AuditRecord> audit = {}; // sequence is ignored and assigned
};

// Where the list is kept and how current this daemon is with it (SPEC §7,
// status.store).
struct StoreStatus {
  std::string kind;                        // "sqlite" or "etcd"
  std::vector<std::string> endpoints = {}; // etcd's
  std::int64_t revision = 0; // etcd: of the last change applied here
  // True while the list this daemon enforces may be behind the store's (a
  // shared store it cannot reach: metric xdpgate_store_stale).
  bool stale = false;
  std::optional<EpochMs> last_applied_at = {}; // when this daemon applied it
  std::uint64_t invalid_values = 0; // values under the prefix ignored
};

// A daemon of a fleet sharing the store, as it registered itself.
struct FleetHost {
  std::string host_name;
  std::int64_t revision = 0; // of the last change it applied
  std::optional<EpochMs> applied_at;
};

struct Fleet {
  std::int64_t revision = 0;    // of the store's last change to the list
  std::vector<FleetHost> hosts; // the live ones, by name
};

struct AuditPage {
  std::vector<AuditRecord> records;
  std::int64_t total = 0; // records in the whole log
};

class Store {
public:
  // A change written but not yet durable. commit() makes it durable;
  // destroying a Txn that was not committed rolls the change back, so every
  // way out of the caller before commit() leaves the store as it was. One
  // Txn at a time.
  class Txn {
  public:
    virtual ~Txn() = default;
    virtual Status commit() = 0;
  };

  virtual ~Store() = default;

  // Calls `visit` with every entry once, in insertion order, and stops at
  // the first error it returns: a million entries go straight into the
  // list's index instead of first into a vector of them. (The listing order
  // is creation order; the index restores it when a clock stepped back.)
  virtual Status
  each_entry(const std::function<Status(Entry &&)> &visit) const = 0;
  // How many entries each_entry() would visit now.
  virtual Result<std::size_t> entry_count() const = 0;
  virtual Result<RestrictionState> state() const = 0;
  virtual Result<std::unique_ptr<Txn>> begin(const StoreChange &change) = 0;
  // Newest first. Negative offset or limit: error invalid_parameter.
  virtual Result<AuditPage> audit(std::int64_t offset,
                                  std::int64_t limit) const = 0;
  // Returns caches' memory to the heap after a large change (the next reads
  // fill them again as needed).
  virtual void release_memory() = 0;
  virtual StoreStatus status() const = 0;
  // The daemons sharing the store (SPEC §7); error not_found for a store
  // only this daemon uses. The one call that is thread-safe.
  virtual Result<Fleet> fleet() const = 0;

  // The most upserts and deletes one change may have and still be one
  // transaction of the store; the list layer writes a larger change as the
  // whole list it leaves (replace_all), which every store takes atomically.
  virtual std::size_t change_limit() const { return SIZE_MAX; }

  // A store several daemons share (SPEC §7) also hands over what the other
  // writers change, for the list layer to apply to its index and kernel;
  // a store only this daemon writes has nothing to hand over.
  // wait_for_changes() waits up to `wait` for take_changes() to have
  // something. take_changes() returns the changes, oldest first; when a
  // write was refused because another writer came first (store_conflict),
  // it first waits, bounded, for that writer's change to arrive. The list
  // layer calls enforced() with each change once its kernel enforces it,
  // before the change moves into its index.
  virtual bool wait_for_changes(std::chrono::milliseconds /*wait*/) {
    return false;
  }
  virtual Result<std::vector<StoreChange>> take_changes() {
    return std::vector<StoreChange>{};
  }
  virtual void enforced(const StoreChange & /*change*/) {}

  // begin() then commit(): for a change with nothing else to make durable
  // with it.
  Status apply(const StoreChange &change);

protected:
  // audit()'s bounds: invalid_parameter for a negative offset or limit.
  static Status check_audit_page(std::int64_t offset, std::int64_t limit);
};

} // namespace xdpgate
