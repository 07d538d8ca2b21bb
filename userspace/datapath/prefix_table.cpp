// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Ranges and addresses in the form each family's table takes them.
#include "datapath/prefix_table.hpp"

#include <type_traits>
#include <utility>

namespace xdpgate {

namespace {

// The first `bytes` bytes of the address, big-endian, as an integer.
template <typename Address>
Address network_of(const IpPrefix &range, std::size_t bytes) {
  Address network = 0;
  for (std::size_t i = 0; i < bytes; ++i)
    network = network << 8 | range.addr[i];
  return network;
}

template <typename Cells>
BasicTableRange<Cells> range_in(const IpPrefix &range) {
  return {network_of<typename Cells::Address>(range, Cells::kBits / 8),
          range.length};
}

template <typename Cells>
std::optional<BasicTableEntry<Cells>>
entry_in(const std::optional<PrefixSlot> &entry) {
  if (!entry)
    return std::nullopt;
  return BasicTableEntry<Cells>{range_in<Cells>(entry->range), entry->slot};
}

template <typename Cells>
std::vector<BasicTableEntry<Cells>>
entries_in(std::span<const PrefixSlot> entries) {
  std::vector<BasicTableEntry<Cells>> converted;
  converted.reserve(entries.size());
  for (const PrefixSlot &e : entries)
    converted.push_back({range_in<Cells>(e.range), e.slot});
  return converted;
}

// The family's cells, for an operation on whichever table this is.
template <typename Table>
using CellsOf = typename std::remove_cvref_t<Table>::Layout;

} // namespace

TableRange table_range(const IpPrefix &range) {
  return range_in<Ipv4Cells>(range);
}

TableRange6 table_range6(const IpPrefix &range) {
  return range_in<Ipv6Cells>(range);
}

Result<PrefixTable> PrefixTable::holding(Family family,
                                         std::span<const PrefixSlot> entries) {
  auto made = [](auto table) -> Result<PrefixTable> {
    if (!table)
      return table.error();
    return PrefixTable(std::move(table.value()));
  };
  if (family == Family::V4)
    return made(
        KernelTable<Ipv4Cells>::holding(entries_in<Ipv4Cells>(entries)));
  return made(KernelTable<Ipv6Cells>::holding(entries_in<Ipv6Cells>(entries)));
}

int PrefixTable::fd() const {
  return std::visit([](const auto &table) { return table.fd(); }, table_);
}

Result<bool> PrefixTable::insert(const PrefixSlot &entry) {
  return std::visit(
      [&](auto &table) {
        using Cells = CellsOf<decltype(table)>;
        return table.insert({range_in<Cells>(entry.range), entry.slot});
      },
      table_);
}

Status PrefixTable::remove(const IpPrefix &range,
                           const std::optional<PrefixSlot> &heir) {
  return std::visit(
      [&](auto &table) {
        using Cells = CellsOf<decltype(table)>;
        return table.remove(range_in<Cells>(range), entry_in<Cells>(heir));
      },
      table_);
}

Result<std::optional<TableMatch>>
PrefixTable::match(const IpPrefix &address) const {
  return std::visit(
      [&](const auto &table) {
        using Cells = CellsOf<decltype(table)>;
        return table.match(range_in<Cells>(address).network);
      },
      table_);
}

} // namespace xdpgate
