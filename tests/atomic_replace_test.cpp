// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The atomicity proof of SPEC §1: while one thread judges frames without
// pause, another replaces the whole list back and forth between two lists.
// Every verdict must belong to one of them: a source both lists allow is
// never dropped, a source neither allows is never passed.
#include <atomic>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <random>
#include <thread>

#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

// Filler keeps each rebuild long enough for many frames to race it.
std::vector<IpPrefix> filler(std::uint8_t second_octet) {
  std::vector<IpPrefix> out;
  for (int third = 0; third < 256; ++third)
    for (int fourth = 0; fourth < 20; ++fourth)
      out.push_back(prefix("100." + std::to_string(second_octet) + "." +
                           std::to_string(third) + "." +
                           std::to_string(fourth)));
  return out;
}

std::vector<IpPrefix> list_a() {
  // 10.0.0.0/8 whole; 2001:db8:a::/48 whole.
  std::vector<IpPrefix> l =
      prefixes({"10.0.0.0/8", "2001:db8:a::/48", "198.51.100.1", "203.0.113.7",
                "192.0.2.0/24"});
  std::vector<IpPrefix> more = filler(1);
  l.insert(l.end(), more.begin(), more.end());
  return l;
}

std::vector<IpPrefix> list_b() {
  // The same address space split in halves: a non-atomic switch would have a
  // moment where 10.1.1.1 is in neither. A host of each list lies in a
  // range of the other: IPv4 hosts are only in the host table, so a switch
  // of the host table apart from the lookup table could lose them.
  std::vector<IpPrefix> l = prefixes(
      {"10.0.0.0/9", "10.128.0.0/9", "2001:db8:a::/49", "2001:db8:a:8000::/49",
       "198.51.100.2", "203.0.113.0/24", "192.0.2.9"});
  std::vector<IpPrefix> more = filler(2);
  l.insert(l.end(), more.begin(), more.end());
  return l;
}

struct Probe {
  const char *description;
  std::vector<std::uint8_t> frame;
  bool in_a;
  bool in_b;
};

class AtomicReplace : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
  }
};

TEST_F(AtomicReplace, EveryVerdictBelongsToTheOldOrTheNewList) {
  DataPathOptions options;
  options.capacity = 8192;
  DataPath path = load_data_path(options);
  DesiredState a, b;
  a.config.mode = b.config.mode = Mode::Enforce;
  a.allow = list_a();
  b.allow = list_b();
  ASSERT_TRUE(path.sync(a));

  const std::vector<Probe> probes = {
      {"in both (v4)", Frame::ipv4("10.1.1.1").tcp(22).bytes(), true, true},
      {"in both (v4, upper half)", Frame::ipv4("10.200.1.1").tcp(22).bytes(),
       true, true},
      {"in both (v6)", Frame::ipv6("2001:db8:a::1").tcp(22).bytes(), true,
       true},
      {"in both (v6, upper half)",
       Frame::ipv6("2001:db8:a:9000::1").tcp(22).bytes(), true, true},
      {"only in A", Frame::ipv4("198.51.100.1").tcp(22).bytes(), true, false},
      {"only in B", Frame::ipv4("198.51.100.2").tcp(22).bytes(), false, true},
      {"in neither", Frame::ipv4("198.51.100.3").tcp(22).bytes(), false, false},
      {"a host in A, in a range in B",
       Frame::ipv4("203.0.113.7").tcp(22).bytes(), true, true},
      {"in a range in A, a host in B", Frame::ipv4("192.0.2.9").tcp(22).bytes(),
       true, true},
      {"in neither (v6)", Frame::ipv6("2001:db8:b::1").tcp(22).bytes(), false,
       false},
  };

  std::atomic<bool> done{false};
  std::atomic<int> replaces{0};
  std::thread replacer([&] {
    for (int i = 0; i < 60; ++i) {
      if (!path.sync(i % 2 == 0 ? b : a))
        break;
      replaces++;
    }
    done = true;
  });

  std::size_t runs = 0, wrong = 0;
  std::vector<std::size_t> passed(probes.size()), dropped(probes.size());
  while (!done) {
    for (std::size_t i = 0; i < probes.size(); ++i, ++runs) {
      int action = run_action(path, probes[i].frame);
      bool pass = action == XDP_PASS;
      (pass ? passed : dropped)[i]++;
      bool allowed_somewhere = probes[i].in_a || probes[i].in_b;
      bool allowed_everywhere = probes[i].in_a && probes[i].in_b;
      if ((pass && !allowed_somewhere) || (!pass && allowed_everywhere)) {
        ++wrong;
        ADD_FAILURE() << probes[i].description << " got " << action_name(action)
                      << " during replace " << replaces.load();
      }
    }
  }
  replacer.join();
  ASSERT_EQ(replaces.load(), 60) << "every replace must succeed";
  EXPECT_EQ(wrong, 0u) << "out of " << runs << " verdicts";
  EXPECT_GT(runs, 1000u);
  // The race was real: the sources in only one list saw both verdicts.
  EXPECT_GT(passed[4], 0u);
  EXPECT_GT(dropped[4], 0u);
  EXPECT_GT(passed[5], 0u);
  EXPECT_GT(dropped[5], 0u);
}

// Changes made in place (the API's adds, deletes, disables) race packets
// too: the ranges that come and go are nested in a /16 that stays, so
// 10.1.2.3 is allowed before and after every change, and must never be
// dropped while the lookup table's cells and groups are rewritten. /28s
// added meanwhile (each a group of its own) make the table outgrow its
// rows, so it is also rebuilt and swapped under the probes.
TEST_F(AtomicReplace,
       EveryVerdictDuringInPlaceChangesBelongsToTheListBeforeOrAfter) {
  constexpr int kRounds = 200; // of 40 /28s and 10 nested changes
  DataPathOptions options;
  options.capacity = 8192;
  DataPath path = load_data_path(options);
  ASSERT_TRUE(path.apply(enforcing(), {}, {prefixes({"10.1.0.0/16"}), {}}));
  Fd outer = program_map(path, "allow_v4_table");
  auto live_table = [&] {
    std::uint32_t slot = 0, id = 0;
    EXPECT_EQ(bpf_map_lookup_elem(outer.get(), &slot, &id), 0);
    return id;
  };
  const std::uint32_t first_table = live_table();

  const std::vector<Probe> probes = {
      {"covered by the /16 that stays", Frame::ipv4("10.1.2.3").tcp(22).bytes(),
       true, true},
      {"covered by the /16 that stays, next door",
       Frame::ipv4("10.1.2.4").tcp(22).bytes(), true, true},
      {"covered only by the /8 that comes and goes",
       Frame::ipv4("10.2.0.1").tcp(22).bytes(), true, false},
      {"in no range", Frame::ipv4("192.0.2.1").tcp(22).bytes(), false, false},
  };
  const std::vector<IpPrefix> nested = prefixes(
      {"10.0.0.0/8", "10.1.2.0/24", "10.1.2.0/28", "10.1.2.3", "10.1.2.2/31"});

  std::atomic<bool> done{false};
  std::atomic<int> changes{0};
  std::thread changer([&] {
    std::mt19937 rng(42);
    std::vector<bool> listed(nested.size());
    for (int round = 0; round < kRounds; ++round) {
      AllowListChange change;
      for (int block = 0; block < 40; ++block)
        change.added.push_back(
            prefix("100." + std::to_string(64 + round % 64) + "." +
                   std::to_string(block + 40 * (round / 64)) + ".16/28"));
      if (!path.apply(enforcing(), {}, change))
        break;
      for (int toggle = 0; toggle < 10; ++toggle) {
        std::size_t i = rng() % nested.size();
        AllowListChange one;
        (listed[i] ? one.removed : one.added).push_back(nested[i]);
        listed[i] = !listed[i];
        if (!path.apply(enforcing(), {}, one))
          return done.store(true);
        changes++;
      }
    }
    done = true;
  });

  std::size_t runs = 0, wrong = 0;
  std::vector<std::size_t> passed(probes.size()), dropped(probes.size());
  while (!done) {
    for (std::size_t i = 0; i < probes.size(); ++i, ++runs) {
      bool pass = run_action(path, probes[i].frame) == XDP_PASS;
      (pass ? passed : dropped)[i]++;
      if (pass != probes[i].in_a && probes[i].in_a == probes[i].in_b &&
          ++wrong <= 5)
        ADD_FAILURE() << probes[i].description << " got "
                      << (pass ? "XDP_PASS" : "XDP_DROP") << " after "
                      << changes.load() << " changes";
    }
  }
  changer.join();
  ASSERT_EQ(changes.load(), 10 * kRounds) << "every change must succeed";
  EXPECT_EQ(wrong, 0u) << "out of " << runs << " verdicts";
  // The race was real: the /8 came and went under the probes, and the
  // table outgrew its rows at least once.
  EXPECT_GT(passed[2], 0u);
  EXPECT_GT(dropped[2], 0u);
  EXPECT_NE(live_table(), first_table);
}

TEST_F(AtomicReplace, ASingleChangeIsVisibleWhenSyncReturns) {
  DataPath path = load_data_path();
  DesiredState d;
  d.config.mode = Mode::Enforce;
  d.allow = prefixes({"10.0.0.0/8"});
  ASSERT_TRUE(path.sync(d));
  auto frame = Frame::ipv4("198.51.100.7").tcp(22).bytes();
  EXPECT_EQ(run_action(path, frame), XDP_DROP);
  d.allow.push_back(prefix("198.51.100.7"));
  ASSERT_TRUE(path.sync(d));
  EXPECT_EQ(run_action(path, frame), XDP_PASS);
  d.allow.pop_back();
  ASSERT_TRUE(path.sync(d));
  EXPECT_EQ(run_action(path, frame), XDP_DROP);
}

TEST_F(AtomicReplace, AListOverCapacityIsRefusedAndNothingChanges) {
  DataPathOptions options;
  options.capacity = 4;
  DataPath path = load_data_path(options);
  DesiredState d;
  d.config.mode = Mode::Enforce;
  d.allow = prefixes({"10.0.0.1", "10.0.0.2"});
  ASSERT_TRUE(path.sync(d));
  d.allow =
      prefixes({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"});
  Status refused = path.sync(d);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::CapacityExceeded);
  EXPECT_EQ(path.allow_list(), prefixes({"10.0.0.1", "10.0.0.2"}));
}

} // namespace
} // namespace xdpgate::test
