// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Where each family keeps every entry with its slot, for a restarted daemon
// to read back: IPv4 in a record indexed by slot (struct xdpgate_v4_record),
// which packets never read; IPv6 in its LPM trie, which packets no longer
// read either (they read the lookup tables).
// Private to userspace/datapath/.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "datapath/lpm_key.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

// An empty entry map for `capacity` entries of `family`. An IPv4 record has
// a slot for every entry slot of both families (2 x capacity).
Result<Fd> create_entry_map(Family family, std::uint32_t capacity);

// Entries to write into one family's entry map, in its layout.
class EntryRows {
public:
  explicit EntryRows(Family family)
      : family_(family), key_size_(lpm_key_size(family)) {}

  void add(const IpPrefix &range, std::uint32_t slot);
  std::uint32_t size() const {
    return static_cast<std::uint32_t>(slots_.size());
  }
  // One batch; `done`, if given, gets how many rows the kernel took, in
  // order, even on failure.
  Status write_to(int entry_map_fd, const char *what,
                  std::uint32_t *done = nullptr) const;

private:
  Family family_;
  std::size_t key_size_;
  std::vector<std::uint32_t> slots_;
  std::vector<xdpgate_v4_record> records_; // IPv4
  std::vector<std::uint8_t> keys_;         // IPv6: trie keys
};

// Takes `range`, held in `slot`, out of the entry map.
Status erase_entry(int entry_map_fd, const IpPrefix &range, std::uint32_t slot);

// Calls `found` with every entry and its slot, from a record or from an LPM
// trie (which is also what an xdpgate before the record kept IPv4 in).
Status
read_entries(int entry_map_fd, Family family,
             const std::function<void(const IpPrefix &, std::uint32_t)> &found);

// Calls `found` with every address of an exact-host table and its slot.
Status
read_hosts(int host_table_fd, Family family,
           const std::function<void(const IpPrefix &, std::uint32_t)> &found);

} // namespace xdpgate
