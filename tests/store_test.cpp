// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "support/sqlite_shell.hpp"
#include "support/stored_entries.hpp"

namespace xdpgate {
namespace {

using test::sql;
using test::stored_entries;

// A fresh directory per test, removed with everything in it.
class TempDir {
public:
  TempDir() {
    char pattern[] = "/tmp/xdpgate-store-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path db() const { return path_ / "xdpgate.db"; }

private:
  std::filesystem::path path_;
};

std::string read_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::filesystem::path &path, const std::string &bytes,
                 std::streamoff at = 0) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  if (!out)
    out.open(path, std::ios::binary | std::ios::out);
  out.seekp(at);
  out << bytes;
}

SqliteStore open_store(const std::filesystem::path &dir) {
  auto store = SqliteStore::open(dir);
  if (!store.ok())
    ADD_FAILURE() << store.error().message;
  return std::move(store).value();
}

Entry entry(std::string id, std::string_view range, EpochMs created_at) {
  Entry e;
  e.id = std::move(id);
  e.range = *IpPrefix::parse(range);
  e.created_by = "alice";
  e.created_at = created_at;
  return e;
}

// Entries numbered i get distinct IPv4 /32s and IPv6 /128s.
Entry numbered_entry(int i, std::string description = "") {
  Entry e =
      entry("ip_" + std::to_string(1000000 + i),
            "10." + std::to_string(i >> 16 & 255) + "." +
                std::to_string(i >> 8 & 255) + "." + std::to_string(i & 255),
            1000 + i);
  if (!description.empty())
    e.description = std::move(description);
  return e;
}

AuditRecord record(std::string action, std::string entry_id = "") {
  return AuditRecord{
      0,  1700000000000,       "alice", std::move(action), std::move(entry_id),
      "", "{\"enabled\":true}"};
}

TEST(Store, NewStoreIsEmptyAndInactive) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  auto entries = stored_entries(store);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_TRUE(entries->empty());
  auto state = store.state();
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(*state, RestrictionState{});
  auto audit = store.audit(0, 10);
  ASSERT_TRUE(audit.ok()) << audit.error().message;
  EXPECT_EQ(audit->total, 0);
  EXPECT_TRUE(audit->records.empty());
}

TEST(Store, CreatesMissingStateDirAndFileWithRestrictedModes) {
  TempDir dir;
  auto state_dir = dir.path() / "var" / "xdpgate";
  const mode_t old_umask = ::umask(0);
  auto store = SqliteStore::open(state_dir);
  ::umask(old_umask);
  ASSERT_TRUE(store.ok()) << store.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(state_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((state_dir / "xdpgate.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(Store, EntriesRoundTripWithEveryOptionalField) {
  TempDir dir;
  Entry full = entry("ip_full000001", "2001:db8::/48", 5000);
  full.description = "vendor VPN, until Friday";
  full.enabled = false;
  full.updated_at = 6000;
  full.expires_at = 7000;
  Entry bare = entry("ip_bare000001", "198.51.100.7", 5000);
  Entry empty_description = entry("ip_empty00001", "192.0.2.0/24", 4000);
  empty_description.description = "";
  {
    SqliteStore store = open_store(dir.path());
    ASSERT_TRUE(store.apply({.upserts = {full, bare, empty_description}}));
  }
  SqliteStore reopened = open_store(dir.path());
  auto entries = stored_entries(reopened);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  // In insertion order: the list orders them by creation itself.
  EXPECT_EQ(*entries, (std::vector<Entry>{full, bare, empty_description}));
}

TEST(Store, UpsertReplacesAnEntryWithTheSameIdAndDeleteRemovesIt) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  Entry a = entry("ip_a", "192.0.2.1", 1);
  Entry b = entry("ip_b", "192.0.2.2", 2);
  ASSERT_TRUE(store.apply({.upserts = {a, b}}));
  a.range = *IpPrefix::parse("192.0.2.0/24");
  a.description = "whole office";
  a.updated_at = 10;
  ASSERT_TRUE(store.apply({.upserts = {a}, .deletes = {"ip_b", "ip_gone"}}));
  auto entries = stored_entries(store);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(*entries, std::vector<Entry>{a});
}

TEST(Store, DeletesApplyBeforeUpsertsSoARangeCanMoveToANewEntry) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  ASSERT_TRUE(store.apply({.upserts = {entry("ip_old", "192.0.2.1", 1)}}));
  Entry moved = entry("ip_new", "192.0.2.1", 2);
  ASSERT_TRUE(store.apply({.upserts = {moved}, .deletes = {"ip_old"}}));
  EXPECT_EQ(*stored_entries(store), std::vector<Entry>{moved});
}

TEST(Store, ReplaceAllDeletesEveryEntryFirst) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  ASSERT_TRUE(store.apply({.upserts = {entry("ip_a", "192.0.2.1", 1),
                                       entry("ip_b", "192.0.2.2", 2)}}));
  // The new list may reuse a range that an old entry held.
  Entry c = entry("ip_c", "192.0.2.2", 3);
  ASSERT_TRUE(store.apply({.replace_all = true, .upserts = {c}}));
  EXPECT_EQ(*stored_entries(store), std::vector<Entry>{c});
  ASSERT_TRUE(store.apply({.replace_all = true}));
  EXPECT_TRUE(stored_entries(store)->empty());
}

TEST(Store, TxnNotCommittedRollsBackTheWholeChange) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  Entry kept = entry("ip_kept", "192.0.2.1", 1);
  ASSERT_TRUE(store.apply({.upserts = {kept}, .audit = {record("add")}}));

  {
    auto txn = store.begin(
        {.replace_all = true,
         .upserts = {entry("ip_new", "198.51.100.0/24", 2)},
         .state = RestrictionState{Mode::Enforce, std::nullopt, Mode::Off},
         .audit = {record("replace")}});
    ASSERT_TRUE(txn.ok()) << txn.error().message;
    // The caller gives up (say, the kernel refused the change).
  }
  EXPECT_EQ(*stored_entries(store), std::vector<Entry>{kept});
  EXPECT_EQ(*store.state(), RestrictionState{});
  EXPECT_EQ(store.audit(0, 10)->total, 1);
  // The store is usable afterwards.
  EXPECT_TRUE(store.apply({.deletes = {"ip_kept"}}));
}

TEST(Store, TxnCommitMakesTheChangeDurable) {
  TempDir dir;
  Entry e = entry("ip_a", "192.0.2.1", 1);
  {
    SqliteStore store = open_store(dir.path());
    auto txn = store.begin({.upserts = {e}});
    ASSERT_TRUE(txn.ok()) << txn.error().message;
    ASSERT_TRUE((*txn)->commit());
  }
  EXPECT_EQ(*stored_entries(open_store(dir.path())), std::vector<Entry>{e});
}

TEST(Store, KeepsAnEntrysPastHits) {
  TempDir dir;
  Entry e = entry("ip_a", "192.0.2.1", 1);
  e.enabled = false;
  e.past_hits = 12;
  e.past_last_hit_at = 5;
  ASSERT_TRUE(open_store(dir.path()).apply({.upserts = {e}}));
  EXPECT_EQ(*stored_entries(open_store(dir.path())), std::vector<Entry>{e});
}

TEST(Store, UpgradesAVersion1FileKeepingItsEntries) {
  TempDir dir;
  std::filesystem::create_directories(dir.path());
  const std::filesystem::path file = dir.path() / "xdpgate.db";
  // The first schema, as xdpgated 0.1 wrote it.
  sql(file, R"sql(
CREATE TABLE entries (
  id TEXT PRIMARY KEY NOT NULL, ip_range TEXT UNIQUE NOT NULL,
  description TEXT, enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_by TEXT NOT NULL, created_at INTEGER NOT NULL,
  updated_at INTEGER, expires_at INTEGER);
CREATE TABLE state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  mode TEXT NOT NULL CHECK (mode IN ('off', 'monitor', 'enforce')),
  confirm_deadline INTEGER,
  revert_mode TEXT NOT NULL CHECK (revert_mode IN ('off', 'monitor', 'enforce')));
INSERT INTO state VALUES (1, 'enforce', NULL, 'off');
CREATE TABLE audit (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
  actor TEXT NOT NULL, action TEXT NOT NULL, entry_id TEXT,
  "before" TEXT, "after" TEXT);
INSERT INTO entries VALUES ('ip_a', '192.0.2.1', 'old', 1, 'alice', 1, NULL, NULL);
PRAGMA user_version = 1;
)sql");
  SqliteStore store = open_store(dir.path());
  Entry a = entry("ip_a", "192.0.2.1", 1);
  a.description = "old";
  EXPECT_EQ(*stored_entries(store), std::vector<Entry>{a});
  EXPECT_EQ(store.state()->mode, Mode::Enforce);
  a.past_hits = 3;
  ASSERT_TRUE(store.apply({.upserts = {a}}));
  EXPECT_EQ(*stored_entries(open_store(dir.path())), std::vector<Entry>{a});
}

TEST(Store, DuplicateRangeIsRefusedAndNothingChanges) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  Entry a = entry("ip_a", "192.0.2.1", 1);
  ASSERT_TRUE(store.apply({.upserts = {a}}));
  Status status = store.apply({.upserts = {entry("ip_b", "192.0.2.9", 2),
                                           entry("ip_c", "192.0.2.1", 3)},
                               .audit = {record("add")}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::StoreConflict);
  EXPECT_EQ(*stored_entries(store), std::vector<Entry>{a});
  EXPECT_EQ(store.audit(0, 10)->total, 0);
}

TEST(Store, StatePersistsAcrossReopen) {
  TempDir dir;
  RestrictionState provisional{Mode::Enforce, 1700000060000, Mode::Monitor};
  {
    SqliteStore store = open_store(dir.path());
    ASSERT_TRUE(store.apply({.state = provisional}));
  }
  EXPECT_EQ(*open_store(dir.path()).state(), provisional);
}

TEST(Store, AuditIsNewestFirstAndPaged) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  ASSERT_TRUE(
      store.apply({.audit = {record("add", "ip_a"), record("add", "ip_b")}}));
  AuditRecord full{99,
                   1700000001000,
                   "bob",
                   "update",
                   "ip_a",
                   "{\"enabled\":true}",
                   "{\"enabled\":false}"};
  ASSERT_TRUE(store.apply({.audit = {full, record("activate")}}));
  ASSERT_TRUE(store.apply({.audit = {record("deactivate")}}));

  auto first = store.audit(0, 2);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->total, 5);
  ASSERT_EQ(first->records.size(), 2u);
  EXPECT_EQ(first->records[0].action, "deactivate");
  EXPECT_EQ(first->records[1].action, "activate");
  EXPECT_EQ(first->records[1].entry_id, "");
  EXPECT_GT(first->records[0].sequence, first->records[1].sequence);

  auto second = store.audit(2, 2);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(second->records.size(), 2u);
  AuditRecord stored = second->records[0];
  EXPECT_NE(stored.sequence, 99); // assigned by the store
  stored.sequence = full.sequence;
  EXPECT_EQ(stored.at, full.at);
  EXPECT_EQ(stored.actor, full.actor);
  EXPECT_EQ(stored.action, full.action);
  EXPECT_EQ(stored.entry_id, full.entry_id);
  EXPECT_EQ(stored.before, full.before);
  EXPECT_EQ(stored.after, full.after);

  auto last = store.audit(4, 10);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->records.size(), 1u);
  EXPECT_EQ(last->records[0].entry_id, "ip_a");
  EXPECT_EQ(last->records[0].before, "");
  EXPECT_TRUE(store.audit(5, 10)->records.empty());
}

TEST(Store, NegativePagingIsRefused) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  auto page = store.audit(-1, 10);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().field, "offset");
  EXPECT_EQ(store.audit(0, -1).error().field, "limit");
}

TEST(Store, MovedStoreKeepsWorking) {
  TempDir dir;
  TempDir other;
  SqliteStore store = open_store(dir.path());
  SqliteStore moved(std::move(store));
  ASSERT_TRUE(moved.apply({.upserts = {entry("ip_a", "192.0.2.1", 1)}}));
  SqliteStore assigned = open_store(other.path());
  assigned = std::move(moved);
  EXPECT_EQ(stored_entries(assigned)->size(), 1u);
}

void expect_refused_as_corrupt(const TempDir &dir) {
  const std::string before = read_bytes(dir.db());
  auto store = SqliteStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::StoreCorrupt);
  EXPECT_NE(store.error().message.find(dir.db().string()), std::string::npos);
  EXPECT_NE(store.error().message.find("PRAGMA integrity_check"),
            std::string::npos);
  EXPECT_NE(store.error().message.find("backup"), std::string::npos);
  EXPECT_EQ(read_bytes(dir.db()), before) << "the file was modified";
}

TEST(Store, NonSqliteFileIsRefusedAndLeftUntouched) {
  TempDir dir;
  std::string garbage;
  for (int i = 0; i < 200; ++i)
    garbage += "this is not a database, it is a text file\n";
  write_bytes(dir.db(), garbage);
  expect_refused_as_corrupt(dir);
}

TEST(Store, DamagedPageIsRefusedAndLeftUntouched) {
  TempDir dir;
  {
    SqliteStore store = open_store(dir.path());
    StoreChange change;
    for (int i = 0; i < 2000; ++i)
      change.upserts.push_back(numbered_entry(i, "some description"));
    ASSERT_TRUE(store.apply(change));
  }
  ASSERT_FALSE(std::filesystem::exists(dir.path() / "xdpgate.db-wal"))
      << "closing should have checkpointed the log into the file";
  write_bytes(dir.db(), std::string(4096, '\x55'), 4096 * 3);
  expect_refused_as_corrupt(dir);
}

TEST(Store, ForeignSqliteDatabaseIsRefusedAndLeftUntouched) {
  TempDir dir;
  sql(dir.db(), "CREATE TABLE inventory (item TEXT)");
  expect_refused_as_corrupt(dir);
}

TEST(Store, FileFromANewerSchemaVersionIsRefused) {
  TempDir dir;
  { open_store(dir.path()); }
  sql(dir.db(), "PRAGMA user_version = 3");
  auto store = SqliteStore::open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::StoreTooNew);
  EXPECT_NE(store.error().message.find("schema version 3"), std::string::npos)
      << store.error().message;
}

TEST(Store, HundredThousandUpsertsInOneChange) {
  TempDir dir;
  SqliteStore store = open_store(dir.path());
  StoreChange change;
  for (int i = 0; i < 100000; ++i)
    change.upserts.push_back(numbered_entry(i));
  ASSERT_TRUE(store.apply(change));
  auto entries = stored_entries(store);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(entries->size(), 100000u);
  EXPECT_EQ(entries->back(), change.upserts.back());
  EXPECT_EQ(*store.entry_count(), 100000u);
  ASSERT_TRUE(store.apply({.deletes = {change.upserts[7].id}}));
  EXPECT_EQ(*store.entry_count(), 99999u);
}

// A tmpfs of `size` mounted on `dir` for the life of the guard, so a test
// can fill a disk or make it read-only without touching a real one. Mounted
// in this process rather than in a forked child's private namespace: a child
// of a threaded process must not run code such as SQLite's (issue 15).
class ScopedTmpfs {
public:
  ScopedTmpfs(const std::filesystem::path &dir, const char *size) : dir_(dir) {
    const std::string options = std::string("size=") + size + ",mode=0700";
    mounted_ =
        ::mount("xdpgate-test", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_)
      error_ = std::strerror(errno);
  }
  ~ScopedTmpfs() {
    if (mounted_)
      ::umount2(dir_.c_str(), MNT_DETACH);
  }
  ScopedTmpfs(const ScopedTmpfs &) = delete;
  ScopedTmpfs &operator=(const ScopedTmpfs &) = delete;

  bool mounted() const { return mounted_; }
  const std::string &error() const { return error_; }

private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(Store, FullDiskWriteFailsCleanlyAndKeepsThePreviousState) {
  TempDir dir;
  ScopedTmpfs disk(dir.path(), "1m");
  if (!disk.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs on " << dir.path() << ": "
                 << disk.error();
  const std::string state_dir = dir.path().string();
  auto store = SqliteStore::open(state_dir);
  ASSERT_TRUE(store.ok()) << store.error().message;
  Entry kept = numbered_entry(0);
  ASSERT_TRUE(store->apply({.upserts = {kept}}));
  StoreChange big;
  for (int i = 1; i < 20000; ++i)
    big.upserts.push_back(numbered_entry(i, std::string(200, 'd')));

  Status status = store->apply(big);
  ASSERT_FALSE(status.ok()) << "20k entries fit in a 1 MiB disk";
  EXPECT_EQ(status.error().code, ErrorCode::StoreWriteFailed);
  EXPECT_NE(status.error().message.find("free space in " + state_dir),
            std::string::npos)
      << status.error().message;
  auto entries = stored_entries(*store);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(*entries, std::vector<Entry>{kept});
}

TEST(Store, ReadOnlyFileSystemIsRefusedAtOpen) {
  TempDir dir;
  ScopedTmpfs disk(dir.path(), "1m");
  if (!disk.mounted())
    GTEST_SKIP() << "cannot mount a tmpfs on " << dir.path() << ": "
                 << disk.error();
  const std::string state_dir = dir.path().string();
  ASSERT_TRUE(SqliteStore::open(state_dir).ok());
  ASSERT_EQ(::mount(nullptr, state_dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY,
                    nullptr),
            0)
      << std::strerror(errno);

  auto store = SqliteStore::open(state_dir);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, ErrorCode::StoreWriteFailed);
  // It says why, not just "attempt to write a readonly database".
  EXPECT_NE(store.error().message.find(state_dir + " is read-only"),
            std::string::npos)
      << store.error().message;
}

} // namespace
} // namespace xdpgate
