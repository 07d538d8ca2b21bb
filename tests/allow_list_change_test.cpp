// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Changes to the kernel allow list (DataPath::apply): an ordinary change
// edits the live tables, so its cost follows the change and not the list; an
// atomic change of more than one range swaps in a new table; a change and its
// inverse undo each other; ranges that stay keep their counters.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "common/fd.hpp"
#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

std::vector<std::uint8_t> from(const std::string &source) {
  return Frame::ipv4(source).tcp(22).bytes();
}

class AllowListChangeTest : public LoadedProgramTest {
protected:
  AllowListChangeTest() : LoadedProgramTest("xdpgate-change-test-") {}

  std::uint32_t live_v4_trie() const { return live_table("allow_v4"); }

  std::uint32_t live_v4_host_table_size() const {
    Fd table(bpf_map_get_fd_by_id(live_table("allow_v4_hosts")));
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(table.get(), &info, &length), 0);
    return info.max_entries;
  }
};

TEST_F(AllowListChangeTest, AnOrdinaryChangeEditsTheLiveTable) {
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/8", "198.51.100.1"}), {}, false}));
  std::uint32_t live = live_v4_trie();
  ASSERT_TRUE(apply({prefixes({"198.51.100.2", "192.0.2.0/24"}),
                     prefixes({"198.51.100.1"}), false}));
  EXPECT_EQ(live_v4_trie(), live);
  EXPECT_EQ(path_->allow_list(),
            prefixes({"10.0.0.0/8", "192.0.2.0/24", "198.51.100.2"}));
  EXPECT_EQ(run_action(*path_, from("198.51.100.1")), XDP_DROP);
  EXPECT_EQ(run_action(*path_, from("198.51.100.2")), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from("192.0.2.77")), XDP_PASS);
}

TEST_F(AllowListChangeTest, AnAtomicChangeOfSeveralRangesSwapsInANewTable) {
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/8"}), {}, false}));
  std::uint32_t before = live_v4_trie();
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/9", "10.128.0.0/9"}),
                     prefixes({"10.0.0.0/8"}), true}));
  EXPECT_NE(live_v4_trie(), before);
  EXPECT_EQ(path_->allow_list(), prefixes({"10.0.0.0/9", "10.128.0.0/9"}));
  EXPECT_EQ(run_action(*path_, from("10.200.0.1")), XDP_PASS);
}

TEST_F(AllowListChangeTest, TheInverseChangeRestoresTheList) {
  std::vector<IpPrefix> hosts;
  for (int i = 1; i <= 200; ++i)
    hosts.push_back(prefix("100.64.0." + std::to_string(i)));
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/8", "2001:db8:a::/48"}), {}, false}));
  AllowListChange change{hosts, prefixes({"2001:db8:a::/48"}), false};
  ASSERT_TRUE(apply(change));
  EXPECT_EQ(run_action(*path_, from("100.64.0.150")), XDP_PASS);
  std::swap(change.added, change.removed);
  ASSERT_TRUE(apply(change));
  EXPECT_EQ(path_->allow_list(), prefixes({"10.0.0.0/8", "2001:db8:a::/48"}));
  EXPECT_EQ(run_action(*path_, from("100.64.0.150")), XDP_DROP);
  // Undoing again (as after a failure that applied nothing) changes nothing.
  ASSERT_TRUE(apply(change));
  EXPECT_EQ(path_->allow_list(), prefixes({"10.0.0.0/8", "2001:db8:a::/48"}));
}

TEST_F(AllowListChangeTest, ARangeThatLeavesAndEntersStaysWithItsCounter) {
  ASSERT_TRUE(apply({prefixes({"198.51.100.9"}), {}, false}));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(run_action(*path_, from("198.51.100.9")), XDP_PASS);
  for (bool atomic : {false, true}) {
    ASSERT_TRUE(apply(
        {prefixes({"198.51.100.9"}), prefixes({"198.51.100.9"}), atomic}));
    auto hits = path_->entry_hits(prefix("198.51.100.9"));
    ASSERT_TRUE(hits);
    EXPECT_EQ(hits->packets, 3u) << (atomic ? "atomic" : "in place");
  }
}

// A change may name a range twice, or remove one that is not listed: each
// range is changed once, and unlisted ones are left alone.
TEST_F(AllowListChangeTest, RepeatedAndUnlistedRangesChangeTheListOnce) {
  ASSERT_TRUE(apply(
      {prefixes({"10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32"}), {}, false}));
  for (bool atomic : {false, true}) {
    SCOPED_TRACE(atomic ? "atomic" : "in place");
    ASSERT_TRUE(apply({prefixes({"198.51.100.0/24", "198.51.100.0/24"}),
                       prefixes({"10.0.0.0/8", "10.0.0.0/8", "203.0.113.0/24",
                                 "2001:db8::/32", "2001:db8::/32"}),
                       atomic}));
    EXPECT_EQ(path_->allow_list(),
              prefixes({"192.0.2.0/24", "198.51.100.0/24"}));
    EXPECT_EQ(run_action(*path_, from("10.1.2.3")), XDP_DROP);
    EXPECT_EQ(run_action(*path_, from("198.51.100.7")), XDP_PASS);
    // Back as it was, for the other kind of change.
    ASSERT_TRUE(apply({prefixes({"10.0.0.0/8", "2001:db8::/32"}),
                       prefixes({"198.51.100.0/24"}), false}));
  }
}

// The batched read of every entry's statistics answers what one read per
// entry does, for both families; it leaves out the ranges with no hits.
TEST_F(AllowListChangeTest, AllHitsAnswersWhatEachEntryCounted) {
  ASSERT_TRUE(
      apply({prefixes({"198.51.100.9", "10.0.0.0/8", "2001:db8:a::/48"}),
             {},
             false}));
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(run_action(*path_, from("198.51.100.9")), XDP_PASS);
  ASSERT_EQ(run_action(*path_, from("10.1.2.3")), XDP_PASS);
  ASSERT_EQ(run_action(*path_, Frame::ipv6("2001:db8:a::1").tcp(22).bytes()),
            XDP_PASS);
  ASSERT_TRUE(apply({prefixes({"2001:db8:b::/48"}), {}, false}));
  auto all = path_->all_hits();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 3u) << "2001:db8:b::/48 has no hits";
  for (const auto &[range, hits] : *all) {
    auto one = path_->entry_hits(range);
    ASSERT_TRUE(one) << range.to_string();
    EXPECT_EQ(hits.packets, one->packets) << range.to_string();
    EXPECT_EQ(hits.last_hit_ns, one->last_hit_ns) << range.to_string();
  }
  EXPECT_EQ(path_->entry_hits(prefix("198.51.100.9"))->packets, 2u);
  EXPECT_EQ(path_->entry_hits(prefix("2001:db8:a::/48"))->packets, 1u);
  EXPECT_EQ(path_->entry_hits(prefix("2001:db8:b::/48"))->packets, 0u);
}

// The host table is sized to its addresses, not to the capacity (a small
// table keeps lookups of new sources in the cache), and grows as they come.
TEST_F(AllowListChangeTest, TheHostTableGrowsWithItsAddresses) {
  EXPECT_LT(live_v4_host_table_size(), 4096u);
  std::vector<std::string> texts;
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<IpPrefix> hosts;
    for (int i = 0; i < 1000; ++i) {
      texts.push_back("100.64." + std::to_string(batch * 4 + i / 256) + "." +
                      std::to_string(i % 256));
      hosts.push_back(prefix(texts.back()));
    }
    ASSERT_TRUE(apply({hosts, {}, false}));
  }
  EXPECT_GE(live_v4_host_table_size(), 3000u);
  EXPECT_EQ(path_->allow_list().size(), 3000u);
  for (std::size_t i = 0; i < texts.size(); i += 97) {
    ASSERT_EQ(run_action(*path_, from(texts[i])), XDP_PASS) << texts[i];
    EXPECT_EQ(path_->entry_hits(prefix(texts[i]))->packets, 1u) << texts[i];
  }
}

// A host table made anew costs an insert of every host and, its elements
// preallocated, a stall while the kernel fills its free list: a replace
// changes the live one in place while it has room for both lists' hosts,
// and makes a larger one only when not.
TEST_F(AllowListChangeTest, AReplaceKeepsTheHostTableWhileItHasRoom) {
  auto hosts_in = [](const char *net, int count) {
    std::vector<IpPrefix> out;
    for (int i = 0; i < count; ++i)
      out.push_back(prefix(std::string(net) + std::to_string(i / 256) + "." +
                           std::to_string(i % 256)));
    return out;
  };
  std::vector<IpPrefix> a = hosts_in("100.64.", 10);
  std::vector<IpPrefix> b = hosts_in("100.65.", 10);
  ASSERT_TRUE(apply({a, {}, false}));
  std::uint32_t live = live_table("allow_v4_hosts");
  ASSERT_TRUE(apply({b, a, true}));
  EXPECT_EQ(live_table("allow_v4_hosts"), live);
  EXPECT_EQ(run_action(*path_, from("100.65.0.3")), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from("100.64.0.3")), XDP_DROP);
  EXPECT_EQ(path_->entry_hits(prefix("100.65.0.3"))->packets, 1u);

  std::uint32_t room = live_v4_host_table_size();
  std::vector<IpPrefix> c = hosts_in("100.66.", static_cast<int>(room));
  ASSERT_TRUE(apply({c, b, true}));
  EXPECT_NE(live_table("allow_v4_hosts"), live);
  EXPECT_GE(live_v4_host_table_size(), room);
  EXPECT_EQ(run_action(*path_, from("100.66.3.255")), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from("100.65.0.3")), XDP_DROP);
  EXPECT_EQ(path_->allow_list().size(), room);
}

TEST_F(AllowListChangeTest, AChangeOverCapacityIsRefusedAndNothingChanges) {
  DataPathOptions options;
  options.capacity = 4;
  DataPath small = load_data_path(options);
  ASSERT_TRUE(small.apply(enforcing(), {}, {prefixes({"10.0.0.1"}), {}}));
  Status refused = small.apply(
      enforcing(), {},
      {prefixes({"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}), {}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::CapacityExceeded);
  EXPECT_EQ(small.allow_list(), prefixes({"10.0.0.1"}));
}

// What a dry run asks: the same answer as apply(), and nothing written.
TEST_F(AllowListChangeTest, AdmitsAnswersAsApplyWouldWithoutWriting) {
  DataPathOptions options;
  options.capacity = 4;
  DataPath small = load_data_path(options);
  ASSERT_TRUE(small.apply(enforcing(), {}, {prefixes({"10.0.0.1"}), {}}));
  const AllowListChange over = {
      prefixes({"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}), {}};
  Status refused = small.admits(over, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            small.apply(enforcing(), {}, over).error().message);
  // One leaves as four enter: it fits.
  EXPECT_TRUE(
      small.admits({prefixes({"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}),
                    prefixes({"10.0.0.1"})},
                   false));
  // As the whole list (at start), four fit and five do not.
  EXPECT_TRUE(small.admits(over, true));
  EXPECT_FALSE(small.admits(
      {prefixes({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}),
       {}},
      true));
  EXPECT_EQ(small.allow_list(), prefixes({"10.0.0.1"}));
}

} // namespace
} // namespace xdpgate::test
