// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The IPv4 lookup table in memory: whatever ranges it holds, nested or
// not, and whatever changes it went through, it answers every address as
// longest-prefix match over the listed ranges does. (The kernel side, the
// same table read by the XDP program, is lookup_differential_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "datapath/lookup_table.hpp"

namespace xdpgate {
namespace {

std::uint32_t mask(std::uint8_t length) {
  return length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
}

// Longest-prefix match by brute force: one map per length.
class Reference {
public:
  void add(const TableEntry &e) {
    by_length_[e.range.length][e.range.network] = e.slot;
  }
  void remove(TableRange r) { by_length_[r.length].erase(r.network); }
  bool has(TableRange r) const {
    return by_length_[r.length].count(r.network) != 0;
  }

  std::optional<std::uint32_t> lookup(std::uint32_t address) const {
    for (int length = 32; length >= 0; --length) {
      const auto &ranges = by_length_[length];
      auto it = ranges.find(address & mask(static_cast<std::uint8_t>(length)));
      if (it != ranges.end())
        return it->second;
    }
    return std::nullopt;
  }
  // The longest listed range that contains `r`, other than itself.
  std::optional<TableEntry> heir(TableRange r) const {
    for (int length = r.length - 1; length >= 0; --length) {
      auto l = static_cast<std::uint8_t>(length);
      auto it = by_length_[l].find(r.network & mask(l));
      if (it != by_length_[l].end())
        return TableEntry{{r.network & mask(l), l}, it->second};
    }
    return std::nullopt;
  }

private:
  std::map<std::uint32_t, std::uint32_t> by_length_[33];
};

// Nested ranges of every length around a few hundred clusters, so that
// ranges cover, split and sit inside each other.
std::vector<TableEntry> nested_list(std::mt19937 &rng, std::size_t count,
                                    Reference &reference) {
  std::vector<std::uint32_t> clusters(300);
  for (auto &c : clusters)
    c = rng();
  std::vector<TableEntry> out;
  std::uniform_int_distribution<int> length(0, 32);
  while (out.size() < count) {
    auto l = static_cast<std::uint8_t>(length(rng));
    if (l < 4 && rng() % 8 != 0)
      continue; // few very wide ranges, as in real lists
    std::uint32_t near =
        clusters[rng() % clusters.size()] ^ (rng() >> (rng() % 32));
    TableRange r{near & mask(l), l};
    if (reference.has(r))
      continue;
    TableEntry e{r, static_cast<std::uint32_t>(out.size())};
    reference.add(e);
    out.push_back(e);
  }
  return out;
}

// Addresses at every range's edges, just outside them, and random ones.
std::vector<std::uint32_t> probes(std::mt19937 &rng,
                                  const std::vector<TableEntry> &entries) {
  std::vector<std::uint32_t> out;
  for (const TableEntry &e : entries) {
    std::uint32_t first = e.range.network;
    std::uint32_t last = first | ~mask(e.range.length);
    for (std::uint32_t a :
         {first, last, first - 1, last + 1,
          first + (static_cast<std::uint32_t>(rng()) & ~mask(e.range.length))})
      out.push_back(a);
  }
  for (int i = 0; i < 20000; ++i)
    out.push_back(rng());
  return out;
}

struct Memory {
  explicit Memory(std::uint64_t count) : rows(count), view(rows) {}
  std::vector<xdpgate_table_row> rows;
  RowsInMemory view;
};

void expect_same_answers(const LookupTable &table, const Reference &reference,
                         const std::vector<std::uint32_t> &addresses,
                         const char *when) {
  std::size_t wrong = 0;
  for (std::uint32_t a : addresses)
    if (table.lookup(a) != reference.lookup(a) && ++wrong <= 5)
      ADD_FAILURE() << when << ": address " << (a >> 24) << '.'
                    << (a >> 16 & 255) << '.' << (a >> 8 & 255) << '.'
                    << (a & 255) << " table " << table.lookup(a).value_or(~0u)
                    << " reference " << reference.lookup(a).value_or(~0u);
  EXPECT_EQ(wrong, 0u) << when << ", of " << addresses.size() << " probes";
}

class LookupTableAnswers : public ::testing::TestWithParam<std::uint8_t> {};

TEST_P(LookupTableAnswers, AsLongestPrefixMatchThroughInsertsAndRemoves) {
  const std::uint8_t root_bits = GetParam();
  std::mt19937 rng(20261204 + root_bits);
  Reference reference;
  std::vector<TableEntry> entries = nested_list(rng, 5000, reference);
  // Inserted in list order, not by length: longer ranges come first too.
  Memory memory(LookupTable::rows_for(root_bits, entries) + 20000);
  LookupTable table(memory.view, root_bits);
  for (const TableEntry &e : entries)
    ASSERT_TRUE(table.insert(e));
  std::vector<std::uint32_t> addresses = probes(rng, entries);
  expect_same_answers(table, reference, addresses, "after the inserts");

  // Churn: covering and covered ranges leave, nested and covering ones
  // arrive, a range leaves and comes back with another slot.
  std::shuffle(entries.begin(), entries.end(), rng);
  std::vector<TableEntry> left(entries.begin(), entries.begin() + 2000);
  for (const TableEntry &e : left) {
    reference.remove(e.range);
    table.remove(e.range, reference.heir(e.range));
  }
  expect_same_answers(table, reference, addresses, "after the removes");
  std::vector<TableEntry> arrivals = nested_list(rng, 1500, reference);
  for (TableEntry &e : arrivals) {
    e.slot += 100000;
    reference.add(e);
    ASSERT_TRUE(table.insert(e));
  }
  for (std::size_t i = 0; i < 500; ++i) {
    TableEntry back = left[i];
    if (reference.has(back.range))
      continue; // an arrival took it
    back.slot += 200000;
    reference.add(back);
    ASSERT_TRUE(table.insert(back));
  }
  std::vector<std::uint32_t> more = probes(rng, arrivals);
  addresses.insert(addresses.end(), more.begin(), more.end());
  expect_same_answers(table, reference, addresses, "after the churn");
}

INSTANTIATE_TEST_SUITE_P(RootBits, LookupTableAnswers,
                         ::testing::Values(16, 24));

TEST(LookupTable, ZeroLengthRangeCoversEverythingAndLeavesNothing) {
  Memory memory(LookupTable::rows_for(16, {}) + 16);
  LookupTable table(memory.view, 16);
  EXPECT_EQ(table.lookup(0x0a000001), std::nullopt);
  ASSERT_TRUE(table.insert({{0, 0}, 7}));
  ASSERT_TRUE(table.insert({{0x0a000001, 32}, 8}));
  EXPECT_EQ(table.lookup(0xffffffff), 7u);
  EXPECT_EQ(table.lookup(0x0a000001), 8u);
  EXPECT_EQ(table.lookup(0x0a000002), 7u);
  table.remove({0, 0}, std::nullopt);
  EXPECT_EQ(table.lookup(0x0a000002), std::nullopt);
  EXPECT_EQ(table.lookup(0x0a000001), 8u);
  table.remove({0x0a000001, 32}, std::nullopt);
  EXPECT_EQ(table.lookup(0x0a000001), std::nullopt);
}

TEST(LookupTable, RowsForIsExactlyWhatTheInsertsTake) {
  for (std::uint8_t root_bits : {16, 24}) {
    std::mt19937 rng(7 + root_bits);
    Reference reference;
    std::vector<TableEntry> entries = nested_list(rng, 3000, reference);
    std::uint64_t rows = LookupTable::rows_for(root_bits, entries);
    Memory memory(rows);
    LookupTable table(memory.view, root_bits);
    for (const TableEntry &e : entries)
      ASSERT_TRUE(table.insert(e)) << "root " << int{root_bits};
    EXPECT_EQ(table.rows_used(), rows) << "root " << int{root_bits};
  }
}

TEST(LookupTable, InsertWithoutRoomForItsGroupsWritesNothing) {
  Memory memory(LookupTable::rows_for(16, {}) + 2);
  LookupTable table(memory.view, 16);
  ASSERT_TRUE(table.insert({{0x0a000000, 8}, 1}));
  std::vector<xdpgate_table_row> before = memory.rows;
  // A /32 below a 16-bit root needs four groups; two rows are free.
  EXPECT_FALSE(table.insert({{0x0a000001, 32}, 2}));
  EXPECT_EQ(0, std::memcmp(before.data(), memory.rows.data(),
                           before.size() * sizeof(xdpgate_table_row)));
  EXPECT_EQ(table.lookup(0x0a000001), 1u);
  // A /24 needs two: it fits.
  EXPECT_TRUE(table.insert({{0x0a000100, 24}, 3}));
  EXPECT_EQ(table.lookup(0x0a000101), 3u);
}

TEST(LookupTable, RootFitsTheList) {
  EXPECT_EQ(LookupTable::root_bits_for(0), 16);
  EXPECT_EQ(LookupTable::root_bits_for(65535), 16);
  EXPECT_EQ(LookupTable::root_bits_for(65536), 24);
}

} // namespace
} // namespace xdpgate
