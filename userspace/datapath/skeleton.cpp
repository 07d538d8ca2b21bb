// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/skeleton.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>

#include "xdpgate.skel.h"

namespace xdpgate {

std::size_t possible_cpus() {
  int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

void SkeletonDeleter::operator()(xdpgate_bpf *skel) const {
  xdpgate_bpf__destroy(skel);
}

Result<VerdictCounters> read_verdict_counters(int map_fd) {
  VerdictCounters totals{};
  std::vector<xdpgate_verdict_counter> per_cpu(possible_cpus());
  for (std::uint32_t v = 0; v < XDPGATE_VERDICT_COUNT; ++v) {
    if (bpf_map_lookup_elem(map_fd, &v, per_cpu.data()) != 0)
      return system_error(ErrorCode::KernelReadFailed,
                          "reading the verdict counters failed");
    for (const xdpgate_verdict_counter &c : per_cpu) {
      totals[v].packets += c.packets;
      totals[v].bytes += c.bytes;
    }
  }
  return totals;
}

Status reset_verdict_counters(int map_fd) {
  std::vector<xdpgate_verdict_counter> zeros(possible_cpus());
  for (std::uint32_t v = 0; v < XDPGATE_VERDICT_COUNT; ++v)
    if (bpf_map_update_elem(map_fd, &v, zeros.data(), BPF_ANY) != 0)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "resetting the verdict counters failed");
  return {};
}

Result<std::vector<DeniedSource>> read_denied_sources(int map_fd) {
  std::vector<DeniedSource> out;
  xdpgate_source_key key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    xdpgate_source_stats stats{};
    if (bpf_map_lookup_elem(map_fd, &key, &stats) != 0)
      continue; // evicted between the two calls
    DeniedSource source;
    source.address.family = key.family == 4 ? Family::V4 : Family::V6;
    source.address.length = source.address.max_length();
    std::memcpy(source.address.addr.data(), key.addr, key.family == 4 ? 4 : 16);
    source.packets = stats.packets;
    source.estimated = stats.estimated != 0;
    source.last_seen_ns = stats.last_seen_ns;
    out.push_back(source);
  }
  return out;
}

} // namespace xdpgate
