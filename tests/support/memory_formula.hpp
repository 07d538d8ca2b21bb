// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// docs/MEMORY.md's formula for the kernel memory of the data path, in code,
// for tests/memory_test.cpp to hold against what the kernel reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "datapath/allow_list_tables.hpp"
#include "datapath/lookup_table.hpp"
#include "datapath/prefix_table.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate::test {

inline constexpr double kMiB = 1024.0 * 1024.0;

struct MemoryFormula {
  double fixed = 0;      // fixed(K)
  double ipv4_table = 0; // ipv4_table(N4)
  double ipv6_table = 0; // ipv6_table(N6)
  double hosts = 0;      // hosts(H4) + hosts(H6)
  double ipv6_trie = 0;  // ipv6_trie(N6)

  double list() const { return ipv4_table + ipv6_table + hosts + ipv6_trie; }
};

inline double fixed_bytes(std::uint32_t capacity) {
  return 48.0 * capacity + 7.1 * kMiB;
}

inline double ipv4_table_bytes(const std::vector<IpPrefix> &list) {
  std::vector<TableEntry> entries;
  for (const IpPrefix &p : list)
    if (p.family == Family::V4 && !p.is_single_address())
      entries.push_back({table_range(p), 0});
  std::uint8_t root_bits = LookupTable::root_bits_for(entries.size());
  double groups =
      static_cast<double>(LookupTable::rows_for(root_bits, entries) -
                          LookupTable::rows_for(root_bits, {}));
  return 4.0 * static_cast<double>(1u << root_bits) +
         64.0 * (1 + groups + std::max(4096.0, groups / 8));
}

// G + L, groups and leaves, as the build makes them: shorter ranges first.
inline double ipv6_table_bytes(const std::vector<IpPrefix> &list) {
  std::vector<TableEntry6> entries;
  for (const IpPrefix &p : list)
    if (p.family == Family::V6 && !p.is_single_address())
      entries.push_back({table_range6(p), 0});
  std::sort(entries.begin(), entries.end(),
            [](const TableEntry6 &a, const TableEntry6 &b) {
              return a.range.length < b.range.length;
            });
  std::uint8_t root_bits = LookupTable6::root_bits_for(entries.size());
  RowsOnHeap rows(XDPGATE_CELL6_PAYLOAD_MASK);
  LookupTable6 table(rows, root_bits);
  for (const TableEntry6 &e : entries)
    table.insert(e);
  double taken = static_cast<double>(table.rows_used() -
                                     LookupTable6::fixed_rows(root_bits));
  return 4.0 * static_cast<double>(1u << root_bits) +
         64.0 * (1 + taken + std::max(4096.0, taken / 8));
}

inline double hosts_bytes(std::size_t hosts, std::uint32_t capacity) {
  return 16.0 * host_table_size(hosts, capacity) +
         106.0 * static_cast<double>(hosts);
}

inline MemoryFormula memory_formula(const std::vector<IpPrefix> &list,
                                    std::uint32_t capacity) {
  std::size_t hosts[2] = {0, 0}, ipv6 = 0;
  for (const IpPrefix &p : list) {
    hosts[p.family == Family::V4 ? 0 : 1] += p.is_single_address();
    ipv6 += p.family == Family::V6;
  }
  MemoryFormula f;
  f.fixed = fixed_bytes(capacity);
  f.ipv4_table = ipv4_table_bytes(list);
  f.ipv6_table = ipv6_table_bytes(list);
  f.hosts = hosts_bytes(hosts[0], capacity) + hosts_bytes(hosts[1], capacity);
  f.ipv6_trie = 142.0 * static_cast<double>(ipv6);
  return f;
}

} // namespace xdpgate::test
