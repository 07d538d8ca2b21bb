// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The statistics of allow-list entries, one slot each (the value an
// entry's table row holds): clearing a slot for its new entry, and reading
// one slot or every slot.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/result.hpp"

namespace xdpgate {

struct EntryHits {
  std::uint64_t packets = 0;
  std::uint64_t last_hit_ns = 0; // CLOCK_MONOTONIC; 0 = never
};

class EntryStats {
public:
  // `fresh`: this process made the array, so every counter is zero;
  // otherwise any slot may hold an earlier process's counts.
  EntryStats(int stats_fd, std::uint32_t slots, bool fresh)
      : fd_(stats_fd), may_hold_counts_(slots, !fresh) {}

  // An entry read back owns `slot`: packets may count in it.
  void in_use(std::uint32_t slot);
  // Zeroes the counters of `slots` for their new entries. Only slots that
  // may hold counts are written: in a new array, a million new entries need
  // no write (70 ms of a 1M list's write into the kernel, measured).
  Status clear(const std::vector<std::uint32_t> &slots);
  std::optional<EntryHits> read(std::uint32_t slot) const;
  // Slots 0 .. count-1, read in batches: a few system calls for a million
  // slots instead of a million.
  Result<std::vector<EntryHits>> read_all(std::uint32_t count) const;

private:
  int fd_;
  // Per slot: handed to an entry since the array was made, or adopted.
  std::vector<bool> may_hold_counts_;
};

} // namespace xdpgate
