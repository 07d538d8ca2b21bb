// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A new entry's counters start at zero: clearing a slot for it writes every
// slot that may hold counts (one handed out before, or any slot of an array
// an earlier process left), and leaves alone the slots of a new array that
// no entry has had, whose counters are zero already.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "datapath/entry_stats.hpp"
#include "xdpgate/abi.h"

namespace xdpgate::test {
namespace {

constexpr std::uint32_t kSlots = 8;

class EntryStatsTest : public ::testing::Test {
protected:
  EntryStatsTest()
      : array_(bpf_map_create(BPF_MAP_TYPE_ARRAY, "entry_stats_test",
                              sizeof(std::uint32_t),
                              sizeof(xdpgate_entry_stats), kSlots, nullptr)) {}

  void SetUp() override {
    ASSERT_TRUE(array_.valid()) << "creating an array map failed (root?)";
  }

  // What packets do to an entry's slot.
  void count(std::uint32_t slot, std::uint64_t packets) {
    xdpgate_entry_stats stats{packets, 12345};
    ASSERT_EQ(bpf_map_update_elem(array_.get(), &slot, &stats, BPF_ANY), 0);
  }

  std::uint64_t packets(const EntryStats &stats, std::uint32_t slot) {
    return stats.read(slot).value_or(EntryHits{~0ull, 0}).packets;
  }

  Fd array_;
};

TEST_F(EntryStatsTest, ASlotHandedOutAgainStartsAtZero) {
  EntryStats stats(array_.get(), kSlots, /*fresh=*/true);
  ASSERT_TRUE(stats.clear({3}));
  count(3, 7);
  ASSERT_TRUE(stats.clear({3, 4}));
  EXPECT_EQ(packets(stats, 3), 0u);
  EXPECT_EQ(stats.read(3)->last_hit_ns, 0u);
}

TEST_F(EntryStatsTest, TheSlotOfAnEntryReadBackStartsAtZeroForTheNextOne) {
  EntryStats stats(array_.get(), kSlots, /*fresh=*/true);
  count(5, 7); // counted by an entry a restarted daemon read back
  stats.in_use(5);
  ASSERT_TRUE(stats.clear({5}));
  EXPECT_EQ(packets(stats, 5), 0u);
}

TEST_F(EntryStatsTest, EverySlotOfAnAdoptedArrayIsCleared) {
  for (std::uint32_t slot = 0; slot < kSlots; ++slot)
    count(slot, slot + 1);
  EntryStats stats(array_.get(), kSlots, /*fresh=*/false);
  ASSERT_TRUE(stats.clear({0, 6}));
  EXPECT_EQ(packets(stats, 0), 0u);
  EXPECT_EQ(packets(stats, 6), 0u);
  EXPECT_EQ(packets(stats, 1), 2u) << "a slot not handed out is not written";
}

TEST_F(EntryStatsTest, ANewArraysUnusedSlotsAreNotWritten) {
  // Marked as no zeroed slot can be: a write would wipe it.
  count(2, 99);
  EntryStats stats(array_.get(), kSlots, /*fresh=*/true);
  ASSERT_TRUE(stats.clear({2}));
  EXPECT_EQ(packets(stats, 2), 99u);
}

} // namespace
} // namespace xdpgate::test
