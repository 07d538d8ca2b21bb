// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The store of one host: SQLite in <state_dir>/xdpgate.db (WAL,
// synchronous=FULL). Errors:
//   store_corrupt       the file is damaged or not an xdpgate store (it is
//                       never modified; the message says how to recover)
//   store_too_new       written by a newer xdpgate schema version
//   store_write_failed  disk full, read-only or I/O error (message: what to do)
//   store_busy          another process holds a lock on the file
//   store_conflict      a change breaks a constraint (e.g. duplicate ip_range)
//   store_failed        anything else SQLite reports
// A moved-from SqliteStore may only be destroyed or assigned to.
#pragma once

#include <filesystem>
#include <memory>

#include "store/store.hpp"

namespace xdpgate {

struct SqliteConnection;

class SqliteStore final : public Store {
public:
  // Creates the directory (0750) and the file (0640) when missing, and
  // brings an older schema up to date.
  static Result<SqliteStore> open(const std::filesystem::path &state_dir);

  SqliteStore(SqliteStore &&) noexcept;
  SqliteStore &operator=(SqliteStore &&) noexcept;
  ~SqliteStore() override;

  Result<std::size_t> entry_count() const override;
  Status
  each_entry(const std::function<Status(Entry &&)> &visit) const override;
  Result<RestrictionState> state() const override;
  Result<std::unique_ptr<Txn>> begin(const StoreChange &change) override;
  Result<AuditPage> audit(std::int64_t offset,
                          std::int64_t limit) const override;
  void release_memory() override;
  // The daemon's own file, written by no one else: never stale.
  StoreStatus status() const override { return {"sqlite"}; }
  Result<Fleet> fleet() const override;

private:
  explicit SqliteStore(std::unique_ptr<SqliteConnection> db);
  std::unique_ptr<SqliteConnection> db_;
};

} // namespace xdpgate
