// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A single host entry lives in two kernel tables, the record and the exact-host
// table, written one after the other. A daemon killed between the two writes
// leaves them disagreeing on that host, and the store without the change (it
// commits after the kernel sync). The next start re-opens the pinned maps and
// syncs them to the store: that, and any later change of that host, must
// still work.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "support/frame.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

constexpr const char *kNet = "198.51.100.0/24";
constexpr const char *kHost = "203.0.113.7";

class InterruptedHostChange : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    pins_ = "/sys/fs/bpf/xdpgate-gtest-interrupted-" + std::to_string(getpid());
    std::filesystem::remove_all(pins_);
    options_.capacity = 64;
    options_.pin_dir = pins_;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(pins_, ec);
  }

  static DesiredState enforcing(const std::vector<std::string> &allow) {
    DesiredState d;
    d.config.mode = Mode::Enforce;
    d.allow = prefixes(allow);
    return d;
  }

  // Removes kHost from the pinned IPv4 host table only, behind the daemon's
  // back: what a kill between the record write and the host-table write leaves.
  void drop_host_from_host_table() const {
    Fd outer(bpf_obj_get((pins_ / "allow_v4_hosts").c_str()));
    ASSERT_TRUE(outer.valid());
    std::uint32_t slot = 0, inner_id = 0;
    ASSERT_EQ(bpf_map_lookup_elem(outer.get(), &slot, &inner_id), 0);
    Fd inner(bpf_map_get_fd_by_id(inner_id));
    ASSERT_TRUE(inner.valid());
    const std::uint8_t host[4] = {203, 0, 113, 7};
    ASSERT_EQ(bpf_map_delete_elem(inner.get(), host), 0);
  }

  int action_for(const DataPath &path, const char *source) const {
    return run_action(path, Frame::ipv4(source).tcp(22).bytes());
  }

  std::filesystem::path pins_;
  DataPathOptions options_;
};

TEST_F(InterruptedHostChange,
       AddKilledBetweenTheTwoTablesStillLetsTheDaemonStart) {
  {
    DataPath path = load_data_path(options_);
    ASSERT_TRUE(path.sync(enforcing({kNet})));
    ASSERT_TRUE(path.sync(enforcing({kNet, kHost}))); // record, then host table
    drop_host_from_host_table();
  }
  // Restart: the add was never committed, so the store says {kNet}.
  DataPath path = load_data_path(options_);
  Status synced = path.sync(enforcing({kNet}));
  ASSERT_TRUE(synced) << synced.error().message;
  EXPECT_EQ(action_for(path, kHost), XDP_DROP);
  EXPECT_EQ(action_for(path, "198.51.100.1"), XDP_PASS);
}

TEST_F(InterruptedHostChange, DeleteKilledBetweenTheTwoTablesCanBeRepeated) {
  {
    DataPath path = load_data_path(options_);
    ASSERT_TRUE(path.sync(enforcing({kNet, kHost})));
    // The delete takes the host table first, then the record: killed between.
    drop_host_from_host_table();
  }
  // Restart: the delete was never committed, so the store still has kHost.
  DataPath path = load_data_path(options_);
  ASSERT_TRUE(path.sync(enforcing({kNet, kHost})));
  EXPECT_EQ(action_for(path, kHost), XDP_PASS); // the record still has it
  // The operator deletes it again.
  Status synced = path.sync(enforcing({kNet}));
  ASSERT_TRUE(synced) << synced.error().message;
  EXPECT_EQ(action_for(path, kHost), XDP_DROP);
}

} // namespace
} // namespace xdpgate::test
