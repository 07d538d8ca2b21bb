// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The IPv4 lookup table's cells: what a change writes, and in which order.
#include "datapath/lookup_table.hpp"

#include <algorithm>
#include <atomic>
#include <vector>

namespace xdpgate {

namespace {

constexpr unsigned kStride = XDPGATE_TABLE_STRIDE_BITS;
constexpr std::uint32_t kCells = XDPGATE_TABLE_ROW_CELLS;

std::uint32_t depth_of(std::uint32_t cell) {
  return cell >> XDPGATE_CELL_PAYLOAD_BITS;
}
bool names_group(std::uint32_t cell) {
  return depth_of(cell) == XDPGATE_CELL_GROUP;
}
std::uint32_t payload_of(std::uint32_t cell) {
  return cell & XDPGATE_CELL_PAYLOAD_MASK;
}
std::uint32_t match_cell(const TableEntry &entry) {
  return (std::uint32_t{entry.range.length} << XDPGATE_CELL_PAYLOAD_BITS) |
         (entry.slot + 1);
}
std::uint32_t group_cell_naming(std::uint32_t row) {
  return (XDPGATE_CELL_GROUP << XDPGATE_CELL_PAYLOAD_BITS) | row;
}

// Packets read the cells concurrently: each store is one whole aligned
// word, and release ordering publishes a group's cells before the cell that
// names it.
std::uint32_t load(std::uint32_t *cell) {
  return std::atomic_ref<std::uint32_t>(*cell).load(std::memory_order_relaxed);
}
void store(std::uint32_t *cell, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(*cell).store(value, std::memory_order_release);
}

// The number of the block of `width` leading bits that holds `address`.
std::uint32_t block_of(std::uint32_t address, unsigned width) {
  return width == 0 ? 0 : address >> (32 - width);
}

std::uint32_t root_rows(std::uint8_t root_bits) {
  return (std::uint32_t{1} << root_bits) / kCells;
}

} // namespace

LookupTable::LookupTable(RowStore &rows, std::uint8_t root_bits)
    : rows_(&rows), root_bits_(root_bits) {
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED], 1 + root_rows(root_bits));
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROOT_BITS], root_bits);
}

std::uint8_t LookupTable::root_bits_for(std::size_t entries) {
  return entries < (std::size_t{1} << 16) ? 16 : 24;
}

std::uint64_t LookupTable::rows_for(std::uint8_t root_bits,
                                    std::span<const TableEntry> entries) {
  // A group for each block, at each width from the root's down to the
  // range's, on the way to a range longer than the root resolves.
  std::vector<std::uint64_t> blocks;
  for (const TableEntry &e : entries)
    for (unsigned width = root_bits; width < e.range.length; width += kStride)
      blocks.push_back(std::uint64_t{width} << 32 |
                       block_of(e.range.network, width));
  std::sort(blocks.begin(), blocks.end());
  auto distinct = std::unique(blocks.begin(), blocks.end()) - blocks.begin();
  return 1 + root_rows(root_bits) + static_cast<std::uint64_t>(distinct);
}

std::uint32_t LookupTable::rows_used() const {
  return load(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED]);
}

std::uint32_t *LookupTable::root_cell(std::uint32_t address) const {
  std::uint32_t index = block_of(address, root_bits_);
  return &rows_->row(1 + index / kCells).cell[index % kCells];
}

// The cell of a group that splits its block into blocks of `width` bits.
std::uint32_t *LookupTable::group_cell(std::uint32_t group,
                                       std::uint32_t address,
                                       unsigned width) const {
  return &rows_->row(group).cell[block_of(address, width) % kCells];
}

unsigned LookupTable::missing_groups(TableRange range) const {
  unsigned width = root_bits_;
  std::uint32_t *cell = root_cell(range.network);
  while (range.length > width) {
    std::uint32_t c = load(cell);
    if (!names_group(c))
      return (range.length - width + kStride - 1) / kStride;
    width += kStride;
    if (range.length <= width)
      break;
    cell = group_cell(payload_of(c), range.network, width);
  }
  return 0;
}

// The group below `cell`, made if the cell holds a match: every cell of a
// new group holds that match, so naming it changes no verdict.
std::uint32_t LookupTable::group_below(std::uint32_t *cell) {
  std::uint32_t c = load(cell);
  if (names_group(c))
    return payload_of(c);
  std::uint32_t row = rows_used();
  for (std::uint32_t &inherited : rows_->row(row).cell)
    store(&inherited, c);
  store(&rows_->row(0).cell[XDPGATE_TABLE_ROWS_USED], row + 1);
  store(cell, group_cell_naming(row));
  return row;
}

// Calls change(cell, value) for every cell that holds a match inside
// `range`, through the groups below them. The groups on the way to the
// range exist (insert makes them; a range listed before has them).
template <typename Change>
void LookupTable::for_each_cell(TableRange range, Change change) {
  auto visit = [&](auto &self, std::uint32_t *cell) -> void {
    std::uint32_t c = load(cell);
    if (!names_group(c))
      return change(cell, c);
    for (std::uint32_t &below : rows_->row(payload_of(c)).cell)
      self(self, &below);
  };
  if (range.length <= root_bits_) {
    std::uint32_t first = block_of(range.network, root_bits_);
    std::uint32_t count = std::uint32_t{1} << (root_bits_ - range.length);
    for (std::uint32_t i = first; i < first + count; ++i)
      visit(visit, &rows_->row(1 + i / kCells).cell[i % kCells]);
    return;
  }
  unsigned width = root_bits_;
  std::uint32_t *cell = root_cell(range.network);
  for (;;) {
    std::uint32_t c = load(cell);
    if (!names_group(c))
      return; // never listed
    width += kStride;
    if (range.length <= width) {
      std::uint32_t first = block_of(range.network, width) % kCells;
      std::uint32_t count = std::uint32_t{1} << (width - range.length);
      for (std::uint32_t i = first; i < first + count; ++i)
        visit(visit, &rows_->row(payload_of(c)).cell[i]);
      return;
    }
    cell = group_cell(payload_of(c), range.network, width);
  }
}

bool LookupTable::insert(const TableEntry &entry) {
  const TableRange &range = entry.range;
  if (missing_groups(range) > rows_->count() - rows_used())
    return false;
  unsigned width = root_bits_;
  std::uint32_t *cell = root_cell(range.network);
  while (range.length > width) {
    std::uint32_t group = group_below(cell);
    width += kStride;
    if (range.length <= width)
      break;
    cell = group_cell(group, range.network, width);
  }
  // Longer ranges inside keep their cells.
  const std::uint32_t value = match_cell(entry);
  for_each_cell(range, [&](std::uint32_t *c, std::uint32_t old) {
    if (depth_of(old) <= range.length)
      store(c, value);
  });
  return true;
}

void LookupTable::remove(TableRange range,
                         const std::optional<TableEntry> &heir) {
  // A cell of this length inside the range can only be the range's own.
  const std::uint32_t value = heir ? match_cell(*heir) : 0;
  for_each_cell(range, [&](std::uint32_t *c, std::uint32_t old) {
    if (depth_of(old) == range.length)
      store(c, value);
  });
}

std::optional<std::uint32_t> LookupTable::lookup(std::uint32_t address) const {
  unsigned width = root_bits_;
  std::uint32_t c = load(root_cell(address));
  while (names_group(c) && width < 32) {
    width += kStride;
    c = load(group_cell(payload_of(c), address, width));
  }
  if (names_group(c) || payload_of(c) == 0)
    return std::nullopt;
  return payload_of(c) - 1;
}

} // namespace xdpgate
