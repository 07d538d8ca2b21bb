// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The lookup table in a kernel map: it is built with the root its list
// calls for, answers as LookupTable does, and never stays mapped into the
// daemon whole (which would count the table, kernel memory, a second time
// in the daemon's resident set: 140 MiB at a million entries).
#include <gtest/gtest.h>

#include <algorithm>
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

// The slot `table` names for `address`; a row that cannot be read fails
// the test.
template <typename Cells>
std::optional<std::uint32_t> slot_of(const KernelTable<Cells> &table,
                                     typename Cells::Address address) {
  Result<std::optional<TableMatch>> found = table.match(address);
  if (!found) {
    ADD_FAILURE() << found.error().message;
    return std::nullopt;
  }
  return *found ? std::optional((*found)->slot) : std::nullopt;
}

std::vector<TableEntry> hosts(std::size_t count) {
  std::mt19937 rng(5);
  std::vector<TableEntry> out;
  for (std::uint32_t i = 0; i < count; ++i)
    out.push_back({{static_cast<std::uint32_t>(rng()) | 1, 32}, i});
  return out;
}

TEST_F(KernelTableTest, ASmallListGetsASmallRootAndABigOneTheWideRoot) {
  Result<KernelTable<Ipv4Cells>> small =
      KernelTable<Ipv4Cells>::holding(hosts(10));
  ASSERT_TRUE(small) << small.error().message;
  EXPECT_EQ(small->root_bits(), 16);
  EXPECT_LT(small->rows() * sizeof(xdpgate_table_row), 1u << 20);
  Result<KernelTable<Ipv4Cells>> big =
      KernelTable<Ipv4Cells>::holding(hosts(70000));
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->root_bits(), 24);
}

TEST_F(KernelTableTest, NothingStaysMappedBeyondAFewPages) {
  std::vector<TableEntry> list = hosts(100000);
  Result<KernelTable<Ipv4Cells>> table = KernelTable<Ipv4Cells>::holding(list);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->mapped_pages(), 0u) << "after the build";
  for (const TableEntry &e : {list[0], list[99999]}) {
    EXPECT_EQ(slot_of(*table, e.range.network), e.slot);
  }
  // A /1 rewrites half the root: 32 MiB of it, mapped while it is written.
  Result<bool> wide = table->insert({{0x80000000, 1}, 200000});
  ASSERT_TRUE(wide && *wide);
  EXPECT_LE(table->mapped_pages(), kTablePagesKeptMapped)
      << "after a wide insert";
  EXPECT_EQ(slot_of(*table, 0x80000002), 200000u);
  ASSERT_TRUE(table->remove({0x80000000, 1}, std::nullopt));
  EXPECT_LE(table->mapped_pages(), kTablePagesKeptMapped)
      << "after a wide remove";
  EXPECT_EQ(slot_of(*table, 0x80000002), std::nullopt);
  EXPECT_EQ(slot_of(*table, list[5].range.network), list[5].slot);
}

// An IPv6 table is built on the heap, then copied into a map of the size
// it took, with room to grow: a lone /64 costs its leaf, and the table
// answers and changes in place as the IPv4 one does.
TEST_F(KernelTableTest, AnIpv6TableTakesTheRowsItsBuildTookAndRoomToGrow) {
  std::mt19937_64 rng(6);
  std::vector<TableEntry6> list;
  for (std::uint32_t i = 0; i < 70000; ++i)
    list.push_back({{Uint128{rng() | 1} << 64, 64}, i});
  Result<KernelTable<Ipv6Cells>> table = KernelTable<Ipv6Cells>::holding(list);
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->root_bits(), 24);
  EXPECT_EQ(table->mapped_pages(), 0u) << "after the build";
  const std::uint64_t fixed = LookupTable6::fixed_rows(24);
  // Random /64s part within their first 24 bits, or soon after.
  EXPECT_GE(table->rows_used(), fixed + list.size());
  EXPECT_LT(table->rows_used(), fixed + 2 * list.size());
  const std::uint64_t used = table->rows_used();
  EXPECT_EQ(table->rows(),
            used + std::max<std::uint64_t>(4096, (used - fixed) / 8));
  for (const TableEntry6 &e : {list[0], list[69999]}) {
    EXPECT_EQ(slot_of(*table, e.range.network | 0xffff), e.slot);
  }
  const Uint128 wide = Uint128{0x2001} << 112;
  Result<bool> added = table->insert({{wide, 16}, 90000});
  ASSERT_TRUE(added && *added);
  EXPECT_EQ(slot_of(*table, wide | 5), 90000u);
  ASSERT_TRUE(table->remove({wide, 16}, std::nullopt));
  EXPECT_EQ(slot_of(*table, wide | 5), std::nullopt);
  EXPECT_LE(table->mapped_pages(), kTablePagesKeptMapped);
}

} // namespace
} // namespace xdpgate
