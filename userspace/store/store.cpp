// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/fd.hpp"
#include "store/sqlite.hpp"

namespace xdpgate {

namespace {

constexpr int kSchemaVersion = 1;
constexpr const char *kFileName = "xdpgate.db";
constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;

// Schema version 1. Times are milliseconds since the epoch; ip_range is the
// canonical text of the prefix. Created in one transaction with user_version,
// so a file has either all of it or none.
constexpr const char *kSchema = R"sql(
CREATE TABLE entries (
  id          TEXT PRIMARY KEY NOT NULL,
  ip_range    TEXT UNIQUE NOT NULL,
  description TEXT,
  enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER,
  expires_at  INTEGER
);
CREATE TABLE state (
  singleton        INTEGER PRIMARY KEY CHECK (singleton = 1),
  mode             TEXT NOT NULL CHECK (mode IN ('off', 'monitor', 'enforce')),
  confirm_deadline INTEGER,
  revert_mode      TEXT NOT NULL
                   CHECK (revert_mode IN ('off', 'monitor', 'enforce'))
);
INSERT INTO state (singleton, mode, confirm_deadline, revert_mode)
  VALUES (1, 'off', NULL, 'off');
CREATE TABLE audit (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  at       INTEGER NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  entry_id TEXT,
  "before" TEXT,
  "after"  TEXT
);
PRAGMA user_version = 1;
)sql";

std::string_view mode_text(Mode mode) {
  switch (mode) {
  case Mode::Monitor:
    return "monitor";
  case Mode::Enforce:
    return "enforce";
  case Mode::Off:
    break;
  }
  return "off";
}

std::optional<Mode> parse_mode(std::string_view text) {
  for (auto mode : {Mode::Off, Mode::Monitor, Mode::Enforce})
    if (text == mode_text(mode))
      return mode;
  return std::nullopt;
}

// 0 when a file can be created in `dir`, else the errno. The file is
// unnamed (O_TMPFILE) and vanishes with the descriptor: nothing is left
// behind, and no descriptor of the database is opened and closed (which
// would drop SQLite's locks on it).
int write_probe_errno(const std::filesystem::path &dir) {
  Fd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, kFileMode));
  return fd.valid() ? 0 : errno;
}

// Empty strings in AuditRecord are NULL in the table.
std::optional<std::string_view> null_if_empty(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  return text;
}

} // namespace

struct Store::Impl {
  std::filesystem::path dir;
  std::filesystem::path file;
  sqlite::Db db;
  // Prepared once and reused, so a change of a million entries binds one
  // statement a million times instead of compiling SQL for each.
  sqlite::Stmt begin, commit, rollback;
  sqlite::Stmt delete_all, delete_one, upsert, update_state, insert_audit;
  sqlite::Stmt select_entries, select_state, select_audit, count_audit;

  // Turns a SQLite result code into an Error that says what to do.
  Error fail(int rc, std::string_view doing) const;
  Error corrupt(const std::string &problem) const;
  Result<sqlite::Stmt> prepare(const char *sql) const;
  // Steps a statement to completion (rows, if any, are ignored).
  Status run(sqlite3_stmt *stmt, std::string_view doing) const;
  Status exec(const char *sql, std::string_view doing) const;
  Result<std::int64_t> query_int(const char *sql) const;

  Status check_file(std::int64_t &version) const;
  Status configure() const;
  Status create_schema() const;
  Status prepare_all();
  void rollback_if_open() const;
};

Error Store::Impl::fail(int rc, std::string_view doing) const {
  const bool current = db && sqlite3_extended_errcode(db.get()) == rc;
  int kind = rc & 0xff;
  // For a failed system call, the errno says which of full, read-only or
  // broken it is (SQLite reports a failed write() as an I/O error); for
  // anything else, an errno would be stale.
  const bool from_os = kind == SQLITE_IOERR || kind == SQLITE_FULL ||
                       kind == SQLITE_READONLY || kind == SQLITE_PERM ||
                       kind == SQLITE_CANTOPEN;
  int err = from_os && current ? sqlite3_system_errno(db.get()) : 0;
  // SQLite reads errno well after the call that failed, so it may be stale
  // and a read-only file system often shows as a bare I/O error: keep only
  // the answers that say something, and ask the file system itself.
  if (err != EROFS && err != ENOSPC && err != EDQUOT && err != EACCES &&
      err != EPERM && err != EIO)
    err = 0;
  if (from_os && kind != SQLITE_FULL && err != EROFS &&
      write_probe_errno(dir) == EROFS)
    err = EROFS;
  std::string what = std::string(doing) + " " + file.string() + " failed (" +
                     (current ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc));
  if (err != 0)
    what += std::string(": ") + std::strerror(err);
  what += ")";
  const std::string dir_text = dir.string();
  if (err == ENOSPC || err == EDQUOT)
    kind = SQLITE_FULL;
  if (err == EROFS)
    return Error{"store_write_failed",
                 what + ": the file system holding " + dir_text +
                     " is read-only (the kernel remounts it so after a disk "
                     "error: see dmesg); repair it and mount it read-write, "
                     "then retry",
                 "", err};
  switch (kind) {
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return corrupt(what);
  case SQLITE_FULL:
    return Error{"store_write_failed",
                 what + ": the disk is full; free space in " + dir_text +
                     " and retry",
                 "", err};
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_CANTOPEN:
    return Error{"store_write_failed",
                 what + ": make " + dir_text + " and " + file.string() +
                     " writable for xdpgated (and the file system "
                     "read-write), then retry",
                 "", err};
  case SQLITE_IOERR:
    return Error{"store_write_failed",
                 what +
                     ": I/O error; check the disk and the kernel log "
                     "(dmesg), and free space in " +
                     dir_text,
                 "", err};
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return Error{"store_busy",
                 what + ": another process holds a lock on it (a second "
                        "xdpgated, or an open sqlite3 shell); stop it and "
                        "retry",
                 "", err};
  case SQLITE_CONSTRAINT:
    return Error{"store_conflict", what, "", err};
  default:
    return Error{"store_failed", what, "", err};
  }
}

Error Store::Impl::corrupt(const std::string &problem) const {
  return Error{
      "store_corrupt",
      problem +
          "; the file is damaged or is not an xdpgate store, and "
          "was left untouched. Stop xdpgated, check it with `sqlite3 " +
          file.string() +
          " 'PRAGMA integrity_check'`, then restore it from a "
          "backup, or move it aside to start with an empty list"};
}

Result<sqlite::Stmt> Store::Impl::prepare(const char *sql) const {
  sqlite3_stmt *raw = nullptr;
  const int rc = sqlite3_prepare_v3(db.get(), sql, -1,
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  sqlite::Stmt stmt(raw);
  if (rc != SQLITE_OK)
    return fail(rc, "reading");
  return stmt;
}

Status Store::Impl::run(sqlite3_stmt *stmt, std::string_view doing) const {
  sqlite::ResetOnExit reset(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    return fail(rc, doing);
  return {};
}

Status Store::Impl::exec(const char *sql, std::string_view doing) const {
  auto stmt = prepare(sql);
  if (!stmt)
    return stmt.error();
  return run(stmt->get(), doing);
}

Result<std::int64_t> Store::Impl::query_int(const char *sql) const {
  auto stmt = prepare(sql);
  if (!stmt)
    return stmt.error();
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW)
    return fail(rc, "reading");
  return sqlite3_column_int64(stmt->get(), 0);
}

// Read-only checks first: a damaged or foreign file must not be written to.
Status Store::Impl::check_file(std::int64_t &version) const {
  auto found = query_int("PRAGMA user_version");
  if (!found)
    return found.error();
  version = *found;
  if (version > kSchemaVersion)
    return Error{"store_too_new",
                 file.string() + " has schema version " +
                     std::to_string(version) +
                     ", newer than this xdpgated understands (" +
                     std::to_string(kSchemaVersion) +
                     "); run the newer xdpgated, or restore a backup made "
                     "by this version"};

  auto check = prepare("PRAGMA quick_check(1)");
  if (!check)
    return check.error();
  const int rc = sqlite3_step(check->get());
  if (rc != SQLITE_ROW)
    return fail(rc, "checking");
  if (auto verdict = sqlite::column_text(check->get(), 0); verdict != "ok")
    return corrupt("checking " + file.string() + " found: " + verdict);

  if (version == 0) {
    auto tables = query_int("SELECT count(*) FROM sqlite_schema");
    if (!tables)
      return tables.error();
    if (*tables != 0)
      return corrupt("opening " + file.string() +
                     " found tables but no xdpgate schema version");
  }
  return {};
}

Status Store::Impl::configure() const {
  auto journal = prepare("PRAGMA journal_mode = WAL");
  if (!journal)
    return journal.error();
  const int rc = sqlite3_step(journal->get());
  if (rc != SQLITE_ROW)
    return fail(rc, "configuring");
  if (sqlite::column_text(journal->get(), 0) != "wal")
    return Error{"store_failed",
                 "cannot switch " + file.string() +
                     " to WAL mode; put the state directory on a local file "
                     "system"};
  // Room for the indexes of a million-entry list (the default is 2 MiB), so a
  // full replace does not spill pages to the log mid-transaction.
  if (auto status = exec("PRAGMA cache_size = -65536", "configuring"); !status)
    return status;
  // WAL with FULL syncs the log on every commit: acknowledged means on disk.
  return exec("PRAGMA synchronous = FULL", "configuring");
}

Status Store::Impl::create_schema() const {
  if (auto status = exec("BEGIN IMMEDIATE", "writing"); !status)
    return status;
  // The schema is constant text with no values, so sqlite3_exec is safe.
  char *message = nullptr;
  const int rc = sqlite3_exec(db.get(), kSchema, nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    Error error = fail(rc, "writing");
    rollback_if_open();
    return error;
  }
  if (auto status = exec("COMMIT", "writing"); !status) {
    rollback_if_open();
    return status;
  }
  return {};
}

Status Store::Impl::prepare_all() {
  const std::pair<sqlite::Stmt *, const char *> statements[] = {
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&delete_all, "DELETE FROM entries"},
      {&delete_one, "DELETE FROM entries WHERE id = ?1"},
      {&upsert,
       "INSERT INTO entries (id, ip_range, description, enabled, created_by,"
       " created_at, updated_at, expires_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
       " ON CONFLICT (id) DO UPDATE SET ip_range = excluded.ip_range,"
       " description = excluded.description, enabled = excluded.enabled,"
       " created_by = excluded.created_by, created_at = excluded.created_at,"
       " updated_at = excluded.updated_at, expires_at = excluded.expires_at"},
      {&update_state, "UPDATE state SET mode = ?1, confirm_deadline = ?2,"
                      " revert_mode = ?3 WHERE singleton = 1"},
      {&insert_audit,
       "INSERT INTO audit (at, actor, action, entry_id, \"before\", \"after\")"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&select_entries,
       "SELECT id, ip_range, description, enabled, created_by, created_at,"
       " updated_at, expires_at FROM entries ORDER BY created_at, rowid"},
      {&select_state, "SELECT mode, confirm_deadline, revert_mode FROM state"
                      " WHERE singleton = 1"},
      {&select_audit,
       "SELECT sequence, at, actor, action, entry_id, \"before\", \"after\""
       " FROM audit ORDER BY sequence DESC LIMIT ?1 OFFSET ?2"},
      {&count_audit, "SELECT count(*) FROM audit"},
  };
  for (const auto &[target, sql] : statements) {
    auto stmt = prepare(sql);
    if (!stmt)
      return stmt.error();
    *target = std::move(*stmt);
  }
  return {};
}

void Store::Impl::rollback_if_open() const {
  if (sqlite3_get_autocommit(db.get()) != 0)
    return;
  // SQLite may already have rolled back (disk full, I/O error); ROLLBACK then
  // fails harmlessly, and there is nothing better to do with its error.
  if (rollback) {
    sqlite::ResetOnExit reset(rollback.get());
    sqlite3_step(rollback.get());
  } else {
    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

namespace {

Status create_state_dir(const std::filesystem::path &dir) {
  std::error_code ec;
  if (std::filesystem::create_directories(dir, ec))
    std::filesystem::permissions(
        dir, static_cast<std::filesystem::perms>(kDirMode), ec);
  if (ec)
    return Error{"store_write_failed",
                 "cannot create state directory " + dir.string() + ": " +
                     ec.message() + "; create it, writable for xdpgated",
                 "", ec.value()};
  return {};
}

// SQLite would create the file with 0644 less the umask; creating it first
// gives it exactly 0640 (SQLite gives the -wal and -shm files the same mode).
Status create_file(const std::filesystem::path &file) {
  Fd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (!fd.valid() && errno == EEXIST)
    return {};
  if (!fd.valid() || ::fchmod(fd.get(), kFileMode) != 0) {
    const int err = errno;
    return Error{"store_write_failed",
                 "cannot create " + file.string() + ": " + std::strerror(err) +
                     "; make " + file.parent_path().string() +
                     " writable for xdpgated and free space there",
                 "", err};
  }
  return {};
}

} // namespace

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store &&) noexcept = default;
Store &Store::operator=(Store &&) noexcept = default;
Store::~Store() = default;

Result<Store> Store::open(const std::filesystem::path &state_dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = state_dir;
  impl->file = state_dir / kFileName;
  if (auto status = create_state_dir(impl->dir); !status)
    return status.error();
  if (auto status = create_file(impl->file); !status)
    return status.error();

  sqlite3 *raw = nullptr;
  const int rc =
      sqlite3_open_v2(impl->file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, nullptr);
  impl->db.reset(raw);
  if (rc != SQLITE_OK)
    return impl->fail(rc, "opening");
  // SQLite silently falls back to read-only when it cannot write the file.
  if (sqlite3_db_readonly(raw, "main") == 1)
    return impl->fail(SQLITE_READONLY, "opening");
  // Rides out a short lock by an operator's sqlite3 shell instead of failing.
  sqlite3_busy_timeout(raw, 5000);

  std::int64_t version = 0;
  if (auto status = impl->check_file(version); !status)
    return status.error();
  if (auto status = impl->configure(); !status)
    return status.error();
  if (version == 0)
    if (auto status = impl->create_schema(); !status)
      return status.error();
  if (auto status = impl->prepare_all(); !status)
    return status.error();
  return Store(std::move(impl));
}

Result<std::vector<Entry>> Store::entries() const {
  sqlite3_stmt *stmt = impl_->select_entries.get();
  sqlite::ResetOnExit reset(stmt);
  std::vector<Entry> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    Entry entry;
    entry.id = sqlite::column_text(stmt, 0);
    auto range = IpPrefix::parse(sqlite::column_text(stmt, 1));
    if (!range)
      return impl_->corrupt("reading entry " + entry.id + " found " +
                            range.error().message);
    entry.range = *range;
    entry.description = sqlite::column_optional_text(stmt, 2);
    entry.enabled = sqlite3_column_int64(stmt, 3) != 0;
    entry.created_by = sqlite::column_text(stmt, 4);
    entry.created_at = sqlite3_column_int64(stmt, 5);
    entry.updated_at = sqlite::column_optional_int(stmt, 6);
    entry.expires_at = sqlite::column_optional_int(stmt, 7);
    out.push_back(std::move(entry));
  }
  if (rc != SQLITE_DONE)
    return impl_->fail(rc, "reading");
  return out;
}

Result<RestrictionState> Store::state() const {
  sqlite3_stmt *stmt = impl_->select_state.get();
  sqlite::ResetOnExit reset(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE)
    return impl_->corrupt("reading " + impl_->file.string() +
                          " found no restriction state row");
  if (rc != SQLITE_ROW)
    return impl_->fail(rc, "reading");
  auto mode = parse_mode(sqlite::column_text(stmt, 0));
  auto revert_mode = parse_mode(sqlite::column_text(stmt, 2));
  if (!mode || !revert_mode)
    return impl_->corrupt("reading " + impl_->file.string() +
                          " found an unknown restriction mode");
  return RestrictionState{*mode, sqlite::column_optional_int(stmt, 1),
                          *revert_mode};
}

Status Store::apply(const StoreChange &change,
                    const std::function<Status()> &before_commit) {
  Impl &s = *impl_;
  if (auto status = s.run(s.begin.get(), "writing"); !status)
    return status;
  // Every exit before a successful COMMIT, including an exception thrown by
  // before_commit, leaves the store as it was.
  struct RollbackUnlessCommitted {
    const Impl &s;
    ~RollbackUnlessCommitted() { s.rollback_if_open(); }
  } guard{s};

  auto write = [&](sqlite3_stmt *stmt, auto &&...args) -> Status {
    if (int rc = sqlite::bind_all(stmt, args...); rc != SQLITE_OK)
      return s.fail(rc, "writing");
    return s.run(stmt, "writing");
  };

  if (change.replace_all)
    if (auto status = write(s.delete_all.get()); !status)
      return status;
  for (const auto &id : change.deletes)
    if (auto status = write(s.delete_one.get(), std::string_view(id)); !status)
      return status;
  for (const auto &e : change.upserts) {
    const std::string range = e.range.to_string();
    if (auto status =
            write(s.upsert.get(), std::string_view(e.id),
                  std::string_view(range), e.description,
                  std::int64_t{e.enabled}, std::string_view(e.created_by),
                  e.created_at, e.updated_at, e.expires_at);
        !status)
      return status;
  }
  if (change.state)
    if (auto status = write(s.update_state.get(), mode_text(change.state->mode),
                            change.state->confirm_deadline,
                            mode_text(change.state->revert_mode));
        !status)
      return status;
  for (const auto &a : change.audit)
    if (auto status =
            write(s.insert_audit.get(), a.at, std::string_view(a.actor),
                  std::string_view(a.action), null_if_empty(a.entry_id),
                  null_if_empty(a.before), null_if_empty(a.after));
        !status)
      return status;

  if (before_commit)
    if (auto status = before_commit(); !status)
      return status;
  return s.run(s.commit.get(), "committing to");
}

void Store::release_memory() { sqlite3_db_release_memory(impl_->db.get()); }

Result<Store::AuditPage> Store::audit(std::int64_t offset,
                                      std::int64_t limit) const {
  if (offset < 0)
    return Error{"invalid_parameter", "offset must not be negative", "offset"};
  if (limit < 0)
    return Error{"invalid_parameter", "limit must not be negative", "limit"};
  AuditPage page{{}, 0};
  {
    sqlite3_stmt *count = impl_->count_audit.get();
    sqlite::ResetOnExit reset(count);
    const int rc = sqlite3_step(count);
    if (rc != SQLITE_ROW)
      return impl_->fail(rc, "reading");
    page.total = sqlite3_column_int64(count, 0);
  }
  sqlite3_stmt *stmt = impl_->select_audit.get();
  sqlite::ResetOnExit reset(stmt);
  if (int rc = sqlite::bind_all(stmt, limit, offset); rc != SQLITE_OK)
    return impl_->fail(rc, "reading");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    page.records.push_back(AuditRecord{
        sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1),
        sqlite::column_text(stmt, 2), sqlite::column_text(stmt, 3),
        sqlite::column_text(stmt, 4), sqlite::column_text(stmt, 5),
        sqlite::column_text(stmt, 6)});
  if (rc != SQLITE_DONE)
    return impl_->fail(rc, "reading");
  return page;
}

} // namespace xdpgate
