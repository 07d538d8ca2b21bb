// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What a restarted daemon reads back from the pins: each family's entries
// come from its record (IPv4: a row per slot, whatever capacity the new
// process has; IPv6: a row per entry, grown with the list), and from the
// tries an xdpgate before the records pinned them in; the host table is made
// to agree with them.
#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "common/fd.hpp"
#include "datapath/lpm_key.hpp"
#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"
#include "xdpgate/abi.h"

namespace xdpgate::test {
namespace {

class EntryMapTest : public LoadedProgramTest {
protected:
  EntryMapTest() : LoadedProgramTest("xdpgate-entry-map-test-") {}

  // Loads the program again on the same pins, as a restarted daemon does.
  void restart() {
    path_.reset();
    path_.emplace(load_data_path(options_));
    ASSERT_TRUE(apply({})); // writes the configuration: enforcing
  }

  bpf_map_info live_info(const char *outer_name) const {
    Fd live(bpf_map_get_fd_by_id(live_table(outer_name)));
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(live.get(), &info, &length), 0);
    return info;
  }

  int verdict_from(const std::string &source) const {
    Frame frame = source.find(':') == std::string::npos ? Frame::ipv4(source)
                                                        : Frame::ipv6(source);
    return run_action(*path_, frame.tcp(22).bytes());
  }

  // Pins, as allow_v4 or allow_v6, an outer map holding an LPM trie of
  // `entries` (range, slot), as an xdpgate before the records did.
  void pin_legacy_trie(
      Family family,
      const std::vector<std::pair<const char *, std::uint32_t>> &entries) {
    LIBBPF_OPTS(bpf_map_create_opts, trie_opts, .map_flags = BPF_F_NO_PREALLOC);
    Fd trie(bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "old_trie",
                           lpm_key_size(family), sizeof(xdpgate_allow_value),
                           options_.capacity, &trie_opts));
    ASSERT_TRUE(trie.valid());
    for (const auto &[range, slot] : entries) {
      LpmKey key = lpm_key(prefix(range));
      xdpgate_allow_value value{slot};
      ASSERT_EQ(bpf_map_update_elem(trie.get(), key.bytes.data(), &value, 0),
                0);
    }
    pin_outer_holding(family == Family::V4 ? "allow_v4" : "allow_v6", trie);
  }

  // Pins, in place of the outer map `name`, one that holds `inner`: what an
  // older xdpgate left.
  void pin_outer_holding(const char *name, const Fd &inner) {
    LIBBPF_OPTS(bpf_map_create_opts, opts,
                .inner_map_fd = static_cast<__u32>(inner.get()));
    Fd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "old_outer",
                            sizeof(std::uint32_t), sizeof(std::uint32_t), 1,
                            &opts));
    ASSERT_TRUE(outer.valid());
    std::uint32_t slot0 = 0;
    int inner_fd = inner.get();
    ASSERT_EQ(bpf_map_update_elem(outer.get(), &slot0, &inner_fd, 0), 0);
    const std::string pin = (pins_ / name).string();
    ASSERT_EQ(::unlink(pin.c_str()), 0);
    ASSERT_EQ(bpf_obj_pin(outer.get(), pin.c_str()), 0);
  }
};

TEST_F(EntryMapTest, ARestartReadsTheListAndItsCountersBack) {
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/8", "10.1.0.0/16", "198.51.100.7",
                               "2001:db8:a::/48"}),
                     {},
                     false}));
  ASSERT_EQ(verdict_from("10.1.2.3"), XDP_PASS);
  ASSERT_TRUE(apply({{}, prefixes({"10.1.0.0/16"}), false}));
  restart();
  EXPECT_EQ(path_->allow_list(),
            prefixes({"10.0.0.0/8", "198.51.100.7", "2001:db8:a::/48"}));
  EXPECT_EQ(path_->entry_hits(prefix("10.0.0.0/8"))->packets, 0u);
  EXPECT_EQ(verdict_from("10.1.2.3"), XDP_PASS);
  EXPECT_EQ(path_->entry_hits(prefix("10.0.0.0/8"))->packets, 1u);
  EXPECT_EQ(verdict_from("198.51.100.7"), XDP_PASS);
  EXPECT_EQ(verdict_from("198.51.100.8"), XDP_DROP);
  EXPECT_EQ(verdict_from("2001:db8:a::1"), XDP_PASS);
  EXPECT_EQ(path_->entry_hits(prefix("2001:db8:a::/48"))->packets, 1u);
  bpf_map_info record = live_info("allow_v4");
  EXPECT_EQ(record.type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(record.max_entries, 2 * options_.capacity);
  // IPv6: sized to the list, not to the capacity.
  bpf_map_info record6 = live_info("allow_v6");
  EXPECT_EQ(record6.type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(record6.value_size, sizeof(xdpgate_v6_record));
  EXPECT_EQ(record6.max_entries, 1024u);
}

// Counters an entry left in a slot before a restart are not the next
// entry's: the restarted daemon cannot tell which free slots hold counts.
TEST_F(EntryMapTest, ANewEntryAfterARestartStartsAtZeroWhereAnOldOneCounted) {
  ASSERT_TRUE(apply({prefixes({"198.51.100.7"}), {}, false}));
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(verdict_from("198.51.100.7"), XDP_PASS);
  ASSERT_TRUE(apply({{}, prefixes({"198.51.100.7"}), false}));
  restart();
  // Every slot is free: the new entry takes the first, as the old one did.
  ASSERT_TRUE(apply({prefixes({"198.51.100.8"}), {}, false}));
  EXPECT_EQ(path_->entry_hits(prefix("198.51.100.8"))->packets, 0u);
  ASSERT_EQ(verdict_from("198.51.100.8"), XDP_PASS);
  EXPECT_EQ(path_->entry_hits(prefix("198.51.100.8"))->packets, 1u);
}

// The IPv6 record has a row per entry: adds in place take free rows, a
// removal frees its row for the next add, and an add that finds too few
// rows gets a larger record holding every entry.
TEST_F(EntryMapTest, TheIPv6RecordGrowsWithTheListAndReusesFreedRows) {
  auto ranges = [](int from, int to) {
    std::vector<IpPrefix> out;
    for (int i = from; i < to; ++i)
      out.push_back(prefix("2001:db8:" + std::to_string(i) + "::/48"));
    return out;
  };
  ASSERT_TRUE(apply({ranges(0, 1000), {}, false}));
  // 1,000 removals and adds, one at a time: the rows go round.
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(apply({ranges(1000 + i, 1001 + i), ranges(i, i + 1), false}));
  EXPECT_EQ(live_info("allow_v6").max_entries, 1024u);
  ASSERT_TRUE(apply({ranges(2000, 2100), {}, false}));
  EXPECT_GE(live_info("allow_v6").max_entries, 1100u);
  restart();
  std::vector<IpPrefix> listed = ranges(1000, 2100);
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(path_->allow_list(), listed);
  EXPECT_EQ(verdict_from("2001:db8:2099::1"), XDP_PASS);
  EXPECT_EQ(verdict_from("2001:db8:999::1"), XDP_DROP);
  // A replace makes a record of the new list's size.
  ASSERT_TRUE(apply({ranges(0, 10), ranges(1000, 2100), true}));
  EXPECT_EQ(live_info("allow_v6").max_entries, 1024u);
  restart();
  EXPECT_EQ(path_->allow_list(), ranges(0, 10));
}

// IPv4 hosts are only in the host table: a process stopped between a host's
// two writes (record, host table) leaves them disagreeing, and a restart
// makes the host table anew from the record.
TEST_F(EntryMapTest, ARestartMakesTheHostTableAgreeWithTheRecord) {
  ASSERT_TRUE(apply({prefixes({"198.51.100.7", "198.51.100.8"}), {}, false}));
  Fd hosts(bpf_map_get_fd_by_id(live_table("allow_v4_hosts")));
  IpPrefix lost = prefix("198.51.100.7");
  ASSERT_EQ(bpf_map_delete_elem(hosts.get(), lost.addr.data()), 0);
  ASSERT_EQ(verdict_from("198.51.100.7"), XDP_DROP);
  restart();
  EXPECT_EQ(verdict_from("198.51.100.7"), XDP_PASS);
  EXPECT_EQ(verdict_from("198.51.100.8"), XDP_PASS);
  EXPECT_EQ(path_->lookup(lost), lost);
}

// A record has a slot for every entry slot: a daemon restarted with a
// larger capacity needs a larger one, with the entries carried over.
TEST_F(EntryMapTest, ALargerCapacityGetsALargerRecordWithTheSameEntries) {
  ASSERT_TRUE(apply({prefixes({"10.0.0.0/8", "198.51.100.7"}), {}, false}));
  options_.capacity *= 2;
  restart();
  EXPECT_EQ(path_->allow_list(), prefixes({"10.0.0.0/8", "198.51.100.7"}));
  EXPECT_EQ(live_info("allow_v4").max_entries, 2 * options_.capacity);
  // Fills every slot the smaller record had, and more.
  std::vector<IpPrefix> hosts;
  for (std::uint32_t i = 0; i < options_.capacity - 2; ++i)
    hosts.push_back(prefix("10." + std::to_string(i >> 8 & 255) + "." +
                           std::to_string(i & 255) + ".1"));
  ASSERT_TRUE(apply({hosts, {}, false}));
  restart();
  EXPECT_EQ(path_->allow_list().size(), options_.capacity);
  EXPECT_EQ(verdict_from("10.0.7.1"), XDP_PASS);
}

// An xdpgate before the records kept each family's entries in an LPM trie
// pinned as allow_v4 and allow_v6. Its program may still be attached: the
// new daemon must start from that list, not from an empty one.
TEST_F(EntryMapTest, AnOlderXdpgatesTriesAreReadIntoTheRecords) {
  path_.reset();
  pin_legacy_trie(
      Family::V4,
      {{"10.0.0.0/8", 5}, {"10.1.0.0/16", 9}, {"198.51.100.7", 11}});
  pin_legacy_trie(Family::V6, {{"2001:db8:a::/48", 7}, {"2001:db8::7", 13}});

  restart();
  EXPECT_EQ(path_->allow_list(),
            prefixes({"10.0.0.0/8", "10.1.0.0/16", "198.51.100.7",
                      "2001:db8:a::/48", "2001:db8::7"}));
  EXPECT_EQ(live_info("allow_v4").type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(live_info("allow_v6").type, BPF_MAP_TYPE_ARRAY);
  EXPECT_EQ(verdict_from("10.1.2.3"), XDP_PASS);
  EXPECT_EQ(verdict_from("10.2.3.4"), XDP_PASS);
  EXPECT_EQ(verdict_from("11.0.0.1"), XDP_DROP);
  EXPECT_EQ(verdict_from("2001:db8:a::1"), XDP_PASS);
  EXPECT_EQ(verdict_from("2001:db8::7"), XDP_PASS);
  EXPECT_EQ(verdict_from("2001:db8:b::1"), XDP_DROP);
  // The entries keep the slots the older daemon gave them, and the new
  // daemon's next entry takes a free one.
  EXPECT_EQ(path_->entry_hits(prefix("10.1.0.0/16"))->packets, 1u);
  EXPECT_EQ(path_->entry_hits(prefix("2001:db8:a::/48"))->packets, 1u);
  ASSERT_TRUE(
      apply({prefixes({"192.0.2.0/24", "2001:db8:c::/48"}), {}, false}));
  EXPECT_EQ(verdict_from("192.0.2.1"), XDP_PASS);
  EXPECT_EQ(verdict_from("2001:db8:c::1"), XDP_PASS);
  EXPECT_EQ(path_->entry_hits(prefix("10.1.0.0/16"))->packets, 1u);
  EXPECT_EQ(path_->entry_hits(prefix("2001:db8:a::/48"))->packets, 1u);
  // And a second restart reads the records it wrote.
  restart();
  EXPECT_EQ(
      path_->allow_list(),
      prefixes({"10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24", "198.51.100.7",
                "2001:db8:a::/48", "2001:db8:c::/48", "2001:db8::7"}));
}

// An xdpgate before preallocated host tables pinned allow_v4_hosts for
// tables of elements allocated one by one, which the new outer map cannot
// take: a restart makes the host table anew from the record.
TEST_F(EntryMapTest, AnOlderXdpgatesHostTableIsMadeAnew) {
  ASSERT_TRUE(apply({prefixes({"198.51.100.7", "10.0.0.0/8"}), {}, false}));
  path_.reset();
  LIBBPF_OPTS(bpf_map_create_opts, old_opts, .map_flags = BPF_F_NO_PREALLOC);
  Fd old_hosts(bpf_map_create(BPF_MAP_TYPE_HASH, "old_hosts", 4,
                              sizeof(xdpgate_allow_value), 1024, &old_opts));
  ASSERT_TRUE(old_hosts.valid());
  const std::uint8_t host[4] = {198, 51, 100, 7};
  xdpgate_allow_value slot{0};
  ASSERT_EQ(bpf_map_update_elem(old_hosts.get(), host, &slot, 0), 0);
  pin_outer_holding("allow_v4_hosts", old_hosts);

  restart();
  EXPECT_EQ(live_info("allow_v4_hosts").map_flags, 0u);
  EXPECT_EQ(verdict_from("198.51.100.7"), XDP_PASS);
  EXPECT_EQ(path_->entry_hits(prefix("198.51.100.7"))->packets, 1u);
  ASSERT_TRUE(apply({prefixes({"198.51.100.8", "198.51.100.9"}), {}, true}));
  EXPECT_EQ(verdict_from("198.51.100.9"), XDP_PASS);
  EXPECT_EQ(verdict_from("198.51.100.10"), XDP_DROP);
}

} // namespace
} // namespace xdpgate::test
