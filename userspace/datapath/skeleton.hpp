// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Ownership of the bpftool-generated skeleton, and readers of the per-program
// maps (verdict counters, denied-source sample) by fd.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

struct xdpgate_bpf;

namespace xdpgate {

struct SkeletonDeleter {
  void operator()(xdpgate_bpf *skel) const;
};
using Skeleton = std::unique_ptr<xdpgate_bpf, SkeletonDeleter>;

struct VerdictCount {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};
using VerdictCounters = std::array<VerdictCount, XDPGATE_VERDICT_COUNT>;

struct DeniedSource {
  IpPrefix address;          // full-length prefix
  std::uint64_t packets = 0; // weighted already: an estimate if `estimated`
  bool estimated = false;
  std::uint64_t last_seen_ns = 0; // CLOCK_MONOTONIC (coarse)
};

// Per-CPU map values come as one element per possible CPU.
std::size_t possible_cpus();

// Summed over CPUs.
Result<VerdictCounters> read_verdict_counters(int map_fd);
Status reset_verdict_counters(int map_fd);
Result<std::vector<DeniedSource>> read_denied_sources(int map_fd);

} // namespace xdpgate
