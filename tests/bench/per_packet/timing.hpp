// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Timing programs through BPF_PROG_TEST_RUN, and keeping the kernel's BPF
// run statistics off while doing so (they add ~45 ns to every run here).
//
// run_warm: one frame, `repeat` runs in one call; the kernel reports the
// mean ns per run (opts.duration), measured around its own loop, so the
// syscall is outside it. run_each_once: a set of frames, one run per call;
// opts.duration is then the kernel's time for that single run, which still
// includes a clock read and the bottom-half toggling around the program,
// and follows a syscall that has pushed the program's data out of the
// caches and TLB: the bare XDP_DROP program measured the same way shows
// how much of it is the method.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xdpgate::bench {

// Frames of equal size, back to back.
struct FrameSet {
  std::size_t frame_size = 0;
  std::vector<std::uint8_t> bytes;

  std::size_t size() const {
    return frame_size ? bytes.size() / frame_size : 0;
  }
  const std::uint8_t *frame(std::size_t i) const {
    return bytes.data() + i * frame_size;
  }
  void add(const std::vector<std::uint8_t> &frame);
};

struct WarmRun {
  double kernel_ns = 0; // opts.duration: the kernel's mean ns per run
  double wall_ns = 0;   // the whole syscall by CLOCK_MONOTONIC / repeat
  std::uint32_t action = 0;
};

// Runs one frame `repeat` times in one BPF_PROG_TEST_RUN call.
WarmRun run_warm(int prog_fd, const std::uint8_t *frame, std::size_t size,
                 std::uint32_t repeat);

// Runs every frame once, one call each; returns the kernel's ns per frame.
// Throws if any frame's action differs from `expected_action`.
std::vector<double> run_each_once(int prog_fd, const FrameSet &frames,
                                  std::uint32_t expected_action,
                                  const std::string &what);

double median(std::vector<double> values);

// Records kernel.bpf_stats_enabled, sets it to 0, and restores it when
// destroyed, and on SIGINT, SIGTERM, SIGHUP and SIGQUIT.
class BpfStatsOff {
public:
  BpfStatsOff();
  ~BpfStatsOff();
  BpfStatsOff(const BpfStatsOff &) = delete;
  BpfStatsOff &operator=(const BpfStatsOff &) = delete;

  int original() const { return original_; }

private:
  int original_ = 0;
};

} // namespace xdpgate::bench
