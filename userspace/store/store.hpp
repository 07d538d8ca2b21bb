// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The durable list: entries, the restriction state and the audit log in
// SQLite (<state_dir>/xdpgate.db, WAL, synchronous=FULL). A change is one
// transaction and is acknowledged only once it is on disk; a crash leaves the
// previous or the new state. Errors carry codes the API passes on:
//   store_corrupt       the file is damaged or not an xdpgate store (it is
//                       never modified; the message says how to recover)
//   store_too_new       written by a newer xdpgate schema version
//   store_write_failed  disk full, read-only or I/O error (message: what to do)
//   store_busy          another process holds a lock on the file
//   store_conflict      a change breaks a constraint (e.g. duplicate ip_range)
//   store_failed        anything else SQLite reports
// Not thread-safe: the daemon serialises access. A moved-from Store may only
// be destroyed or assigned to.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "list/entry.hpp"

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

class Store {
public:
  // Creates the directory (0750) and the file (0640) when missing.
  static Result<Store> open(const std::filesystem::path &state_dir);

  Store(Store &&) noexcept;
  Store &operator=(Store &&) noexcept;
  ~Store();

  Result<std::vector<Entry>>
  entries() const; // ordered by created_at, then insertion
  Result<RestrictionState> state() const;

  // Begins, applies, then calls `before_commit` (the daemon syncs the kernel
  // there; if it returns an error the transaction rolls back and that error is
  // returned), then commits durably. If COMMIT itself fails the change is
  // rolled back and the error returned (the daemon then reverts the kernel).
  Status apply(const StoreChange &change,
               const std::function<Status()> &before_commit = {});

  // Returns the page cache's memory to the heap (a large change fills it;
  // the next reads fill it again as needed).
  void release_memory();

  struct AuditPage {
    std::vector<AuditRecord> records;
    std::int64_t total; // records in the whole log
  };
  // Newest first. Negative offset or limit: error "invalid_parameter".
  Result<AuditPage> audit(std::int64_t offset, std::int64_t limit) const;

private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace xdpgate
