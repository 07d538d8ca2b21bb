// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A family's kernel lookup table as the allow list drives it, in ranges and
// addresses (IpPrefix): what the XDP program consults for every listed range
// but the full-length ones, which the host tables hold. Private to
// userspace/datapath/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "datapath/kernel_table.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

// A range and the slot of its counters.
struct PrefixSlot {
  IpPrefix range;
  std::uint32_t slot = 0;
};

// A range as a family's table takes it (network in host order).
TableRange table_range(const IpPrefix &range);
TableRange6 table_range6(const IpPrefix &range);

class PrefixTable {
public:
  // A new table of `family` holding `entries` (each range once, none of
  // full length).
  static Result<PrefixTable> holding(Family family,
                                     std::span<const PrefixSlot> entries);

  int fd() const;
  // As KernelTable's.
  Result<bool> insert(const PrefixSlot &entry);
  Status remove(const IpPrefix &range, const std::optional<PrefixSlot> &heir);
  Result<std::optional<TableMatch>> match(const IpPrefix &address) const;

private:
  using Table = std::variant<KernelTable<Ipv4Cells>, KernelTable<Ipv6Cells>>;
  explicit PrefixTable(Table table) : table_(std::move(table)) {}

  Table table_;
};

} // namespace xdpgate
