// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What changing the allow list works with: sets of listed ranges marked by
// their slots, and rows for a family's record, host table and lookup table.
// Private to userspace/datapath/.
#pragma once

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdint>
#include <vector>

#include "common/huge_page_allocator.hpp"
#include "common/result.hpp"
#include "datapath/allow_list_tables.hpp"
#include "datapath/lpm_key.hpp"
#include "datapath/prefix_table.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

// A bit per entry slot, to mark a set of listed ranges by their slots: at a
// million ranges, a hash set of them took seconds to build. Takes its
// memory at the first mark.
class SlotMarks {
public:
  explicit SlotMarks(std::size_t slots) : slots_(slots) {}

  void mark(std::uint32_t slot) {
    if (slot >= marks_.size()) // a slot left by a larger capacity
      marks_.resize(std::max<std::size_t>(slots_, slot + 1));
    marks_[slot] = true;
  }
  void clear(std::uint32_t slot) {
    if (slot < marks_.size())
      marks_[slot] = false;
  }
  bool marked(std::uint32_t slot) const {
    return slot < marks_.size() && marks_[slot];
  }

private:
  std::size_t slots_;
  std::vector<bool> marks_;
};

// Rows for one family's record, host table and lookup table.
struct TableRows {
  explicit TableRows(Family family) : host_size(host_key_size(family)) {}

  // Room for `count` ranges, `hosts` of them full-length.
  void reserve(std::size_t count, std::size_t hosts) {
    entries.reserve(count);
    host_keys.reserve(hosts * host_size);
    host_values.reserve(hosts);
    table_entries.reserve(count - hosts);
  }

  void add(const IpPrefix &range, std::uint32_t slot) {
    entries.push_back({range, slot});
    if (range.is_single_address())
      add_host(range, slot);
    else
      table_entries.push_back({range, slot});
  }

  void add_host(const IpPrefix &address, std::uint32_t slot) {
    host_keys.insert(host_keys.end(), address.addr.begin(),
                     address.addr.begin() + host_size);
    host_values.push_back({slot});
  }

  ListVector<PrefixSlot> entries;
  std::size_t host_size;
  ListVector<std::uint8_t> host_keys;
  ListVector<xdpgate_allow_value> host_values;
  ListVector<PrefixSlot> table_entries; // all but the hosts
};

inline Status write_hosts(int host_table_fd, const TableRows &hosts,
                          const char *what, std::uint32_t *done = nullptr) {
  return batch_update(
      host_table_fd, hosts.host_keys.data(), hosts.host_values.data(),
      static_cast<std::uint32_t>(hosts.host_values.size()), what, done);
}

// Deletes the first `count` of `hosts`' addresses from a host table.
inline bool delete_hosts(int host_table_fd, const TableRows &hosts,
                         std::uint32_t count) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  return count == 0 ||
         bpf_map_delete_batch(host_table_fd, hosts.host_keys.data(), &count,
                              &opts) == 0;
}

} // namespace xdpgate
