// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/sqlite_connection.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/fd.hpp"
#include "store/sqlite.hpp"

namespace xdpgate {

namespace {

constexpr int kSchemaVersion = 2;
constexpr const char *kFileName = "xdpgate.db";
constexpr mode_t kDirMode = 0750;
constexpr mode_t kFileMode = 0640;

// The current schema. Times are milliseconds since the epoch; ip_range is the
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
  expires_at  INTEGER,
  past_hits   INTEGER NOT NULL DEFAULT 0,
  past_last_hit_at INTEGER
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
PRAGMA user_version = 2;
)sql";

// From each older version to the next, each in one transaction with its
// user_version. Version 2 keeps an entry's hits across disable and enable.
constexpr const char *kUpgrades[] = {
    nullptr, // version 0 is an empty file: kSchema creates it whole
    R"sql(
ALTER TABLE entries ADD COLUMN past_hits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE entries ADD COLUMN past_last_hit_at INTEGER;
PRAGMA user_version = 2;
)sql",
};
static_assert(std::size(kUpgrades) == kSchemaVersion);

// 0 when a file can be created in `dir`, else the errno. The file is
// unnamed (O_TMPFILE) and vanishes with the descriptor: nothing is left
// behind, and no descriptor of the database is opened and closed (which
// would drop SQLite's locks on it).
int write_probe_errno(const std::filesystem::path &dir) {
  Fd fd(::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, kFileMode));
  return fd.valid() ? 0 : errno;
}

} // namespace

Error SqliteConnection::fail(int rc, std::string_view doing) const {
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
    return Error{ErrorCode::StoreWriteFailed,
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
    return Error{ErrorCode::StoreWriteFailed,
                 what + ": the disk is full; free space in " + dir_text +
                     " and retry",
                 "", err};
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_CANTOPEN:
    return Error{ErrorCode::StoreWriteFailed,
                 what + ": make " + dir_text + " and " + file.string() +
                     " writable for xdpgated (and the file system "
                     "read-write), then retry",
                 "", err};
  case SQLITE_IOERR:
    return Error{ErrorCode::StoreWriteFailed,
                 what +
                     ": I/O error; check the disk and the kernel log "
                     "(dmesg), and free space in " +
                     dir_text,
                 "", err};
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return Error{ErrorCode::StoreBusy,
                 what + ": another process holds a lock on it (a second "
                        "xdpgated, or an open sqlite3 shell); stop it and "
                        "retry",
                 "", err};
  case SQLITE_CONSTRAINT:
    return Error{ErrorCode::StoreConflict, what, "", err};
  default:
    return Error{ErrorCode::StoreFailed, what, "", err};
  }
}

Error SqliteConnection::corrupt(const std::string &problem) const {
  return Error{
      ErrorCode::StoreCorrupt,
      problem +
          "; the file is damaged or is not an xdpgate store, and "
          "was left untouched. Stop xdpgated, check it with `sqlite3 " +
          file.string() +
          " 'PRAGMA integrity_check'`, then restore it from a "
          "backup, or move it aside to start with an empty list"};
}

Result<sqlite::Stmt> SqliteConnection::prepare(const char *sql) const {
  sqlite3_stmt *raw = nullptr;
  const int rc = sqlite3_prepare_v3(db.get(), sql, -1,
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  sqlite::Stmt stmt(raw);
  if (rc != SQLITE_OK)
    return fail(rc, "reading");
  return stmt;
}

Status SqliteConnection::run(sqlite3_stmt *stmt, std::string_view doing) const {
  sqlite::ResetOnExit reset(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE)
    return fail(rc, doing);
  return {};
}

Status SqliteConnection::exec(const char *sql, std::string_view doing) const {
  auto stmt = prepare(sql);
  if (!stmt)
    return stmt.error();
  return run(stmt->get(), doing);
}

Result<std::int64_t> SqliteConnection::query_int(const char *sql) const {
  auto stmt = prepare(sql);
  if (!stmt)
    return stmt.error();
  const int rc = sqlite3_step(stmt->get());
  if (rc != SQLITE_ROW)
    return fail(rc, "reading");
  return sqlite3_column_int64(stmt->get(), 0);
}

// Read-only checks first: a damaged or foreign file must not be written to.
Status SqliteConnection::check_file(std::int64_t &version) const {
  auto found = query_int("PRAGMA user_version");
  if (!found)
    return found.error();
  version = *found;
  if (version > kSchemaVersion)
    return Error{ErrorCode::StoreTooNew,
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

Status SqliteConnection::configure() const {
  auto journal = prepare("PRAGMA journal_mode = WAL");
  if (!journal)
    return journal.error();
  const int rc = sqlite3_step(journal->get());
  if (rc != SQLITE_ROW)
    return fail(rc, "configuring");
  if (sqlite::column_text(journal->get(), 0) != "wal")
    return Error{ErrorCode::StoreFailed,
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

// Runs constant SQL text (no values, so sqlite3_exec is safe) as one
// transaction.
Status SqliteConnection::write_script(const char *script) const {
  if (auto status = exec("BEGIN IMMEDIATE", "writing"); !status)
    return status;
  char *message = nullptr;
  const int rc = sqlite3_exec(db.get(), script, nullptr, nullptr, &message);
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

Status SqliteConnection::prepare_all() {
  const std::pair<sqlite::Stmt *, const char *> statements[] = {
      {&begin, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&delete_all, "DELETE FROM entries"},
      {&delete_one, "DELETE FROM entries WHERE id = ?1"},
      {&upsert,
       "INSERT INTO entries (id, ip_range, description, enabled, created_by,"
       " created_at, updated_at, expires_at, past_hits, past_last_hit_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
       " ON CONFLICT (id) DO UPDATE SET ip_range = excluded.ip_range,"
       " description = excluded.description, enabled = excluded.enabled,"
       " created_by = excluded.created_by, created_at = excluded.created_at,"
       " updated_at = excluded.updated_at, expires_at = excluded.expires_at,"
       " past_hits = excluded.past_hits,"
       " past_last_hit_at = excluded.past_last_hit_at"},
      {&update_state, "UPDATE state SET mode = ?1, confirm_deadline = ?2,"
                      " revert_mode = ?3 WHERE singleton = 1"},
      {&insert_audit,
       "INSERT INTO audit (at, actor, action, entry_id, \"before\", \"after\")"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {&select_entries,
       "SELECT id, ip_range, description, enabled, created_by, created_at,"
       " updated_at, expires_at, past_hits, past_last_hit_at"
       " FROM entries ORDER BY rowid"},
      {&select_state, "SELECT mode, confirm_deadline, revert_mode FROM state"
                      " WHERE singleton = 1"},
      {&select_audit,
       "SELECT sequence, at, actor, action, entry_id, \"before\", \"after\""
       " FROM audit ORDER BY sequence DESC LIMIT ?1 OFFSET ?2"},
      {&count_audit, "SELECT count(*) FROM audit"},
      {&count_entries, "SELECT count(*) FROM entries"},
  };
  for (const auto &[target, sql] : statements) {
    auto stmt = prepare(sql);
    if (!stmt)
      return stmt.error();
    *target = std::move(*stmt);
  }
  return {};
}

void SqliteConnection::rollback_if_open() const {
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
    return Error{ErrorCode::StoreWriteFailed,
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
    return Error{ErrorCode::StoreWriteFailed,
                 "cannot create " + file.string() + ": " + std::strerror(err) +
                     "; make " + file.parent_path().string() +
                     " writable for xdpgated and free space there",
                 "", err};
  }
  return {};
}

} // namespace

Result<std::unique_ptr<SqliteConnection>>
SqliteConnection::open(const std::filesystem::path &state_dir) {
  auto impl = std::make_unique<SqliteConnection>();
  impl->dir = state_dir;
  impl->file = state_dir / kFileName;
  if (auto status = create_state_dir(impl->dir); !status)
    return status.error();
  if (auto status = create_file(impl->file); !status)
    return status.error();

  sqlite3 *raw = nullptr;
  // No mutex of SQLite's own: the list layer already serialises every use of
  // the store (store.hpp), and a start reads a million rows through it.
  const int rc = sqlite3_open_v2(impl->file.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE |
                                     SQLITE_OPEN_NOMUTEX,
                                 nullptr);
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
  if (version == 0) {
    if (auto status = impl->write_script(kSchema); !status)
      return status.error();
    version = kSchemaVersion;
  }
  for (std::int64_t v = version; v < kSchemaVersion; ++v)
    if (auto status = impl->write_script(kUpgrades[v]); !status)
      return status.error();
  if (auto status = impl->prepare_all(); !status)
    return status.error();
  return impl;
}

} // namespace xdpgate
