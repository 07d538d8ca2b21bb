// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/entry_stats.hpp"

#include <bpf/bpf.h>

#include <algorithm>

#include "datapath/map_batches.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

// In chunks, so that a million slots need a bounded buffer.
constexpr std::size_t kChunk = 1 << 14;

EntryHits hits_of(const xdpgate_entry_stats &stats) {
  return {stats.packets, stats.last_hit_ns};
}

} // namespace

void EntryStats::in_use(std::uint32_t slot) {
  if (slot < may_hold_counts_.size())
    may_hold_counts_[slot] = true;
}

Status EntryStats::clear(const std::vector<std::uint32_t> &slots) {
  std::vector<std::uint32_t> counted;
  for (std::uint32_t slot : slots)
    if (slot >= may_hold_counts_.size() || may_hold_counts_[slot])
      counted.push_back(slot);
  std::vector<xdpgate_entry_stats> zeros(std::min(counted.size(), kChunk));
  for (std::size_t at = 0; at < counted.size(); at += kChunk) {
    auto count =
        static_cast<std::uint32_t>(std::min(kChunk, counted.size() - at));
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_update_batch(fd_, &counted[at], zeros.data(), &count, &opts) !=
        0)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "clearing entry statistics failed");
  }
  for (std::uint32_t slot : slots)
    in_use(slot);
  return {};
}

std::optional<EntryHits> EntryStats::read(std::uint32_t slot) const {
  xdpgate_entry_stats stats{};
  if (bpf_map_lookup_elem(fd_, &slot, &stats) != 0)
    return std::nullopt;
  return hits_of(stats);
}

Result<std::vector<EntryHits>> EntryStats::read_all(std::uint32_t count) const {
  std::vector<EntryHits> out(count);
  Status read = read_array<xdpgate_entry_stats>(
      fd_, "entry statistics",
      [&](std::uint32_t slot, const xdpgate_entry_stats &stats) {
        if (slot < count)
          out[slot] = hits_of(stats);
      });
  if (!read)
    return read.error();
  return out;
}

} // namespace xdpgate
