// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The index of each listed range's slot answers exactly as a map would,
// through any mix of inserts and erases: erasing from the middle of a run of
// colliding ranges keeps every other range of the run found.
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <vector>

#include "datapath/slot_index.hpp"

namespace xdpgate::test {
namespace {

IpPrefix v4(std::uint32_t address, std::uint8_t length = 32) {
  IpPrefix p;
  p.family = Family::V4;
  p.length = length;
  for (int i = 0; i < 4; ++i)
    p.addr[i] = static_cast<std::uint8_t>(address >> (24 - 8 * i));
  return p.widened_to(length);
}

std::map<IpPrefix, std::uint32_t> contents(const SlotIndex &index) {
  std::map<IpPrefix, std::uint32_t> out;
  for (const auto &[range, slot] : index)
    EXPECT_TRUE(out.emplace(range, slot).second) << range.to_string();
  return out;
}

TEST(SlotIndex, FindsWhatWasInsertedAndNothingElse) {
  SlotIndex index;
  EXPECT_FALSE(index.find(v4(1)));
  EXPECT_FALSE(index.erase(v4(1)));
  EXPECT_TRUE(index.insert(v4(0xC6120000, 15), 7));
  EXPECT_TRUE(index.insert(v4(0xC6120001), 8));
  EXPECT_FALSE(index.insert(v4(0xC6120001), 9)) << "listed once";
  EXPECT_EQ(index.find(v4(0xC6120000, 15)), 7u);
  EXPECT_EQ(index.find(v4(0xC6120001)), 8u);
  EXPECT_FALSE(index.find(v4(0xC6120000, 16))) << "another length";
  EXPECT_EQ(index.size(), 2u);
  EXPECT_TRUE(index.erase(v4(0xC6120001)));
  EXPECT_FALSE(index.find(v4(0xC6120001)));
  EXPECT_EQ(index.size(), 1u);
}

TEST(SlotIndex, AgreesWithAMapThroughRandomInsertsAndErases) {
  // A few hundred ranges, so the table stays small and runs of colliding
  // ranges are common; every step checked, the whole contents now and then.
  std::mt19937 rng(20261205);
  SlotIndex index;
  std::map<IpPrefix, std::uint32_t> expected;
  for (int step = 0; step < 200000; ++step) {
    IpPrefix range = v4(0xC6120000 + static_cast<std::uint32_t>(rng() % 300));
    std::uint32_t slot = static_cast<std::uint32_t>(rng() % 1000000);
    switch (rng() % 3) {
    case 0:
    case 1:
      ASSERT_EQ(index.insert(range, slot), expected.emplace(range, slot).second)
          << "step " << step << ": insert " << range.to_string();
      break;
    default:
      ASSERT_EQ(index.erase(range), expected.erase(range) == 1)
          << "step " << step << ": erase " << range.to_string();
    }
    auto listed = expected.find(range);
    ASSERT_EQ(index.find(range), listed == expected.end()
                                     ? std::nullopt
                                     : std::optional(listed->second))
        << "step " << step << ": " << range.to_string();
    ASSERT_EQ(index.size(), expected.size());
    if (step % 997 == 0) {
      ASSERT_EQ(contents(index), expected) << "step " << step;
    }
  }
}

TEST(SlotIndex, IsBuiltFromEntriesAndGrowsWithoutLosingAny) {
  std::vector<PrefixSlot> entries;
  for (std::uint32_t i = 0; i < 5000; ++i)
    entries.push_back({v4(0x0A000000 + (i << 8), 24), i});
  SlotIndex index(entries);
  for (std::uint32_t i = 0; i < 50000; ++i)
    ASSERT_TRUE(index.insert(v4(0xC6120000 + i), 5000 + i));
  EXPECT_EQ(index.size(), 55000u);
  for (const PrefixSlot &entry : entries)
    EXPECT_EQ(index.find(entry.range), entry.slot);
  for (std::uint32_t i = 0; i < 50000; ++i)
    ASSERT_EQ(index.find(v4(0xC6120000 + i)), 5000 + i);
}

} // namespace
} // namespace xdpgate::test
