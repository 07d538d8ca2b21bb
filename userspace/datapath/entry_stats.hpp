// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The statistics of allow-list entries, one slot each (the value an
// entry's trie row holds): clearing a slot for its new entry, and reading
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
  explicit EntryStats(int stats_fd) : fd_(stats_fd) {}

  Status clear(const std::vector<std::uint32_t> &slots) const;
  std::optional<EntryHits> read(std::uint32_t slot) const;
  // Slots 0 .. count-1, read in batches: a few system calls for a million
  // slots instead of a million.
  Result<std::vector<EntryHits>> read_all(std::uint32_t count) const;

private:
  int fd_;
};

} // namespace xdpgate
