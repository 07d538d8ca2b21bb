// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The IPv4 lookup table's rows (layout in xdpgate/abi.h), written in place:
// the memory may be a kernel map mapped into this process while packets read
// it, so every change is a sequence of single-cell stores, each leaving a
// table that answers as the list before or after the change does. A group
// is filled before the cell that names it, and groups are never freed or
// reused while the table lives (a packet may still be reading one): a
// rebuild into a new table reclaims them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "xdpgate/abi.h"

namespace xdpgate {

// An IPv4 range: its network address in host order and its length.
struct TableRange {
  std::uint32_t network = 0;
  std::uint8_t length = 0;
};

// A listed range and the slot of its counters.
struct TableEntry {
  TableRange range;
  std::uint32_t slot = 0;
};

// Where a table's rows are: plain memory, or a kernel map mapped a piece at
// a time. A row's reference stays valid until the table's operation (an
// insert, a remove, a lookup) returns.
class RowStore {
public:
  virtual ~RowStore() = default;
  virtual xdpgate_table_row &row(std::uint32_t number) = 0;
  virtual std::uint64_t count() const = 0;
};

class RowsInMemory final : public RowStore {
public:
  explicit RowsInMemory(std::span<xdpgate_table_row> rows) : rows_(rows) {}
  xdpgate_table_row &row(std::uint32_t number) override {
    return rows_[number];
  }
  std::uint64_t count() const override { return rows_.size(); }

private:
  std::span<xdpgate_table_row> rows_;
};

class LookupTable {
public:
  // Formats `rows`, all zero, as an empty table whose root resolves
  // `root_bits` (16 or 24) bits. They must hold at least
  // rows_for(root_bits, {}) rows, and outlive the table.
  LookupTable(RowStore &rows, std::uint8_t root_bits);

  // The root's size fits the list: a 16-bit root (256 KiB) below 64k
  // entries, a 24-bit one (64 MiB) from there, where it saves a group level
  // for every range longer than /16.
  static std::uint8_t root_bits_for(std::size_t entries);
  // The rows a table needs to hold `entries`: the header, the root and one
  // group per distinct block that a longer range splits.
  static std::uint64_t rows_for(std::uint8_t root_bits,
                                std::span<const TableEntry> entries);

  // Lists `entry` (not listed yet). False, with nothing written, when the
  // table has too few free rows for the groups it needs.
  bool insert(const TableEntry &entry);
  // Unlists `range`: the cells it owned get `heir`, the longest listed range
  // that contains it, or nothing.
  void remove(TableRange range, const std::optional<TableEntry> &heir);

  // The slot of the longest listed range that holds `address` (host order).
  std::optional<std::uint32_t> lookup(std::uint32_t address) const;
  std::uint32_t rows_used() const;
  std::uint8_t root_bits() const { return root_bits_; }

private:
  // Cells by the address they hold.
  std::uint32_t *root_cell(std::uint32_t address) const;
  std::uint32_t *group_cell(std::uint32_t group, std::uint32_t address,
                            unsigned width) const;
  // Groups `insert` must add on the way to a range this long.
  unsigned missing_groups(TableRange range) const;
  std::uint32_t group_below(std::uint32_t *cell);
  template <typename Change>
  void for_each_cell(TableRange range, Change change);

  RowStore *rows_;
  std::uint8_t root_bits_;
};

} // namespace xdpgate
