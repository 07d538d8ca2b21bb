// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The lookup table in a kernel map: it is built with the root its list
// calls for, answers as LookupTable does, and never stays mapped into the
// daemon whole (which would count the table, kernel memory, a second time
// in the daemon's resident set: 140 MiB at a million entries).
#include <gtest/gtest.h>

#include <random>

#include "datapath/kernel_table.hpp"
#include "support/test_run.hpp"

namespace xdpgate {
namespace {

class KernelTableTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!test::bpf_available(&why))
      GTEST_SKIP() << why;
  }
};

std::vector<TableEntry> hosts(std::size_t count) {
  std::mt19937 rng(5);
  std::vector<TableEntry> out;
  for (std::uint32_t i = 0; i < count; ++i)
    out.push_back({{static_cast<std::uint32_t>(rng()) | 1, 32}, i});
  return out;
}

TEST_F(KernelTableTest, ASmallListGetsASmallRootAndABigOneTheWideRoot) {
  Result<KernelTable> small = KernelTable::holding(hosts(10));
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->root_bits(), 16);
  EXPECT_LT(small->rows() * sizeof(xdpgate_table_row), 1u << 20);
  Result<KernelTable> big = KernelTable::holding(hosts(70000));
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->root_bits(), 24);
}

TEST_F(KernelTableTest, NothingStaysMappedBeyondAFewPages) {
  std::vector<TableEntry> list = hosts(100000);
  Result<KernelTable> table = KernelTable::holding(list);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->mapped_pages(), 0u) << "after the build";
  for (const TableEntry &e : {list[0], list[99999]}) {
    Result<std::optional<std::uint32_t>> slot = table->lookup(e.range.network);
    ASSERT_TRUE(slot);
    EXPECT_EQ(*slot, e.slot);
  }
  // A /1 rewrites half the root: 32 MiB of it, mapped while it is written.
  Result<bool> wide = table->insert({{0x80000000, 1}, 200000});
  ASSERT_TRUE(wide && *wide);
  EXPECT_LE(table->mapped_pages(), kTablePagesKeptMapped)
      << "after a wide insert";
  EXPECT_EQ(table->lookup(0x80000002).value(), 200000u);
  ASSERT_TRUE(table->remove({0x80000000, 1}, std::nullopt));
  EXPECT_LE(table->mapped_pages(), kTablePagesKeptMapped)
      << "after a wide remove";
  EXPECT_EQ(table->lookup(0x80000002).value(), std::nullopt);
  EXPECT_EQ(table->lookup(list[5].range.network).value(), list[5].slot);
}

} // namespace
} // namespace xdpgate
