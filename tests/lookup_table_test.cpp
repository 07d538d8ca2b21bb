// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The IPv4 lookup table in memory: whatever ranges it holds, nested or
// not, and whatever changes it went through, it answers every address as
// longest-prefix match over the listed ranges does. (The kernel side, the
// same table read by the XDP program, is lookup_differential_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "datapath/lookup_table.hpp"

namespace xdpgate {
namespace {

template <typename Cells> typename Cells::Address mask(std::uint8_t length) {
  using Address = typename Cells::Address;
  return length == 0 ? 0 : ~Address{0} << (Cells::kBits - length);
}

// Longest-prefix match by brute force: one map per length.
template <typename Cells> class Reference {
public:
  using Address = typename Cells::Address;
  using Range = BasicTableRange<Cells>;
  using Entry = BasicTableEntry<Cells>;

  void add(const Entry &e) {
    by_length_[e.range.length][e.range.network] = e.slot;
  }
  void remove(Range r) { by_length_[r.length].erase(r.network); }
  bool has(Range r) const { return by_length_[r.length].count(r.network) != 0; }

  // The longest listed range that holds `address`.
  std::optional<Entry> longest(Address address) const {
    return longest_within(address, Cells::kBits);
  }
  // The longest listed range that contains `r`, other than itself.
  std::optional<Entry> heir(Range r) const {
    return longest_within(r.network, r.length - 1);
  }

private:
  // The longest listed range of at most `max_length` bits holding `address`.
  std::optional<Entry> longest_within(Address address, int max_length) const {
    for (int length = max_length; length >= 0; --length) {
      auto l = static_cast<std::uint8_t>(length);
      auto it = by_length_[l].find(address & mask<Cells>(l));
      if (it != by_length_[l].end())
        return Entry{{address & mask<Cells>(l), l}, it->second};
    }
    return std::nullopt;
  }

  std::map<Address, std::uint32_t> by_length_[Cells::kBits + 1];
};

template <typename Cells>
typename Cells::Address random_address(std::mt19937 &rng) {
  typename Cells::Address a = 0;
  for (unsigned bits = 0; bits < Cells::kBits; bits += 32)
    a = static_cast<typename Cells::Address>(a << 16 << 16 | rng());
  return a;
}

// Nested ranges of every length around a few hundred clusters, so that
// ranges cover, split and sit inside each other, and lone ranges away from
// them (which, in an IPv6 table, are leaves).
template <typename Cells>
std::vector<BasicTableEntry<Cells>>
nested_list(std::mt19937 &rng, std::size_t count, Reference<Cells> &reference) {
  using Address = typename Cells::Address;
  std::vector<Address> clusters(300);
  for (auto &c : clusters)
    c = random_address<Cells>(rng);
  std::vector<BasicTableEntry<Cells>> out;
  std::uniform_int_distribution<int> length(0, Cells::kBits);
  while (out.size() < count) {
    auto l = static_cast<std::uint8_t>(length(rng));
    if (l < 4 && rng() % 8 != 0)
      continue; // few very wide ranges, as in real lists
    Address near =
        rng() % 4 == 0
            ? random_address<Cells>(rng)
            : clusters[rng() % clusters.size()] ^
                  (random_address<Cells>(rng) >> (rng() % Cells::kBits));
    BasicTableRange<Cells> r{near & mask<Cells>(l), l};
    if (reference.has(r))
      continue;
    BasicTableEntry<Cells> e{r, static_cast<std::uint32_t>(out.size())};
    reference.add(e);
    out.push_back(e);
  }
  return out;
}

// Addresses at every range's edges, just outside them, and random ones.
template <typename Cells>
std::vector<typename Cells::Address>
probes(std::mt19937 &rng, const std::vector<BasicTableEntry<Cells>> &entries) {
  using Address = typename Cells::Address;
  std::vector<Address> out;
  for (const auto &e : entries) {
    Address first = e.range.network;
    Address last = first | ~mask<Cells>(e.range.length);
    for (Address a :
         {first, last, first - 1, last + 1,
          first + (random_address<Cells>(rng) & ~mask<Cells>(e.range.length))})
      out.push_back(a);
  }
  for (int i = 0; i < 20000; ++i)
    out.push_back(random_address<Cells>(rng));
  return out;
}

struct Memory {
  explicit Memory(std::uint64_t count) : rows(count), view(rows) {}
  std::vector<xdpgate_table_row> rows;
  RowsInMemory view;
};

std::string address_text(std::uint32_t a) {
  return std::to_string(a >> 24) + '.' + std::to_string(a >> 16 & 255) + '.' +
         std::to_string(a >> 8 & 255) + '.' + std::to_string(a & 255);
}

std::string address_text(Uint128 a) {
  char text[40];
  std::snprintf(text, sizeof text, "%016llx%016llx",
                static_cast<unsigned long long>(a >> 64),
                static_cast<unsigned long long>(a));
  return text;
}

template <typename Cells>
void expect_same_answers(const BasicLookupTable<Cells> &table,
                         const Reference<Cells> &reference,
                         const std::vector<typename Cells::Address> &addresses,
                         const char *when) {
  std::size_t wrong = 0;
  for (auto a : addresses) {
    // The table's slot, and a bound that the range owning it meets.
    std::optional<TableMatch> got = table.match(a);
    std::optional<BasicTableEntry<Cells>> want = reference.longest(a);
    bool same = got.has_value() == want.has_value() &&
                (!got || (got->slot == want->slot &&
                          want->range.length <= got->longest));
    if (!same && ++wrong <= 5)
      ADD_FAILURE() << when << ": address " << address_text(a) << " table "
                    << (got ? std::to_string(got->slot) + " (at most /" +
                                  std::to_string(got->longest) + ")"
                            : "none")
                    << " reference "
                    << (want ? std::to_string(want->slot) + " (/" +
                                   std::to_string(want->range.length) + ")"
                             : "none");
  }
  EXPECT_EQ(wrong, 0u) << when << ", of " << addresses.size() << " probes";
}

template <typename Cells>
void answers_as_longest_prefix_match(std::uint8_t root_bits) {
  std::mt19937 rng(20261204 + root_bits + Cells::kBits);
  Reference<Cells> reference;
  auto entries = nested_list(rng, 5000, reference);
  // Inserted in list order, not by length: longer ranges come first too.
  RowsOnHeap rows(1u << 24);
  BasicLookupTable<Cells> table(rows, root_bits);
  for (const auto &e : entries)
    ASSERT_TRUE(table.insert(e));
  auto addresses = probes(rng, entries);
  expect_same_answers(table, reference, addresses, "after the inserts");

  // Churn: covering and covered ranges leave, nested and covering ones
  // arrive, a range leaves and comes back with another slot.
  std::shuffle(entries.begin(), entries.end(), rng);
  std::vector left(entries.begin(), entries.begin() + 2000);
  for (const auto &e : left) {
    reference.remove(e.range);
    table.remove(e.range, reference.heir(e.range));
  }
  expect_same_answers(table, reference, addresses, "after the removes");
  auto arrivals = nested_list(rng, 1500, reference);
  for (auto &e : arrivals) {
    e.slot += 100000;
    reference.add(e);
    ASSERT_TRUE(table.insert(e));
  }
  for (std::size_t i = 0; i < 500; ++i) {
    auto back = left[i];
    if (reference.has(back.range))
      continue; // an arrival took it
    back.slot += 200000;
    reference.add(back);
    ASSERT_TRUE(table.insert(back));
  }
  auto more = probes(rng, arrivals);
  addresses.insert(addresses.end(), more.begin(), more.end());
  expect_same_answers(table, reference, addresses, "after the churn");
}

class LookupTableAnswers : public ::testing::TestWithParam<std::uint8_t> {};

TEST_P(LookupTableAnswers, AsLongestPrefixMatchThroughInsertsAndRemoves) {
  answers_as_longest_prefix_match<Ipv4Cells>(GetParam());
}

TEST_P(LookupTableAnswers, ForIpv6WithLeavesAsLongestPrefixMatchToo) {
  answers_as_longest_prefix_match<Ipv6Cells>(GetParam());
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
    Reference<Ipv4Cells> reference;
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

// A range alone in its root block costs one row, its leaf, however long.
TEST(LookupTable6, ALoneRangeTakesOneLeaf) {
  Memory memory(LookupTable6::fixed_rows(16) + 1);
  LookupTable6 table(memory.view, 16);
  const Uint128 net = Uint128{0x20010db800010002} << 64;
  ASSERT_TRUE(table.insert({{net, 64}, 4}));
  EXPECT_EQ(table.rows_used(), LookupTable6::fixed_rows(16) + 1);
  EXPECT_EQ(table.lookup(net | 1), 4u);
  EXPECT_EQ(table.lookup(net - 1), std::nullopt);
  EXPECT_EQ(table.lookup(net + (Uint128{1} << 64)), std::nullopt);
}

// A second range in the leaf's block splits it into groups, down to where
// the two part, and each then has its own leaf (or the first keeps its own).
TEST(LookupTable6, ASecondRangeInTheBlockNeedsRoomForTheSplitOrWritesNothing) {
  const Uint128 net = Uint128{0x20010db800010002} << 64;
  // Parts from the first at its 41st bit: the /16 root's block splits at
  // 16, 20, ..., 40 (seven groups), and the new range gets a leaf.
  const Uint128 near = net ^ (Uint128{1} << (128 - 41));
  Memory memory(LookupTable6::fixed_rows(16) + 1 + 7);
  LookupTable6 table(memory.view, 16);
  ASSERT_TRUE(table.insert({{net, 64}, 4}));
  std::vector<xdpgate_table_row> before = memory.rows;
  EXPECT_FALSE(table.insert({{near, 48}, 5}));
  EXPECT_EQ(0, std::memcmp(before.data(), memory.rows.data(),
                           before.size() * sizeof(xdpgate_table_row)));
  Memory roomy(LookupTable6::fixed_rows(16) + 1 + 8);
  LookupTable6 room(roomy.view, 16);
  ASSERT_TRUE(room.insert({{net, 64}, 4}));
  ASSERT_TRUE(room.insert({{near, 48}, 5}));
  EXPECT_EQ(room.rows_used(), LookupTable6::fixed_rows(16) + 1 + 8);
  EXPECT_EQ(room.lookup(net), 4u);
  EXPECT_EQ(room.lookup(near | 7), 5u);
  room.remove({net, 64}, std::nullopt);
  EXPECT_EQ(room.lookup(net), std::nullopt);
  EXPECT_EQ(room.lookup(near), 5u);
}

TEST(LookupTable, RootFitsTheList) {
  EXPECT_EQ(LookupTable::root_bits_for(0), 16);
  EXPECT_EQ(LookupTable::root_bits_for(65535), 16);
  EXPECT_EQ(LookupTable::root_bits_for(65536), 24);
}

} // namespace
} // namespace xdpgate
