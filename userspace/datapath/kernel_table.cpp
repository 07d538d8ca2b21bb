// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Making, mapping and filling kernel lookup tables.
#include "datapath/kernel_table.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>
#include <utility>

namespace xdpgate {

namespace {

std::uint64_t page_size() {
  static const std::uint64_t size =
      static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

template <typename Cells> constexpr Family family_of() {
  return Cells::kBits == 32 ? Family::V4 : Family::V6;
}

const char *family_name(Family family) {
  return family == Family::V4 ? "IPv4" : "IPv6";
}

std::uint64_t whole_length(std::uint64_t rows) {
  const std::uint64_t bytes = rows * sizeof(xdpgate_table_row);
  return (bytes + page_size() - 1) / page_size() * page_size();
}

} // namespace

Result<Fd> create_table_map(Family family, std::uint64_t rows) {
  LIBBPF_OPTS(bpf_map_create_opts, opts,
              .map_flags = BPF_F_MMAPABLE | BPF_F_INNER_MAP);
  int fd =
      bpf_map_create(BPF_MAP_TYPE_ARRAY,
                     family == Family::V4 ? "xdpgate_table4" : "xdpgate_table6",
                     sizeof(std::uint32_t), sizeof(xdpgate_table_row),
                     static_cast<std::uint32_t>(rows), &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        std::string("creating an ") + family_name(family) +
                            " lookup table of " + std::to_string(rows) +
                            " rows failed (is the kernel memory too small?)");
  return Fd(fd);
}

std::size_t MappedRows::mapped_pages() const {
  return whole_ ? whole_length(rows_) / page_size() : pages_.size();
}

Status MappedRows::map_all() {
  unmap();
  void *mapped = ::mmap(nullptr, whole_length(rows_), PROT_READ | PROT_WRITE,
                        MAP_SHARED, fd_, 0);
  if (mapped == MAP_FAILED)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "mapping a lookup table failed");
  whole_ = mapped;
  return {};
}

xdpgate_table_row &MappedRows::row(std::uint32_t number) {
  if (whole_)
    return static_cast<xdpgate_table_row *>(whole_)[number];
  const std::uint64_t rows_per_page = page_size() / sizeof(xdpgate_table_row);
  const std::uint64_t page = number / rows_per_page;
  auto [at, is_new] = pages_.try_emplace(page, nullptr);
  if (is_new) {
    void *mapped =
        ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd_,
               static_cast<off_t>(page * page_size()));
    if (mapped == MAP_FAILED) {
      pages_.erase(at);
      // Rows are within the map by construction: only the system can fail.
      throw std::runtime_error("mapping a page of a lookup table failed "
                               "(out of memory?)");
    }
    at->second = mapped;
  }
  return static_cast<xdpgate_table_row *>(at->second)[number % rows_per_page];
}

void MappedRows::unmap() {
  for (const auto &[page, mapped] : pages_)
    ::munmap(mapped, page_size());
  pages_.clear();
  if (whole_)
    ::munmap(std::exchange(whole_, nullptr), whole_length(rows_));
}

xdpgate_table_row &CopiedRows::row(std::uint32_t number) {
  xdpgate_table_row &copy = copies_.emplace_back();
  if (bpf_map_lookup_elem(fd_, &number, &copy) != 0)
    // Rows are within the map by construction: only the system can fail.
    throw std::runtime_error("reading a row of a lookup table failed: " +
                             std::string(std::strerror(errno)));
  return copy;
}

template <typename Cells>
KernelTable<Cells>::KernelTable(Fd fd, std::uint64_t rows)
    : fd_(std::move(fd)), rows_(std::make_unique<MappedRows>(fd_.get(), rows)),
      copies_(std::make_unique<CopiedRows>(fd_.get(), rows)) {}

template <typename Cells> void KernelTable<Cells>::trim() const {
  if (rows_->mapped_pages() > kTablePagesKeptMapped)
    rows_->unmap();
}

namespace {

// The one exception of the tables: a page that cannot be mapped, or a row
// that cannot be read.
template <typename Operation> auto mapping_errors(Operation operation) {
  using Answer = decltype(operation());
  try {
    if constexpr (std::is_void_v<Answer>) {
      operation();
      return Status{};
    } else {
      return Result<Answer>(operation());
    }
  } catch (const std::runtime_error &e) {
    return std::conditional_t<std::is_void_v<Answer>, Status, Result<Answer>>(
        Error{ErrorCode::KernelUpdateFailed, e.what()});
  }
}

} // namespace

template <typename Cells>
Result<bool> KernelTable<Cells>::insert(const Entry &entry) {
  Result<bool> inserted = mapping_errors([&] { return cells_->insert(entry); });
  trim();
  return inserted;
}

template <typename Cells>
Status KernelTable<Cells>::remove(Range range,
                                  const std::optional<Entry> &heir) {
  Status removed = mapping_errors([&] { cells_->remove(range, heir); });
  trim();
  return removed;
}

template <typename Cells>
Result<std::optional<TableMatch>>
KernelTable<Cells>::match(typename Cells::Address address) const {
  Result<std::optional<TableMatch>> found =
      mapping_errors([&] { return reader_->match(address); });
  copies_->clear();
  return found;
}

template <typename Cells>
Result<typename KernelTable<Cells>::Plan>
KernelTable<Cells>::plan(std::vector<Entry> &entries) {
  using Table = BasicLookupTable<Cells>;
  // The rows a cell can name.
  constexpr std::uint64_t limit = (std::uint64_t{1} << Cells::kPayloadBits) - 1;
  Plan plan;
  plan.root_bits = Table::root_bits_for(entries.size());
  // Shorter ranges first: a wide range then writes root cells, not every
  // group that the longer ranges inside it would have made.
  // Then by address: consecutive inserts touch neighbouring root cells, not
  // a random line of a 64 MiB root each.
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.range.length != b.range.length ? a.range.length < b.range.length
                                            : a.range.network < b.range.network;
  });
  auto too_large = [&] {
    return Error{ErrorCode::CapacityExceeded,
                 std::string("the ") + family_name(family_of<Cells>()) +
                     " list needs a lookup table of more rows than the " +
                     std::to_string(limit) +
                     " its cells can name; list fewer, wider ranges"};
  };
  // A table with leaves is built on the heap first: how many rows it takes
  // depends on the order its leaves split in.
  if constexpr (Cells::kLeaves) {
    plan.built.emplace(limit);
    Table table(*plan.built, plan.root_bits);
    for (const Entry &e : entries)
      if (!table.insert(e))
        return too_large();
    plan.needed = table.rows_used();
  } else {
    plan.needed = Table::rows_for(plan.root_bits, entries);
  }
  plan.rows = plan.needed +
              std::max<std::uint64_t>(
                  4096, (plan.needed - Table::fixed_rows(plan.root_bits)) / 8);
  if (plan.rows > limit)
    return too_large();
  return plan;
}

template <typename Cells>
Result<std::uint64_t>
KernelTable<Cells>::rows_holding(std::vector<Entry> entries) {
  Result<Plan> planned = plan(entries);
  if (!planned)
    return planned.error();
  return planned->rows;
}

template <typename Cells>
Result<KernelTable<Cells>>
KernelTable<Cells>::holding(std::vector<Entry> entries) {
  using Table = BasicLookupTable<Cells>;
  Result<Plan> planned = plan(entries);
  if (!planned)
    return planned.error();
  Plan &p = planned.value();
  Result<Fd> fd = create_table_map(family_of<Cells>(), p.rows);
  if (!fd)
    return fd.error();
  KernelTable table(std::move(fd.value()), p.rows);
  // Mapped whole while it is written whole, then unmapped.
  if (Status s = table.rows_->map_all(); !s)
    return s.error();
  if (p.built) {
    for (std::uint32_t row = 0; row < p.needed; ++row)
      table.rows_->row(row) = p.built->row(row);
    table.cells_ = std::make_unique<Table>(*table.rows_);
  } else {
    table.cells_ = std::make_unique<Table>(*table.rows_, p.root_bits);
    for (const Entry &e : entries)
      if (!table.cells_->insert(e))
        return Error{ErrorCode::Internal, "an IPv4 lookup table sized for its "
                                          "list ran out of rows"};
  }
  table.rows_->unmap();
  table.reader_ = std::make_unique<Table>(*table.copies_);
  table.copies_->clear();
  return table;
}

template class KernelTable<Ipv4Cells>;
template class KernelTable<Ipv6Cells>;

} // namespace xdpgate
