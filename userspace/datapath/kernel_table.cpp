// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Making, mapping and filling kernel lookup tables.
#include "datapath/kernel_table.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <sys/mman.h>
#include <utility>

namespace xdpgate {

Result<Fd> create_table_map(std::uint64_t rows) {
  LIBBPF_OPTS(bpf_map_create_opts, opts,
              .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdpgate_table4",
                          sizeof(std::uint32_t), sizeof(xdpgate_table_row),
                          static_cast<std::uint32_t>(rows), &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "creating an IPv4 lookup table of " +
                            std::to_string(rows) +
                            " rows failed (is the kernel memory too small?)");
  return Fd(fd);
}

KernelTable::KernelTable(Fd fd, void *memory, std::size_t length,
                         std::uint64_t rows, std::uint8_t root_bits)
    : fd_(std::move(fd)), memory_(memory), length_(length),
      cells_(std::in_place,
             std::span(static_cast<xdpgate_table_row *>(memory), rows),
             root_bits) {}

KernelTable::KernelTable(KernelTable &&other) noexcept
    : fd_(std::move(other.fd_)), memory_(std::exchange(other.memory_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      cells_(std::exchange(other.cells_, std::nullopt)) {}

KernelTable &KernelTable::operator=(KernelTable &&other) noexcept {
  if (this != &other) {
    if (memory_)
      ::munmap(memory_, length_);
    fd_ = std::move(other.fd_);
    memory_ = std::exchange(other.memory_, nullptr);
    length_ = std::exchange(other.length_, 0);
    cells_ = std::exchange(other.cells_, std::nullopt);
  }
  return *this;
}

KernelTable::~KernelTable() {
  if (memory_)
    ::munmap(memory_, length_);
}

Result<KernelTable> KernelTable::holding(std::vector<TableEntry> entries) {
  std::uint8_t root_bits = LookupTable::root_bits_for(entries.size());
  std::uint64_t needed = LookupTable::rows_for(root_bits, entries);
  std::uint64_t fixed = LookupTable::rows_for(root_bits, {});
  std::uint64_t rows =
      needed + std::max<std::uint64_t>(4096, (needed - fixed) / 8);
  if (rows > XDPGATE_CELL_PAYLOAD_MASK)
    return Error{ErrorCode::CapacityExceeded,
                 "the IPv4 list needs a lookup table of " +
                     std::to_string(rows) + " rows, more than the " +
                     std::to_string(XDPGATE_CELL_PAYLOAD_MASK) +
                     " its cells can name; list fewer, wider ranges"};
  Result<Fd> fd = create_table_map(rows);
  if (!fd)
    return fd.error();
  std::size_t length = rows * sizeof(xdpgate_table_row);
  void *memory =
      ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0);
  if (memory == MAP_FAILED)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "mapping an IPv4 lookup table into memory failed");
  KernelTable table(std::move(fd.value()), memory, length, rows, root_bits);
  // Shorter ranges first: a wide range then writes root cells, not every
  // group that the longer ranges inside it would have made.
  std::sort(entries.begin(), entries.end(),
            [](const TableEntry &a, const TableEntry &b) {
              return a.range.length < b.range.length;
            });
  for (const TableEntry &e : entries)
    if (!table.cells().insert(e))
      return Error{ErrorCode::Internal,
                   "an IPv4 lookup table sized for its list ran out of rows"};
  return table;
}

} // namespace xdpgate
