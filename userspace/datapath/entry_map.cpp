// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/entry_map.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "common/huge_page_allocator.hpp"
#include "datapath/allow_list_tables.hpp"
#include "datapath/lpm_key.hpp"
#include "datapath/map_batches.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

// A record row for each family's layout, and back.
xdpgate_v4_record v4_row(const IpPrefix &range) {
  xdpgate_v4_record row{};
  std::copy_n(range.addr.begin(), 4, row.addr);
  row.length = range.length;
  row.listed = 1;
  return row;
}

xdpgate_v6_record v6_row(const IpPrefix &range, std::uint32_t slot) {
  xdpgate_v6_record row{};
  std::copy_n(range.addr.begin(), 16, row.addr);
  row.slot = slot;
  row.length = range.length;
  row.listed = 1;
  return row;
}

template <typename Row> IpPrefix range_of(Family family, const Row &row) {
  IpPrefix range;
  range.family = family;
  std::copy(std::begin(row.addr), std::end(row.addr), range.addr.begin());
  range.length = row.length;
  return range;
}

Status read_trie_one_by_one(int fd, Family family, const FoundEntry &found) {
  LpmKey key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.bytes.data()) == 0) {
    key = next;
    prev = key.bytes.data();
    xdpgate_allow_value value{};
    if (bpf_map_lookup_elem(fd, key.bytes.data(), &value) == 0)
      found(prefix_from_lpm_key(family, key), value.slot);
  }
  return {};
}

} // namespace

Status read_hosts(int fd, Family family, const FoundEntry &found) {
  return read_in_batches(
      fd, host_key_size(family), sizeof(xdpgate_allow_value),
      "a pinned allow-list host table",
      [&](const std::uint8_t *key, const std::uint8_t *value) {
        IpPrefix host;
        host.family = family;
        host.length = host.max_length();
        std::copy_n(key, host_key_size(family), host.addr.begin());
        xdpgate_allow_value slot;
        std::memcpy(&slot, value, sizeof slot);
        found(host, slot.slot);
      });
}

// In batches, or one by one where the kernel has no batches for tries.
Status read_legacy_trie(int fd, Family family, const FoundEntry &found) {
  bool no_batches = false;
  Status read = read_in_batches(
      fd, lpm_key_size(family), sizeof(xdpgate_allow_value),
      "an older xdpgate's pinned allow-list trie",
      [&](const std::uint8_t *key, const std::uint8_t *value) {
        LpmKey lpm{};
        std::copy_n(key, lpm_key_size(family), lpm.bytes.begin());
        xdpgate_allow_value slot;
        std::memcpy(&slot, value, sizeof slot);
        found(prefix_from_lpm_key(family, lpm), slot.slot);
      },
      &no_batches);
  if (read && no_batches)
    return read_trie_one_by_one(fd, family, found);
  return read;
}

Result<Fd> create_record_map(Family family, std::uint32_t rows) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
  bool v4 = family == Family::V4;
  int fd = bpf_map_create(
      BPF_MAP_TYPE_ARRAY, v4 ? "xdpgate_record4" : "xdpgate_record6",
      sizeof(std::uint32_t),
      v4 ? sizeof(xdpgate_v4_record) : sizeof(xdpgate_v6_record), rows, &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        std::string("creating the ") + (v4 ? "IPv4" : "IPv6") +
                            " entry record failed (is the memlock limit or "
                            "the kernel memory too small?)");
  return Fd(fd);
}

std::uint32_t EntryRecord::rows_for(Family family, std::uint32_t capacity,
                                    std::size_t entries) {
  if (family == Family::V4)
    return 2 * capacity;
  // An eighth more rows than entries, for adds in place: each growth
  // rewrites the record (O(list)), so adds stay amortised O(1).
  return static_cast<std::uint32_t>(
      std::max<std::size_t>(1024, entries + entries / 8));
}

Result<EntryRecord> EntryRecord::create(Family family, std::uint32_t capacity,
                                        std::size_t entries) {
  std::uint32_t rows = rows_for(family, capacity, entries);
  Result<Fd> fd = create_record_map(family, rows);
  if (!fd)
    return fd.error();
  EntryRecord record(family, std::move(fd.value()), rows);
  if (family == Family::V6)
    for (std::uint32_t row = rows; row-- > 0;)
      record.free_rows_.push_back(row);
  return record;
}

Result<EntryRecord> EntryRecord::read(Fd fd, Family family,
                                      const FoundEntry &found) {
  bpf_map_info info{};
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading the pinned entry record's layout failed");
  bool v4 = family == Family::V4;
  std::size_t row_size =
      v4 ? sizeof(xdpgate_v4_record) : sizeof(xdpgate_v6_record);
  if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != row_size)
    return Error{ErrorCode::KernelReadFailed,
                 "the pinned entry record has a layout this xdpgate does not "
                 "know; run `xdpgated --uninstall` with the same "
                 "--bpf-pin-dir, then start again"};
  EntryRecord record(family, std::move(fd), info.max_entries);
  const std::string what =
      v4 ? "the pinned IPv4 entry record" : "the pinned IPv6 entry record";
  if (v4) {
    Status read = read_array<xdpgate_v4_record>(
        record.fd(), what,
        [&](std::uint32_t slot, const xdpgate_v4_record &row) {
          if (row.listed && row.length <= 32)
            found(range_of(family, row), slot);
        });
    if (!read)
      return read.error();
    return record;
  }
  std::vector<bool> used(record.rows_);
  Status read = read_array<xdpgate_v6_record>(
      record.fd(), what, [&](std::uint32_t row, const xdpgate_v6_record &v) {
        if (!v.listed || v.length > 128 || row >= used.size())
          return;
        used[row] = true;
        if (v.slot >= record.row_of_slot_.size())
          record.row_of_slot_.resize(v.slot + 1);
        record.row_of_slot_[v.slot] = row;
        found(range_of(family, v), v.slot);
      });
  if (!read)
    return read.error();
  for (std::uint32_t row = record.rows_; row-- > 0;)
    if (!used[row])
      record.free_rows_.push_back(row);
  return record;
}

bool EntryRecord::fits(std::size_t count) const {
  return family_ == Family::V4 || free_rows_.size() >= count;
}

Status EntryRecord::write(std::span<const PrefixSlot> entries, const char *what,
                          std::uint32_t *done) {
  std::uint32_t count = static_cast<std::uint32_t>(entries.size());
  if (!fits(count))
    return Error{ErrorCode::KernelUpdateFailed,
                 std::string(what) + ": the entry record has no room left"};
  ListVector<std::uint32_t> rows;
  rows.reserve(count);
  if (family_ == Family::V4) {
    ListVector<xdpgate_v4_record> values;
    values.reserve(count);
    for (const PrefixSlot &e : entries) {
      rows.push_back(e.slot);
      values.push_back(v4_row(e.range));
    }
    return batch_update(fd(), rows.data(), values.data(), count, what, done);
  }
  ListVector<xdpgate_v6_record> values;
  values.reserve(count);
  for (const PrefixSlot &e : entries) {
    rows.push_back(free_rows_.back());
    free_rows_.pop_back();
    values.push_back(v6_row(e.range, e.slot));
  }
  std::uint32_t taken = 0;
  Status written =
      batch_update(fd(), rows.data(), values.data(), count, what, &taken);
  if (done)
    *done = taken;
  for (std::uint32_t i = 0; i < taken; ++i) {
    if (entries[i].slot >= row_of_slot_.size())
      row_of_slot_.resize(entries[i].slot + 1);
    row_of_slot_[entries[i].slot] = rows[i];
  }
  for (std::uint32_t i = count; i-- > taken;) // the rows not written
    free_rows_.push_back(rows[i]);
  return written;
}

Status EntryRecord::erase(const IpPrefix &range, std::uint32_t slot) {
  bool v4 = family_ == Family::V4;
  if (!v4 && slot >= row_of_slot_.size())
    return Error{ErrorCode::KernelUpdateFailed,
                 "the IPv6 entry record has no row for " + range.to_string() +
                     "; restart xdpgated, which rebuilds its tables"};
  std::uint32_t row = v4 ? slot : row_of_slot_[slot];
  xdpgate_v6_record free_row{}; // all zeroes: either layout's free row
  if (bpf_map_update_elem(fd(), &row, &free_row, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "removing " + range.to_string() +
                            " from the kernel allow list failed");
  if (!v4)
    free_rows_.push_back(row);
  return {};
}

} // namespace xdpgate
