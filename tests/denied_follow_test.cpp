// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The live view of denied packets in the kernel (BPF_PROG_TEST_RUN): while
// following, each denied packet is one event in the ring buffer, within the
// per-CPU budget of one window; while not following, or for a packet that
// passes, none. And the daemon's reader hands an event on within a second.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "datapath/denied_events.hpp"
#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

constexpr std::uint16_t kPort = 22;

class DeniedFollowTest : public LoadedProgramTest {
protected:
  DeniedFollowTest() : LoadedProgramTest("xg-follow-") {}

  void SetUp() override {
    LoadedProgramTest::SetUp();
    if (IsSkipped())
      return;
    ring_ = ring_buffer__new(path_->denied_events_fd(), &collect, &events_,
                             nullptr);
    ASSERT_NE(ring_, nullptr);
    ASSERT_TRUE(apply({prefixes({"192.0.2.0/24"}), {}, false}).ok());
  }

  void TearDown() override {
    ring_buffer__free(ring_);
    LoadedProgramTest::TearDown();
  }

  static int collect(void *ctx, void *data, std::size_t size) {
    auto *events = static_cast<std::vector<DeniedEvent> *>(ctx);
    if (auto event = decode_denied_event(data, size))
      events->push_back(*event);
    return 0;
  }

  void follow(bool on, Mode mode = Mode::Enforce) {
    RuntimeConfig config = enforcing();
    config.mode = mode;
    config.follow_denied = on;
    ASSERT_TRUE(path_->apply(config, {}, {}).ok());
  }

  // `frame` `times` times in one test run: one CPU, well within one window.
  void run(const std::vector<std::uint8_t> &frame, std::uint32_t times = 1) {
    run_action(*path_, frame, times);
  }

  // Every event the ring buffer holds now.
  std::vector<DeniedEvent> drain() {
    events_.clear();
    EXPECT_GE(ring_buffer__consume(ring_), 0);
    return events_;
  }

  ring_buffer *ring_ = nullptr;
  std::vector<DeniedEvent> events_;
};

TEST_F(DeniedFollowTest, NotFollowingADeniedPacketWritesNoEvent) {
  ASSERT_TRUE(path_->set_follow_limit(100).ok());
  follow(false);
  run(Frame::ipv4("203.0.113.9").tcp(kPort).bytes(), 10);
  EXPECT_TRUE(drain().empty());
}

TEST_F(DeniedFollowTest, FollowingADeniedPacketIsOneEventThatNamesIt) {
  ASSERT_TRUE(path_->set_follow_limit(100).ok());
  follow(true);
  run(Frame::ipv4("203.0.113.9").tcp(kPort).bytes());
  std::vector<DeniedEvent> events = drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].address.to_string(), "203.0.113.9");
  EXPECT_EQ(events[0].verdict, XDPGATE_VERDICT_DROPPED);
  EXPECT_EQ(events[0].protocol, IPPROTO_TCP);
  EXPECT_EQ(events[0].dest_port, std::optional<std::uint16_t>(kPort));
  EXPECT_GT(events[0].at, 0);

  run(Frame::ipv6("2001:db8:9::7").icmpv6(128).bytes());
  events = drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].address.to_string(), "2001:db8:9::7");
  EXPECT_EQ(events[0].protocol, IPPROTO_ICMPV6);
  EXPECT_EQ(events[0].dest_port, std::nullopt);
}

TEST_F(DeniedFollowTest, APacketThatPassesWritesNoEvent) {
  ASSERT_TRUE(path_->set_follow_limit(100).ok());
  follow(true);
  run(Frame::ipv4("192.0.2.7").tcp(kPort).bytes(), 10);
  run(Frame::arp().bytes(), 10);
  EXPECT_TRUE(drain().empty());
}

TEST_F(DeniedFollowTest, InMonitorModeTheEventSaysWouldDrop) {
  ASSERT_TRUE(path_->set_follow_limit(100).ok());
  follow(true, Mode::Monitor);
  run(Frame::ipv4("203.0.113.9").udp(53).bytes());
  std::vector<DeniedEvent> events = drain();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].verdict, XDPGATE_VERDICT_WOULD_DROP);
  EXPECT_EQ(events[0].protocol, IPPROTO_UDP);
}

TEST_F(DeniedFollowTest,
       MoreDeniedPacketsThanTheBudgetInOneWindowGiveTheBudget) {
  ASSERT_TRUE(path_->set_follow_limit(5).ok());
  follow(true);
  run(Frame::ipv4("203.0.113.9").tcp(kPort).bytes(), 1000);
  EXPECT_EQ(drain().size(), 5u);
  // The window is the second: the next one has a budget of its own.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  run(Frame::ipv4("203.0.113.10").tcp(kPort).bytes(), 1000);
  std::vector<DeniedEvent> events = drain();
  EXPECT_EQ(events.size(), 5u);
  for (const DeniedEvent &e : events)
    EXPECT_EQ(e.address.to_string(), "203.0.113.10");
}

TEST_F(DeniedFollowTest, WithoutABudgetNothingIsWritten) {
  ASSERT_TRUE(path_->set_follow_limit(0).ok());
  follow(true);
  run(Frame::ipv4("203.0.113.9").tcp(kPort).bytes(), 10);
  EXPECT_TRUE(drain().empty());
}

TEST_F(DeniedFollowTest, TheReaderHandsAnEventOnWithinASecond) {
  ring_buffer__free(std::exchange(ring_, nullptr));
  ASSERT_TRUE(path_->set_follow_limit(100).ok());
  follow(true);
  std::mutex mutex;
  std::condition_variable came;
  std::vector<DeniedEvent> seen;
  auto reader = DeniedEventReader::start(path_->denied_events_fd(),
                                         [&](const DeniedEvent &event) {
                                           std::lock_guard lock(mutex);
                                           seen.push_back(event);
                                           came.notify_all();
                                         });
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  run(Frame::ipv4("203.0.113.77").tcp(kPort).bytes());
  std::unique_lock lock(mutex);
  ASSERT_TRUE(came.wait_for(lock, std::chrono::seconds(1),
                            [&] { return !seen.empty(); }));
  EXPECT_EQ(seen[0].address.to_string(), "203.0.113.77");
  lock.unlock();
  const auto stop_begins = std::chrono::steady_clock::now();
  reader->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_begins,
            std::chrono::milliseconds(500));
}

} // namespace
} // namespace xdpgate::test
