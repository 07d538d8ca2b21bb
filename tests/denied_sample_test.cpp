// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The denied-source sample of SPEC §1, run through BPF_PROG_TEST_RUN: a
// source that sent one packet is there with 1; counts are exact up to
// XDPGATE_DENIED_EXACT_PACKETS and marked estimates past it; each CPU
// inserts new sources exactly up to its budget per window, then 1 in 2^shift.
// Nothing is listed, so every frame here is denied (enforcing).
#include <bpf/bpf.h>
#include <chrono>
#include <cmath>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <map>
#include <sched.h>
#include <stdexcept>
#include <unistd.h>

#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

const std::uint8_t kDefaultShift = RuntimeConfig{}.denied_sample_shift;

std::vector<std::uint8_t> denied_frame(const std::string &source) {
  return (source.find(':') == std::string::npos ? Frame::ipv4(source)
                                                : Frame::ipv6(source))
      .udp(9)
      .bytes();
}

// The i-th of many distinct sources in 198.18.0.0/15.
std::string nth_source(std::uint32_t i) {
  return "198." + std::to_string(18 + (i >> 16)) + "." +
         std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
}

// Keeps the calling thread on the CPU it runs on, so every test run meets
// the same CPU's insert budget; restores the affinity when done.
class OnOneCpu {
public:
  OnOneCpu() {
    sched_getaffinity(0, sizeof(before_), &before_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    pinned_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~OnOneCpu() { sched_setaffinity(0, sizeof(before_), &before_); }
  bool pinned() const { return pinned_; }

private:
  cpu_set_t before_{};
  bool pinned_ = false;
};

class DeniedSample : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
    path_.emplace(load_data_path());
  }

  // Enforcing, nothing listed, 1 in 2^shift past the exact counts.
  void enforce_with_shift(std::uint8_t shift) {
    DesiredState d;
    d.config.mode = Mode::Enforce;
    d.config.denied_sample_shift = shift;
    ASSERT_TRUE(path_->sync(d));
  }

  std::map<std::string, DeniedSource> sample() const {
    auto sources = path_->denied_sources();
    EXPECT_TRUE(sources);
    std::map<std::string, DeniedSource> out;
    if (sources)
      for (const DeniedSource &s : *sources)
        out[s.address.to_string()] = s;
    return out;
  }

  // Every CPU's budget slot set to `value`.
  void set_budget(const xdpgate_denied_budget &value) {
    Fd budget = program_map(*path_, "denied_budget");
    ASSERT_TRUE(budget.valid());
    std::vector<xdpgate_denied_budget> per_cpu(possible_cpus(), value);
    std::uint32_t zero = 0;
    ASSERT_EQ(bpf_map_update_elem(budget.get(), &zero, per_cpu.data(), BPF_ANY),
              0);
  }

  // This CPU's exact insertions in its current window (tests that read it
  // keep to one CPU).
  std::uint32_t inserted_here() const {
    Fd budget = program_map(*path_, "denied_budget");
    std::vector<xdpgate_denied_budget> per_cpu(possible_cpus());
    std::uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(budget.get(), &zero, per_cpu.data()), 0);
    return per_cpu.at(static_cast<std::size_t>(sched_getcpu())).inserted;
  }

  std::optional<DataPath> path_;
};

TEST_F(DeniedSample, ASourceThatSentOnePacketIsThereWithCountOne) {
  enforce_with_shift(kDefaultShift);
  run_action(*path_, denied_frame("198.51.100.7"), 1);
  run_action(*path_, denied_frame("2001:db8:bad::7"), 1);
  auto seen = sample();
  ASSERT_TRUE(seen.count("198.51.100.7"));
  EXPECT_EQ(seen["198.51.100.7"].packets, 1u);
  EXPECT_FALSE(seen["198.51.100.7"].estimated);
  ASSERT_TRUE(seen.count("2001:db8:bad::7"));
  EXPECT_EQ(seen["2001:db8:bad::7"].packets, 1u);
  EXPECT_GT(seen["2001:db8:bad::7"].last_seen_ns, 0u);
}

TEST_F(DeniedSample, CountsBelowTheThresholdAreExact) {
  enforce_with_shift(kDefaultShift);
  for (std::uint32_t n : {2u, 37u, XDPGATE_DENIED_EXACT_PACKETS - 1u}) {
    SCOPED_TRACE(n);
    std::string source = "198.51.100." + std::to_string(n % 256);
    run_action(*path_, denied_frame(source), n);
    EXPECT_EQ(sample()[source].packets, n);
    EXPECT_FALSE(sample()[source].estimated);
  }
}

TEST_F(DeniedSample, PastTheThresholdTheCountIsAMarkedEstimateNearTheTruth) {
  enforce_with_shift(kDefaultShift);
  const std::uint64_t truth = XDPGATE_DENIED_EXACT_PACKETS + 100000;
  run_action(*path_, denied_frame("203.0.113.9"), truth);
  DeniedSource s = sample()["203.0.113.9"];
  EXPECT_TRUE(s.estimated);
  // 100,000 packets sampled 1 in 64 with weight 64: a standard deviation of
  // about 2,500, so 12% of the truth is over four of them.
  EXPECT_NEAR(static_cast<double>(s.packets), static_cast<double>(truth),
              0.12 * static_cast<double>(truth));
  EXPECT_EQ((s.packets - XDPGATE_DENIED_EXACT_PACKETS) % 64, 0u)
      << "past the threshold, packets come in weights of 64";
}

TEST_F(DeniedSample, ARateOfOneCountsEveryPacketExactlyPastTheThreshold) {
  enforce_with_shift(0);
  const std::uint64_t truth = 3 * XDPGATE_DENIED_EXACT_PACKETS + 5;
  run_action(*path_, denied_frame("203.0.113.10"), truth);
  DeniedSource s = sample()["203.0.113.10"];
  EXPECT_EQ(s.packets, truth);
  EXPECT_FALSE(s.estimated);
}

TEST_F(DeniedSample, NewSourcesPastThePerCpuBudgetAreInsertedOneInTheRate) {
  enforce_with_shift(kDefaultShift);
  OnOneCpu cpu;
  ASSERT_TRUE(cpu.pinned());
  const std::uint32_t budget = XDPGATE_DENIED_NEW_SOURCES_PER_WINDOW;
  const std::uint32_t past = 64 * 60; // about 60 of them sampled in
  auto start = std::chrono::steady_clock::now();
  for (std::uint32_t i = 0; i < budget + past; ++i)
    run_action(*path_, denied_frame(nth_source(i)), 1);
  ASSERT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::nanoseconds(XDPGATE_DENIED_WINDOW_NS))
      << "the sources must all arrive within one window";

  auto seen = sample();
  std::size_t exact = 0, sampled = 0;
  for (std::uint32_t i = 0; i < budget + past; ++i) {
    auto it = seen.find(nth_source(i));
    if (it == seen.end())
      continue;
    if (i < budget) {
      ++exact;
      EXPECT_EQ(it->second.packets, 1u) << it->first;
      EXPECT_FALSE(it->second.estimated) << it->first;
    } else {
      ++sampled;
      EXPECT_EQ(it->second.packets, 64u) << it->first << ": weighted";
      EXPECT_TRUE(it->second.estimated) << it->first;
    }
  }
  EXPECT_EQ(exact, budget) << "the budget's sources are all there, exactly";
  EXPECT_EQ(inserted_here(), budget);
  // Binomial(3840, 1/64): mean 60, standard deviation under 8.
  EXPECT_GE(sampled, 20u);
  EXPECT_LE(sampled, 100u);
}

TEST_F(DeniedSample, AnExhaustedBudgetRenewsWithTheNextWindow) {
  enforce_with_shift(kDefaultShift);
  OnOneCpu cpu;
  ASSERT_TRUE(cpu.pinned());
  // Spent, in a window that began just now...
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  std::uint64_t now_ns = static_cast<std::uint64_t>(now.tv_sec) * 1000000000u +
                         static_cast<std::uint64_t>(now.tv_nsec);
  set_budget({now_ns, XDPGATE_DENIED_NEW_SOURCES_PER_WINDOW, 0});
  enforce_with_shift(20); // 1 in a million: nothing is sampled in
  run_action(*path_, denied_frame("198.51.100.20"), 1);
  EXPECT_FALSE(sample().count("198.51.100.20"));
  // ... and in a window that is over: the next new source is exact again.
  set_budget({now_ns - XDPGATE_DENIED_WINDOW_NS,
              XDPGATE_DENIED_NEW_SOURCES_PER_WINDOW, 0});
  run_action(*path_, denied_frame("198.51.100.21"), 1);
  ASSERT_TRUE(sample().count("198.51.100.21"));
  EXPECT_EQ(sample()["198.51.100.21"].packets, 1u);
  EXPECT_EQ(inserted_here(), 1u);
}

// An xdpgated from before `estimated` pinned a sample of 16-byte values;
// libbpf cannot reuse it, so the load replaces it instead of failing.
class DeniedSamplePins : public LoadedProgramTest {
protected:
  DeniedSamplePins() : LoadedProgramTest("xdpgate-denied-pins-") {}

  static void pin_old_layout(const std::filesystem::path &pin) {
    std::filesystem::create_directories(pin.parent_path());
    Fd old(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "denied_sources",
                          sizeof(xdpgate_source_key), 16, 4096, nullptr));
    ASSERT_TRUE(old.valid());
    ASSERT_EQ(bpf_obj_pin(old.get(), pin.c_str()), 0);
  }

  static std::uint32_t value_size(const std::filesystem::path &pin) {
    Fd fd(bpf_obj_get(pin.c_str()));
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    if (!fd.valid() || bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
      return 0;
    return info.value_size;
  }
};

TEST_F(DeniedSamplePins, AnOlderLayoutsPinnedSampleIsReplacedOnLoad) {
  path_.reset();
  std::filesystem::remove_all(pins_);
  pin_old_layout(pins_ / "denied_sources");
  Result<DataPath> loaded = DataPath::load(options_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(value_size(pins_ / "denied_sources"), sizeof(xdpgate_source_stats));

  pin_old_layout(pins_ / "eth9" / "denied_sources");
  auto program = loaded->load_interface_program(pins_ / "eth9");
  ASSERT_TRUE(program) << program.error().message;
  EXPECT_EQ(value_size(pins_ / "eth9" / "denied_sources"),
            sizeof(xdpgate_source_stats));
  path_.emplace(std::move(loaded.value()));
}

} // namespace
} // namespace xdpgate::test
