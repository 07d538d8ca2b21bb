// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The SQLite store's open file: opening it safely (a damaged or foreign file
// is never written to), its schema and upgrades, its prepared statements,
// and SQLite's result codes turned into errors that say what to do.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "store/sqlite.hpp"

namespace xdpgate {

struct SqliteConnection {
  static Result<std::unique_ptr<SqliteConnection>>
  open(const std::filesystem::path &state_dir);

  std::filesystem::path dir;
  std::filesystem::path file;
  sqlite::Db db;
  // Prepared once and reused, so a change of a million entries binds one
  // statement a million times instead of compiling SQL for each.
  sqlite::Stmt begin, commit, rollback;
  sqlite::Stmt delete_all, delete_one, upsert, update_state, insert_audit;
  sqlite::Stmt select_entries, select_state, select_audit, count_audit,
      count_entries;

  // Turns a SQLite result code into an Error that says what to do.
  Error fail(int rc, std::string_view doing) const;
  Error corrupt(const std::string &problem) const;
  // Steps a statement to completion (rows, if any, are ignored).
  Status run(sqlite3_stmt *stmt, std::string_view doing) const;
  // Binds the parameters, then runs the statement.
  template <typename... Args>
  Status write(sqlite3_stmt *stmt, const Args &...args) const {
    if (int rc = sqlite::bind_all(stmt, args...); rc != SQLITE_OK)
      return fail(rc, "writing");
    return run(stmt, "writing");
  }
  // Ends an open transaction without its changes; harmless when none is.
  void rollback_if_open() const;

private:
  Result<sqlite::Stmt> prepare(const char *sql) const;
  Status exec(const char *sql, std::string_view doing) const;
  Result<std::int64_t> query_int(const char *sql) const;
  Status check_file(std::int64_t &version) const;
  Status configure() const;
  Status write_script(const char *script) const;
  Status prepare_all();
};

} // namespace xdpgate
