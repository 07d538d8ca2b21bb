// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Thin RAII over the SQLite C API, for the store: owning handles for a
// connection and a prepared statement, typed parameter binding and column
// reads. Values only ever reach SQL as bound parameters.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace xdpgate::sqlite {

struct CloseDb {
  // close_v2 defers the close until every statement is finalized, so the
  // order in which owners are destroyed does not matter.
  void operator()(sqlite3 *db) const noexcept { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;

struct Finalize {
  void operator()(sqlite3_stmt *stmt) const noexcept { sqlite3_finalize(stmt); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, Finalize>;

// Resets a reused statement when a use ends, however it ends, so it holds no
// read snapshot and no stale parameters.
class ResetOnExit {
public:
  explicit ResetOnExit(sqlite3_stmt *stmt) : stmt_(stmt) {}
  ResetOnExit(const ResetOnExit &) = delete;
  ResetOnExit &operator=(const ResetOnExit &) = delete;
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

private:
  sqlite3_stmt *stmt_;
};

// Text is bound without a copy: the caller keeps it alive until the step.
inline int bind_param(sqlite3_stmt *stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(),
                             SQLITE_STATIC, SQLITE_UTF8);
}
inline int bind_param(sqlite3_stmt *stmt, int index, std::int64_t value) {
  return sqlite3_bind_int64(stmt, index, value);
}
inline int bind_param(sqlite3_stmt *stmt, int index, std::nullopt_t) {
  return sqlite3_bind_null(stmt, index);
}
template <typename T>
int bind_param(sqlite3_stmt *stmt, int index, const std::optional<T> &value) {
  return value ? bind_param(stmt, index, *value)
               : sqlite3_bind_null(stmt, index);
}

// Binds parameters 1..N in order; returns the first failure code.
template <typename... Args>
int bind_all([[maybe_unused]] sqlite3_stmt *stmt, const Args &...args) {
  int index = 0;
  int rc = SQLITE_OK;
  ((rc = rc == SQLITE_OK ? bind_param(stmt, ++index, args) : rc), ...);
  return rc;
}

inline std::string column_text(sqlite3_stmt *stmt, int column) {
  const auto *text =
      reinterpret_cast<const char *>(sqlite3_column_text(stmt, column));
  return text ? std::string(text, sqlite3_column_bytes(stmt, column))
              : std::string();
}
inline std::optional<std::string> column_optional_text(sqlite3_stmt *stmt,
                                                       int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
    return std::nullopt;
  return column_text(stmt, column);
}
inline std::optional<std::int64_t> column_optional_int(sqlite3_stmt *stmt,
                                                       int column) {
  if (sqlite3_column_type(stmt, column) == SQLITE_NULL)
    return std::nullopt;
  return sqlite3_column_int64(stmt, column);
}

} // namespace xdpgate::sqlite
