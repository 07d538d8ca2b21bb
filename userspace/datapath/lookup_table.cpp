// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The lookup tables' cells: what a change writes, and in which order.
#include "datapath/lookup_table.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <vector>

namespace xdpgate {

namespace {

constexpr unsigned kStride = XDPGATE_TABLE_STRIDE_BITS;
constexpr std::uint32_t kCells = XDPGATE_TABLE_ROW_CELLS;
// The leaf's cells that userspace reads and writes one at a time.
constexpr std::size_t kInsideCell = offsetof(xdpgate_table_leaf, inside) / 4;
constexpr std::size_t kOutsideCell = offsetof(xdpgate_table_leaf, outside) / 4;

// Packets read the cells concurrently: each store is one whole aligned
// word, and release ordering publishes a group's cells before the cell that
// names it.
std::uint32_t load(const std::uint32_t *cell) {
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t *>(cell))
      .load(std::memory_order_relaxed);
}
void store(std::uint32_t *cell, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(*cell).store(value, std::memory_order_release);
}

std::uint32_t root_rows(std::uint8_t root_bits) {
  return (std::uint32_t{1} << root_bits) / kCells;
}

// A cell's parts, in a family's layout.
template <typename Cells> struct Cell {
  static std::uint32_t depth(std::uint32_t cell) {
    return cell >> Cells::kPayloadBits;
  }
  static std::uint32_t payload(std::uint32_t cell) {
    return cell & ((std::uint32_t{1} << Cells::kPayloadBits) - 1);
  }
  static bool is_group(std::uint32_t cell) {
    return depth(cell) == Cells::kGroup;
  }
  static bool is_leaf(std::uint32_t cell) {
    return Cells::kLeaves && depth(cell) == Cells::kLeaf;
  }
  static bool is_match(std::uint32_t cell) {
    return !is_group(cell) && !is_leaf(cell);
  }
  static std::uint32_t match(const BasicTableEntry<Cells> &entry) {
    return (std::uint32_t{entry.range.length} << Cells::kPayloadBits) |
           (entry.slot + 1);
  }
  static std::uint32_t naming(std::uint32_t kind, std::uint32_t row) {
    return (kind << Cells::kPayloadBits) | row;
  }
};

// The number of the block of `width` leading bits that holds `address`.
template <typename Cells>
typename Cells::Address block_of(typename Cells::Address address,
                                 unsigned width) {
  return width == 0 ? 0 : address >> (Cells::kBits - width);
}

template <typename Cells>
bool contains(const BasicTableRange<Cells> &range,
              typename Cells::Address address) {
  return block_of<Cells>(address, range.length) ==
         block_of<Cells>(range.network, range.length);
}

// A leaf's range, from the row that holds it.
BasicTableRange<Ipv6Cells> leaf_range(const xdpgate_table_row &row) {
  xdpgate_table_leaf leaf;
  std::memcpy(&leaf, &row, sizeof leaf);
  return {Uint128{leaf.network_high} << 64 | leaf.network_low,
          static_cast<std::uint8_t>(leaf.length)};
}

} // namespace

template <typename Cells>
BasicLookupTable<Cells>::BasicLookupTable(RowStore &rows,
                                          std::uint8_t root_bits)
    : rows_(&rows), root_bits_(root_bits) {
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED], fixed_rows(root_bits));
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROOT_BITS], root_bits);
}

template <typename Cells>
BasicLookupTable<Cells>::BasicLookupTable(RowStore &rows)
    : rows_(&rows), root_bits_(static_cast<std::uint8_t>(
                        load(&rows.row(0).cell[XDPGATE_TABLE_ROOT_BITS]))) {}

template <typename Cells>
std::uint8_t BasicLookupTable<Cells>::root_bits_for(std::size_t entries) {
  return entries < (std::size_t{1} << 16) ? 16 : 24;
}

template <typename Cells>
std::uint64_t BasicLookupTable<Cells>::fixed_rows(std::uint8_t root_bits) {
  return 1 + root_rows(root_bits);
}

template <typename Cells>
std::uint64_t BasicLookupTable<Cells>::rows_for(
    std::uint8_t root_bits,
    std::span<const Entry> entries) requires(!Cells::kLeaves) {
  // A group for each block, at each width from the root's down to the
  // range's, on the way to a range longer than the root resolves.
  std::vector<std::uint64_t> blocks;
  for (const Entry &e : entries)
    for (unsigned width = root_bits; width < e.range.length; width += kStride)
      blocks.push_back(std::uint64_t{width} << 32 |
                       block_of<Cells>(e.range.network, width));
  std::sort(blocks.begin(), blocks.end());
  auto distinct = std::unique(blocks.begin(), blocks.end()) - blocks.begin();
  return fixed_rows(root_bits) + static_cast<std::uint64_t>(distinct);
}

template <typename Cells>
std::uint32_t BasicLookupTable<Cells>::rows_used() const {
  return load(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED]);
}

template <typename Cells>
std::uint32_t *BasicLookupTable<Cells>::root_cell(Address address) const {
  auto index = static_cast<std::uint32_t>(block_of<Cells>(address, root_bits_));
  return &rows_->row(1 + index / kCells).cell[index % kCells];
}

// The cell of a group that splits its block into blocks of `width` bits.
template <typename Cells>
std::uint32_t *BasicLookupTable<Cells>::group_cell(std::uint32_t group,
                                                   Address address,
                                                   unsigned width) const {
  return &rows_->row(group).cell[static_cast<std::uint32_t>(
      block_of<Cells>(address, width) % kCells)];
}

template <typename Cells>
std::uint64_t BasicLookupTable<Cells>::rows_needed(Range range) const {
  using C = Cell<Cells>;
  std::uint64_t rows = 0;
  unsigned width = root_bits_;
  std::uint32_t c = load(root_cell(range.network));
  while (range.length > width) {
    if (C::is_match(c)) // a leaf, or a group for every stride left
      return rows + (Cells::kLeaves
                         ? 1
                         : (range.length - width + kStride - 1) / kStride);
    if (C::is_group(c)) {
      width += kStride;
      if (range.length <= width)
        return rows;
      c = load(group_cell(C::payload(c), range.network, width));
      continue;
    }
    // A leaf becomes a group; its range keeps the leaf only if it still
    // shares the next block with this one.
    if constexpr (Cells::kLeaves) {
      Range other = leaf_range(rows_->row(C::payload(c)));
      ++rows;
      width += kStride;
      if (range.length <= width)
        return rows;
      if (other.length <= width || block_of<Cells>(other.network, width) !=
                                       block_of<Cells>(range.network, width))
        c = 0; // the split leaves a match where this range goes
    }
  }
  return rows;
}

// The group below `cell`, made if the cell holds a match (every cell of the
// new group holds that match) or a leaf (the group answers as the leaf
// did), so naming it changes no verdict.
template <typename Cells>
std::uint32_t BasicLookupTable<Cells>::group_below(std::uint32_t *cell,
                                                   unsigned width) {
  using C = Cell<Cells>;
  std::uint32_t c = load(cell);
  if (C::is_group(c))
    return C::payload(c);
  std::uint32_t row = rows_used(); // the first free row
  if (C::is_leaf(c)) {
    fill_group_from_leaf(row, C::payload(c), width);
  } else {
    for (std::uint32_t &inherited : rows_->row(row).cell)
      store(&inherited, c);
  }
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED], row + 1);
  store(cell, C::naming(Cells::kGroup, row));
  return row;
}

// A leaf's block split 4 bits further: the leaf's range owns the cells it
// covers, or the one cell that holds it keeps naming the leaf (the same
// row: only that cell names it from then on); the others get the cell of
// the block's other addresses.
template <typename Cells>
void BasicLookupTable<Cells>::fill_group_from_leaf(std::uint32_t group,
                                                   std::uint32_t leaf,
                                                   unsigned width) {
  if constexpr (Cells::kLeaves) {
    using C = Cell<Cells>;
    const xdpgate_table_row &leaf_row = rows_->row(leaf);
    const Range range = leaf_range(leaf_row);
    const std::uint32_t inside = load(&leaf_row.cell[kInsideCell]);
    const std::uint32_t outside = load(&leaf_row.cell[kOutsideCell]);
    const unsigned sub_width = width + kStride;
    const auto first = static_cast<std::uint32_t>(
        block_of<Cells>(range.network, sub_width) % kCells);
    std::uint32_t count = 1, value = C::naming(Cells::kLeaf, leaf);
    if (range.length <= sub_width) {
      count = std::uint32_t{1} << (sub_width - range.length);
      value = inside;
    }
    xdpgate_table_row &row = rows_->row(group);
    for (std::uint32_t i = 0; i < kCells; ++i)
      store(&row.cell[i], i >= first && i < first + count ? value : outside);
  }
}

// Calls change(cell, value) for every cell that holds a match inside
// `range`, through the groups below them, and for the cell of the other
// addresses of every leaf inside it; a leaf of the range itself is changed
// as the cell that names it, holding the range's match. The groups on the
// way to the range exist (insert makes them; a range listed before has
// them).
template <typename Cells>
template <typename Change>
void BasicLookupTable<Cells>::for_each_cell(Range range, Change change) {
  using C = Cell<Cells>;
  auto visit = [&](auto &self, std::uint32_t *cell) -> void {
    std::uint32_t c = load(cell);
    if (C::is_group(c)) {
      for (std::uint32_t &below : rows_->row(C::payload(c)).cell)
        self(self, &below);
    } else if (C::is_leaf(c)) {
      std::uint32_t *outside = &rows_->row(C::payload(c)).cell[kOutsideCell];
      change(outside, load(outside));
    } else {
      change(cell, c);
    }
  };
  auto visit_cells = [&](std::uint32_t group, unsigned width) {
    auto first = static_cast<std::uint32_t>(
        block_of<Cells>(range.network, width) % kCells);
    std::uint32_t count = std::uint32_t{1} << (width - range.length);
    for (std::uint32_t i = first; i < first + count; ++i)
      visit(visit, &rows_->row(group).cell[i]);
  };
  if (range.length <= root_bits_) {
    auto first =
        static_cast<std::uint32_t>(block_of<Cells>(range.network, root_bits_));
    std::uint32_t count = std::uint32_t{1} << (root_bits_ - range.length);
    for (std::uint32_t i = first; i < first + count; ++i)
      visit(visit, &rows_->row(1 + i / kCells).cell[i % kCells]);
    return;
  }
  unsigned width = root_bits_;
  std::uint32_t *cell = root_cell(range.network);
  for (;;) {
    std::uint32_t c = load(cell);
    if constexpr (Cells::kLeaves)
      if (C::is_leaf(c)) {
        const xdpgate_table_row &leaf = rows_->row(C::payload(c));
        Range held = leaf_range(leaf);
        if (held.length == range.length && held.network == range.network)
          change(cell, load(&leaf.cell[kInsideCell]));
        return;
      }
    if (!C::is_group(c))
      return; // never listed
    width += kStride;
    if (range.length <= width)
      return visit_cells(C::payload(c), width);
    cell = group_cell(C::payload(c), range.network, width);
  }
}

template <typename Cells>
bool BasicLookupTable<Cells>::insert(const Entry &entry) {
  using C = Cell<Cells>;
  const Range &range = entry.range;
  if (rows_needed(range) > rows_->count() - rows_used())
    return false;
  const std::uint32_t value = C::match(entry);
  unsigned width = root_bits_;
  std::uint32_t *cell = root_cell(range.network);
  while (range.length > width) {
    if constexpr (Cells::kLeaves) {
      std::uint32_t c = load(cell);
      if (C::is_match(c)) {
        // The block's one longer range: a leaf, whose other addresses keep
        // the cell's match.
        std::uint32_t row = rows_used(); // the first free row
        xdpgate_table_leaf leaf{};
        leaf.inside = value;
        leaf.outside = c;
        leaf.length = range.length;
        leaf.network_high = static_cast<std::uint64_t>(range.network >> 64);
        leaf.network_low = static_cast<std::uint64_t>(range.network);
        std::memcpy(&rows_->row(row), &leaf, sizeof leaf);
        store(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED], row + 1);
        store(cell, C::naming(Cells::kLeaf, row));
        return true;
      }
    }
    std::uint32_t group = group_below(cell, width);
    width += kStride;
    if (range.length <= width)
      break;
    cell = group_cell(group, range.network, width);
  }
  // Longer ranges inside keep their cells.
  for_each_cell(range, [&](std::uint32_t *c, std::uint32_t old) {
    if (C::depth(old) <= range.length)
      store(c, value);
  });
  return true;
}

template <typename Cells>
void BasicLookupTable<Cells>::remove(Range range,
                                     const std::optional<Entry> &heir) {
  using C = Cell<Cells>;
  // A cell of this length inside the range can only be the range's own.
  const std::uint32_t value = heir ? C::match(*heir) : 0;
  for_each_cell(range, [&](std::uint32_t *c, std::uint32_t old) {
    if (C::depth(old) == range.length)
      store(c, value);
  });
}

template <typename Cells>
std::optional<TableMatch>
BasicLookupTable<Cells>::match(Address address) const {
  using C = Cell<Cells>;
  unsigned width = root_bits_;
  std::uint32_t c = load(root_cell(address));
  while (C::is_group(c) && width < Cells::kBits) {
    width += kStride;
    c = load(group_cell(C::payload(c), address, width));
  }
  if constexpr (Cells::kLeaves)
    if (C::is_leaf(c)) {
      const xdpgate_table_row &leaf = rows_->row(C::payload(c));
      const Range range = leaf_range(leaf);
      const bool inside = contains<Cells>(range, address);
      c = load(&leaf.cell[inside ? kInsideCell : kOutsideCell]);
      if (inside)
        width = range.length;
    }
  if (!C::is_match(c) || C::payload(c) == 0)
    return std::nullopt;
  return TableMatch{C::payload(c) - 1, static_cast<std::uint8_t>(width)};
}

template class BasicLookupTable<Ipv4Cells>;
template class BasicLookupTable<Ipv6Cells>;

} // namespace xdpgate
