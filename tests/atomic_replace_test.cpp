// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The atomicity proof of SPEC §1: while one thread judges frames without
// pause, another replaces the whole list back and forth between two lists.
// Every verdict must belong to one of them: a source both lists allow is
// never dropped, a source neither allows is never passed.
#include <atomic>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <thread>

#include "support/frame.hpp"
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
      prefixes({"10.0.0.0/8", "2001:db8:a::/48", "198.51.100.1"});
  std::vector<IpPrefix> more = filler(1);
  l.insert(l.end(), more.begin(), more.end());
  return l;
}

std::vector<IpPrefix> list_b() {
  // The same address space split in halves: a non-atomic switch would have a
  // moment where 10.1.1.1 is in neither.
  std::vector<IpPrefix> l =
      prefixes({"10.0.0.0/9", "10.128.0.0/9", "2001:db8:a::/49",
                "2001:db8:a:8000::/49", "198.51.100.2"});
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
