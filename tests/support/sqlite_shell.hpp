// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Raw SQL on a store's file, as an operator's sqlite3 shell would run it:
// for tests that damage a store or make it refuse writes.
#pragma once

#include <filesystem>
#include <gtest/gtest.h>
#include <sqlite3.h>

namespace xdpgate::test {

inline void sql(const std::filesystem::path &file, const char *statement) {
  sqlite3 *db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

} // namespace xdpgate::test
