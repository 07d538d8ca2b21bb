// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/sqlite_store.hpp"

#include <algorithm>

#include "store/sqlite_connection.hpp"

namespace xdpgate {

namespace {

// Empty strings in AuditRecord are NULL in the table.
std::optional<std::string_view> null_if_empty(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  return text;
}

// The store holds counters as SQLite's signed 64-bit integers.
std::int64_t as_column(std::uint64_t count) {
  return static_cast<std::int64_t>(count);
}

class SqliteTxn final : public Store::Txn {
public:
  explicit SqliteTxn(const SqliteConnection &db) : db_(db) {}
  SqliteTxn(const SqliteTxn &) = delete;
  SqliteTxn &operator=(const SqliteTxn &) = delete;
  // If COMMIT failed, SQLite may have left the transaction open: roll back.
  ~SqliteTxn() override { db_.rollback_if_open(); }

  Status commit() override {
    return db_.run(db_.commit.get(), "committing to");
  }

private:
  const SqliteConnection &db_;
};

Status write_change(const SqliteConnection &db, const StoreChange &change) {
  if (change.replace_all)
    if (auto status = db.write(db.delete_all.get()); !status)
      return status;
  for (const auto &id : change.deletes)
    if (auto status = db.write(db.delete_one.get(), std::string_view(id));
        !status)
      return status;
  for (const auto &e : change.upserts) {
    const std::string range = e.range.to_string();
    if (auto status = db.write(
            db.upsert.get(), std::string_view(e.id), std::string_view(range),
            e.description, std::int64_t{e.enabled},
            std::string_view(e.created_by), e.created_at, e.updated_at,
            e.expires_at, as_column(e.past_hits), e.past_last_hit_at);
        !status)
      return status;
  }
  if (change.state)
    if (auto status =
            db.write(db.update_state.get(), to_string(change.state->mode),
                     change.state->confirm_deadline,
                     to_string(change.state->revert_mode));
        !status)
      return status;
  for (const auto &a : change.audit)
    if (auto status =
            db.write(db.insert_audit.get(), a.at, std::string_view(a.actor),
                     std::string_view(a.action), null_if_empty(a.entry_id),
                     null_if_empty(a.before), null_if_empty(a.after));
        !status)
      return status;
  return {};
}

// What a prepared `SELECT count(*)` answers.
Result<std::int64_t> count_rows(const SqliteConnection &db,
                                sqlite3_stmt *count) {
  sqlite::ResetOnExit reset(count);
  const int rc = sqlite3_step(count);
  if (rc != SQLITE_ROW)
    return db.fail(rc, "reading");
  return sqlite3_column_int64(count, 0);
}

} // namespace

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> db)
    : db_(std::move(db)) {}
SqliteStore::SqliteStore(SqliteStore &&) noexcept = default;
SqliteStore &SqliteStore::operator=(SqliteStore &&) noexcept = default;
SqliteStore::~SqliteStore() = default;

Result<SqliteStore> SqliteStore::open(const std::filesystem::path &state_dir) {
  auto db = SqliteConnection::open(state_dir);
  if (!db)
    return db.error();
  return SqliteStore(std::move(db.value()));
}

Result<std::size_t> SqliteStore::entry_count() const {
  Result<std::int64_t> count = count_rows(*db_, db_->count_entries.get());
  if (!count)
    return count.error();
  return static_cast<std::size_t>(*count);
}

Status
SqliteStore::each_entry(const std::function<Status(Entry &&)> &visit) const {
  sqlite3_stmt *stmt = db_->select_entries.get();
  sqlite::ResetOnExit reset(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Entry entry;
    entry.id = sqlite::column_text(stmt, 0);
    auto range = IpPrefix::parse(sqlite::column_text(stmt, 1));
    if (!range)
      return db_->corrupt("reading entry " + entry.id + " found " +
                          range.error().message);
    entry.range = *range;
    entry.description = sqlite::column_optional_text(stmt, 2);
    entry.enabled = sqlite3_column_int64(stmt, 3) != 0;
    entry.created_by = sqlite::column_text(stmt, 4);
    entry.created_at = sqlite3_column_int64(stmt, 5);
    entry.updated_at = sqlite::column_optional_int(stmt, 6);
    entry.expires_at = sqlite::column_optional_int(stmt, 7);
    entry.past_hits = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 8));
    entry.past_last_hit_at = sqlite::column_optional_int(stmt, 9);
    if (Status s = visit(std::move(entry)); !s)
      return s;
  }
  if (rc != SQLITE_DONE)
    return db_->fail(rc, "reading");
  return {};
}

Result<RestrictionState> SqliteStore::state() const {
  sqlite3_stmt *stmt = db_->select_state.get();
  sqlite::ResetOnExit reset(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE)
    return db_->corrupt("reading " + db_->file.string() +
                        " found no restriction state row");
  if (rc != SQLITE_ROW)
    return db_->fail(rc, "reading");
  auto mode = parse_mode(sqlite::column_text(stmt, 0));
  auto revert_mode = parse_mode(sqlite::column_text(stmt, 2));
  if (!mode || !revert_mode)
    return db_->corrupt("reading " + db_->file.string() +
                        " found an unknown restriction mode");
  return RestrictionState{*mode, sqlite::column_optional_int(stmt, 1),
                          *revert_mode};
}

Result<std::unique_ptr<Store::Txn>>
SqliteStore::begin(const StoreChange &change) {
  if (auto status = db_->run(db_->begin.get(), "writing"); !status)
    return status.error();
  // From here every way out, including an exception, rolls back unless the
  // caller commits.
  auto txn = std::make_unique<SqliteTxn>(*db_);
  if (auto status = write_change(*db_, change); !status)
    return status.error();
  return std::unique_ptr<Txn>(std::move(txn));
}

void SqliteStore::release_memory() { sqlite3_db_release_memory(db_->db.get()); }

Result<AuditPage> SqliteStore::audit(std::int64_t offset,
                                     std::int64_t limit) const {
  if (Status bounds = check_audit_page(offset, limit); !bounds)
    return bounds.error();
  AuditPage page;
  Result<std::int64_t> total = count_rows(*db_, db_->count_audit.get());
  if (!total)
    return total.error();
  page.total = *total;
  sqlite3_stmt *stmt = db_->select_audit.get();
  sqlite::ResetOnExit reset(stmt);
  if (int rc = sqlite::bind_all(stmt, limit, offset); rc != SQLITE_OK)
    return db_->fail(rc, "reading");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    page.records.push_back(AuditRecord{
        sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
        sqlite::column_text(stmt, 2), sqlite::column_text(stmt, 3),
        sqlite::column_text(stmt, 4), sqlite::column_text(stmt, 5),
        sqlite::column_text(stmt, 6)});
  if (rc != SQLITE_DONE)
    return db_->fail(rc, "reading");
  return page;
}

Result<Fleet> SqliteStore::fleet() const {
  return Error{ErrorCode::NotFound,
               "this daemon keeps its own list (store = \"sqlite\"), so it "
               "has no fleet; hosts share one list with store = \"etcd\" "
               "(xdpgate.toml(5), [etcd])"};
}

} // namespace xdpgate
