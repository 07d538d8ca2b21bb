// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The "cold" measurement: a program run with a different source address on
// every run, back to back in the kernel's BPF_PROG_TEST_RUN loop, through
// tests/bench/bpf/rotate_source.bpf.c, which rewrites the frame's source
// and tail-calls the program under test.
#pragma once

#include <memory>
#include <vector>

#include "net/ip_prefix.hpp"
#include "per_packet/timing.hpp"

struct rotate_source_bpf;

namespace xdpgate::bench {

class SourceRotator {
public:
  // Cycles through `sources` (full-length prefixes of one family).
  SourceRotator(Family family, const std::vector<IpPrefix> &sources);

  // Runs `prog_fd` `repeat` times behind the rotator, starting at the first
  // source, on `frame` (a frame of the rotator's family).
  WarmRun run(int prog_fd, const std::vector<std::uint8_t> &frame,
              std::uint32_t repeat);
  std::size_t size() const { return size_; }

private:
  struct Deleter {
    void operator()(rotate_source_bpf *skel) const;
  };
  std::unique_ptr<rotate_source_bpf, Deleter> skel_;
  std::size_t size_ = 0;
};

} // namespace xdpgate::bench
