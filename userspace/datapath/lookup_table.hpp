// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A lookup table's rows (layouts in xdpgate/abi.h), written in place: the
// memory may be a kernel map mapped into this process while packets read
// it, so every change is a sequence of single-cell stores, each leaving a
// table that answers as the list before or after the change does. A group
// or leaf is filled before the cell that names it, and rows are never freed
// or reused while the table lives (a packet may still be reading one): a
// rebuild into a new table reclaims them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/huge_page_allocator.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

__extension__ typedef unsigned __int128 Uint128;

// How each family's table lays out its cells (xdpgate/abi.h).
struct Ipv4Cells {
  using Address = std::uint32_t;
  static constexpr unsigned kBits = 32;
  static constexpr unsigned kPayloadBits = XDPGATE_CELL_PAYLOAD_BITS;
  static constexpr std::uint32_t kGroup = XDPGATE_CELL_GROUP;
  // IPv4 lists fill a 24-bit root densely enough for groups alone, and an
  // older program reading the pinned IPv4 table knows no leaves.
  static constexpr bool kLeaves = false;
  static constexpr std::uint32_t kLeaf = 0;
};

struct Ipv6Cells {
  using Address = Uint128;
  static constexpr unsigned kBits = 128;
  static constexpr unsigned kPayloadBits = XDPGATE_CELL6_PAYLOAD_BITS;
  static constexpr std::uint32_t kGroup = XDPGATE_CELL6_GROUP;
  static constexpr bool kLeaves = true;
  static constexpr std::uint32_t kLeaf = XDPGATE_CELL6_LEAF;
};

// A range: its network address in host order and its length.
template <typename Cells> struct BasicTableRange {
  typename Cells::Address network = 0;
  std::uint8_t length = 0;
};

// A listed range and the slot of its counters.
template <typename Cells> struct BasicTableEntry {
  BasicTableRange<Cells> range;
  std::uint32_t slot = 0;
};

using TableRange = BasicTableRange<Ipv4Cells>;
using TableEntry = BasicTableEntry<Ipv4Cells>;
using TableRange6 = BasicTableRange<Ipv6Cells>;
using TableEntry6 = BasicTableEntry<Ipv6Cells>;

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

// Rows that grow as they are used, up to `limit`: a table built before
// its size is known (an IPv6 table, whose leaves split as ranges arrive),
// then copied into a kernel map of the size it took. They grow by chunks of
// 2 MiB that stay in place, in huge pages where the system allows: a deque
// of 512-byte blocks spent a third of building a 1M IPv6 table on
// allocating them and faulting their pages in.
class RowsOnHeap final : public RowStore {
public:
  explicit RowsOnHeap(std::uint64_t limit) : limit_(limit) {}
  xdpgate_table_row &row(std::uint32_t number) override {
    while (number / kChunkRows >= chunks_.size())
      chunks_.emplace_back(kChunkRows); // zeroed rows
    return chunks_[number / kChunkRows][number % kChunkRows];
  }
  std::uint64_t count() const override { return limit_; }

private:
  static constexpr std::size_t kChunkRows =
      kHugePageBytes / sizeof(xdpgate_table_row);
  std::uint64_t limit_;
  std::vector<ListVector<xdpgate_table_row>> chunks_;
};

// What a lookup found: the slot, and a bound on its range's length. The
// range that owns the slot holds the whole block the answer was read from
// (or is the leaf's own range), so it is at most `longest` bits long: a
// caller that names the range from the slot need not try longer ones.
struct TableMatch {
  std::uint32_t slot;
  std::uint8_t longest;
};

template <typename Cells> class BasicLookupTable {
public:
  using Address = typename Cells::Address;
  using Range = BasicTableRange<Cells>;
  using Entry = BasicTableEntry<Cells>;

  // Formats `rows`, all zero, as an empty table whose root resolves
  // `root_bits` (16 or 24) bits. They must hold at least
  // fixed_rows(root_bits) rows, and outlive the table.
  BasicLookupTable(RowStore &rows, std::uint8_t root_bits);
  // Adopts `rows` holding a table (as copied from one built elsewhere).
  explicit BasicLookupTable(RowStore &rows);

  // The root's size fits the list: a 16-bit root (256 KiB) below 64k
  // entries, a 24-bit one (64 MiB) from there, where it saves a group level
  // for every range longer than /16.
  static std::uint8_t root_bits_for(std::size_t entries);
  // The header and the root.
  static std::uint64_t fixed_rows(std::uint8_t root_bits);
  // The rows a table without leaves needs to hold `entries`: the fixed
  // ones and one group per distinct block that a longer range splits.
  static std::uint64_t
  rows_for(std::uint8_t root_bits,
           std::span<const Entry> entries) requires(!Cells::kLeaves);

  // Lists `entry` (not listed yet). False, with nothing written, when the
  // table has too few free rows for the groups and leaf it needs.
  bool insert(const Entry &entry);
  // Unlists `range`: the cells it owned get `heir`, the longest listed range
  // that contains it, or nothing.
  void remove(Range range, const std::optional<Entry> &heir);

  // The longest listed range that holds `address` (host order).
  std::optional<TableMatch> match(Address address) const;
  // Its slot alone.
  std::optional<std::uint32_t> lookup(Address address) const {
    std::optional<TableMatch> found = match(address);
    return found ? std::optional(found->slot) : std::nullopt;
  }
  std::uint32_t rows_used() const;
  std::uint8_t root_bits() const { return root_bits_; }

private:
  // Cells by the address they hold.
  std::uint32_t *root_cell(Address address) const;
  std::uint32_t *group_cell(std::uint32_t group, Address address,
                            unsigned width) const;
  // Rows `insert` must add on the way to this range.
  std::uint64_t rows_needed(Range range) const;
  // The group below `cell`, whose block is `width` bits long.
  std::uint32_t group_below(std::uint32_t *cell, unsigned width);
  void fill_group_from_leaf(std::uint32_t group, std::uint32_t leaf,
                            unsigned width);
  template <typename Change> void for_each_cell(Range range, Change change);

  RowStore *rows_;
  std::uint8_t root_bits_;
};

using LookupTable = BasicLookupTable<Ipv4Cells>;
using LookupTable6 = BasicLookupTable<Ipv6Cells>;

extern template class BasicLookupTable<Ipv4Cells>;
extern template class BasicLookupTable<Ipv6Cells>;

} // namespace xdpgate
