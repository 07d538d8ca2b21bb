// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// An IPv4 lookup table in a kernel array map (BPF_F_MMAPABLE), mapped into
// this process: cells are written with plain stores, no system call per
// change. Private to userspace/datapath/.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "datapath/lookup_table.hpp"

namespace xdpgate {

// An empty map of the layout the XDP program reads (also the template of
// the outer map that holds the table in force).
Result<Fd> create_table_map(std::uint64_t rows);

class KernelTable {
public:
  // A new table holding `entries` (each range once), with room for more:
  // an eighth more groups, 4096 at least, before it must be rebuilt (a
  // rebuild costs O(list), so growth by eighths keeps adds amortised O(1)).
  static Result<KernelTable> holding(std::vector<TableEntry> entries);

  KernelTable(KernelTable &&other) noexcept;
  KernelTable &operator=(KernelTable &&other) noexcept;
  ~KernelTable();

  int fd() const { return fd_.get(); }
  LookupTable &cells() { return *cells_; }
  const LookupTable &cells() const { return *cells_; }
  std::uint64_t bytes() const { return length_; }

private:
  KernelTable(Fd fd, void *memory, std::size_t length, std::uint64_t rows,
              std::uint8_t root_bits);

  Fd fd_;
  void *memory_ = nullptr;
  std::size_t length_ = 0;
  std::optional<LookupTable> cells_;
};

} // namespace xdpgate
