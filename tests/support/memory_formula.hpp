// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// docs/MEMORY.md's formula for the kernel memory of the data path, in code,
// for tests/memory_test.cpp to hold against what the kernel reports.
#pragma once

#include <bit>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "datapath/allow_list_tables.hpp"
#include "datapath/entry_map.hpp"
#include "datapath/kernel_table.hpp"
#include "datapath/prefix_table.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate::test {

inline constexpr double kMiB = 1024.0 * 1024.0;

struct MemoryFormula {
  double fixed = 0;       // fixed(K)
  double ipv4_table = 0;  // ipv4_table(N4)
  double ipv6_table = 0;  // ipv6_table(N6)
  double hosts = 0;       // hosts(H4) + hosts(H6)
  double ipv6_record = 0; // ipv6_record(N6)

  double list() const { return ipv4_table + ipv6_table + hosts + ipv6_record; }
};

inline double fixed_bytes(std::uint32_t capacity) {
  return 48.0 * capacity + 7.1 * kMiB;
}

// A table: its header, its root, and the groups and leaves that the build
// makes, with room to grow.
template <typename Cells>
double table_bytes(std::vector<BasicTableEntry<Cells>> entries) {
  Result<std::uint64_t> rows =
      KernelTable<Cells>::rows_holding(std::move(entries));
  if (!rows)
    throw std::runtime_error(rows.error().message);
  return 64.0 * static_cast<double>(*rows);
}

// A host table: its buckets (a power of two), and its preallocated
// elements (the kernel's 48-byte htab_elem, then key and value, each
// rounded up to 8 bytes).
inline double hosts_bytes(Family family, std::size_t hosts,
                          std::uint32_t capacity) {
  std::uint32_t elements = host_table_size(hosts, capacity);
  double element = family == Family::V4 ? 64.0 : 72.0;
  return 16.0 * std::bit_ceil(elements) + element * elements;
}

inline MemoryFormula memory_formula(const std::vector<IpPrefix> &list,
                                    std::uint32_t capacity) {
  std::size_t hosts[2] = {0, 0}, ipv6 = 0;
  std::vector<TableEntry> ranges;
  std::vector<TableEntry6> ranges6;
  for (const IpPrefix &p : list) {
    ipv6 += p.family == Family::V6;
    if (p.is_single_address())
      ++hosts[p.family == Family::V4 ? 0 : 1];
    else if (p.family == Family::V4)
      ranges.push_back({table_range(p), 0});
    else
      ranges6.push_back({table_range6(p), 0});
  }
  MemoryFormula f;
  f.fixed = fixed_bytes(capacity);
  f.ipv4_table = table_bytes(std::move(ranges));
  f.ipv6_table = table_bytes(std::move(ranges6));
  f.hosts = hosts_bytes(Family::V4, hosts[0], capacity) +
            hosts_bytes(Family::V6, hosts[1], capacity);
  f.ipv6_record = static_cast<double>(sizeof(xdpgate_v6_record)) *
                  EntryRecord::rows_for(Family::V6, capacity, ipv6);
  return f;
}

} // namespace xdpgate::test
