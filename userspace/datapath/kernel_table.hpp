// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A lookup table in a kernel array map (BPF_F_MMAPABLE), written
// through memory mappings: cells take plain stores, not a system call each.
// A change maps the pages it touches, and at most 4 MiB stay mapped after
// it; only a build maps the whole table, until it is built. A table kept
// mapped whole would count, though it is kernel memory, in the daemon's
// resident set too (140 MiB at a million entries). Private to
// userspace/datapath/.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "datapath/lookup_table.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

// Pages a table leaves mapped after an operation (4 MiB): the root's pages
// and groups that the next changes will likely touch again, and no more.
inline constexpr std::size_t kTablePagesKeptMapped = 1024;

// An empty map of the layout the XDP program reads (also the template of
// the outer map that holds the table in force).
Result<Fd> create_table_map(Family family, std::uint64_t rows);

// A kernel table's rows, its pages mapped as they are used. unmap() drops
// them all; a row's reference is valid until then.
class MappedRows final : public RowStore {
public:
  MappedRows(int fd, std::uint64_t rows) : fd_(fd), rows_(rows) {}
  MappedRows(const MappedRows &) = delete;
  MappedRows &operator=(const MappedRows &) = delete;
  ~MappedRows() override { unmap(); }

  xdpgate_table_row &row(std::uint32_t number) override;
  std::uint64_t count() const override { return rows_; }
  std::size_t mapped_pages() const;
  // Maps every row at once, for a build that writes them all: one system
  // call instead of one per page.
  Status map_all();
  void unmap();

private:
  int fd_;
  std::uint64_t rows_;
  std::unordered_map<std::uint64_t, void *> pages_; // by page number
  void *whole_ = nullptr;                           // after map_all()
};

// A kernel table's rows read one at a time by system call, each a copy that
// lasts until clear(): what a lookup reads. A lookup takes a few rows; a
// page mapped for each, and unmapped later, would cost more, and every
// unmap flushes the TLB of each CPU the daemon ran on.
class CopiedRows final : public RowStore {
public:
  CopiedRows(int fd, std::uint64_t rows) : fd_(fd), rows_(rows) {}

  // Read-only: writes to the copy never reach the table.
  xdpgate_table_row &row(std::uint32_t number) override;
  std::uint64_t count() const override { return rows_; }
  void clear() { copies_.clear(); }

private:
  int fd_;
  std::uint64_t rows_;
  std::deque<xdpgate_table_row> copies_; // a deque keeps each in place
};

template <typename Cells> class KernelTable {
public:
  using Layout = Cells;
  using Range = BasicTableRange<Cells>;
  using Entry = BasicTableEntry<Cells>;

  // A new table holding `entries` (each range once), with room for more:
  // an eighth more rows, 4096 at least, before it must be rebuilt (a
  // rebuild costs O(list), so growth by eighths keeps adds amortised O(1)).
  static Result<KernelTable> holding(std::vector<Entry> entries);
  // The rows holding(entries) makes its table of, room included.
  static Result<std::uint64_t> rows_holding(std::vector<Entry> entries);

  int fd() const { return fd_.get(); }
  std::uint8_t root_bits() const { return cells_->root_bits(); }
  std::uint64_t rows() const { return rows_->count(); }
  std::uint32_t rows_used() const { return cells_->rows_used(); }
  // What stays mapped into this process between operations.
  std::size_t mapped_pages() const { return rows_->mapped_pages(); }
  // As the lookup table's, each leaving no more than a few MiB mapped. They
  // fail only if a page cannot be mapped; a change may then be half made
  // (each address judged as before or after it), and the caller builds a
  // new table.
  Result<bool> insert(const Entry &entry);
  Status remove(Range range, const std::optional<Entry> &heir);
  // Maps nothing: it reads the few rows it needs by system call, and fails
  // only if one cannot be read.
  Result<std::optional<TableMatch>>
  match(typename Cells::Address address) const;

private:
  // The entries' table as holding() plans it: the rows it takes, and for a
  // table with leaves those rows, built on the heap.
  struct Plan {
    std::uint8_t root_bits = 0;
    std::uint64_t needed = 0; // rows the entries take
    std::uint64_t rows = 0;   // and room to grow
    std::optional<RowsOnHeap> built;
  };
  static Result<Plan> plan(std::vector<Entry> &entries);

  KernelTable(Fd fd, std::uint64_t rows);
  void trim() const;

  Fd fd_;
  // On the heap: the tables keep a reference to their rows across moves.
  std::unique_ptr<MappedRows> rows_;
  std::unique_ptr<BasicLookupTable<Cells>> cells_; // changes it
  std::unique_ptr<CopiedRows> copies_;
  std::unique_ptr<BasicLookupTable<Cells>> reader_; // looks up in it
};

extern template class KernelTable<Ipv4Cells>;
extern template class KernelTable<Ipv6Cells>;

} // namespace xdpgate
