// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/entry_map.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>

#include "datapath/allow_list_tables.hpp"
#include "datapath/map_batches.hpp"

namespace xdpgate {

namespace {

xdpgate_v4_record record_of(const IpPrefix &range) {
  xdpgate_v4_record record{};
  std::copy_n(range.addr.begin(), 4, record.addr);
  record.length = range.length;
  record.listed = 1;
  return record;
}

IpPrefix range_of(const xdpgate_v4_record &record) {
  IpPrefix range;
  range.family = Family::V4;
  std::copy_n(record.addr, 4, range.addr.begin());
  range.length = record.length;
  return range;
}

using Found = std::function<void(const IpPrefix &, std::uint32_t)>;

Status read_record(int fd, const Found &found) {
  return read_array<xdpgate_v4_record>(
      fd, "the pinned IPv4 entry record",
      [&](std::uint32_t slot, const xdpgate_v4_record &record) {
        if (record.listed && record.length <= 32)
          found(range_of(record), slot);
      });
}

Status read_trie_one_by_one(int fd, Family family, const Found &found) {
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

// In batches, or one by one where the kernel has no batches for tries.
Status read_trie(int fd, Family family, const Found &found) {
  bool no_batches = false;
  Status read = read_in_batches(
      fd, lpm_key_size(family), sizeof(xdpgate_allow_value),
      "a pinned allow-list trie",
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

} // namespace

Status read_hosts(int fd, Family family, const Found &found) {
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

Result<Fd> create_entry_map(Family family, std::uint32_t capacity) {
  if (family == Family::V6)
    return create_lpm_trie(family, capacity);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xdpgate_record4",
                          sizeof(std::uint32_t), sizeof(xdpgate_v4_record),
                          2 * capacity, &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "creating the IPv4 entry record failed (is the "
                        "memlock limit or the kernel memory too small?)");
  return Fd(fd);
}

void EntryRows::add(const IpPrefix &range, std::uint32_t slot) {
  slots_.push_back(slot);
  if (family_ == Family::V4) {
    records_.push_back(record_of(range));
    return;
  }
  LpmKey key = lpm_key(range);
  keys_.insert(keys_.end(), key.bytes.begin(), key.bytes.begin() + key_size_);
}

Status EntryRows::write_to(int fd, const char *what,
                           std::uint32_t *done) const {
  if (family_ == Family::V4)
    return batch_update(fd, slots_.data(), records_.data(), size(), what, done);
  // The trie's value is the slot (struct xdpgate_allow_value).
  return batch_update(fd, keys_.data(), slots_.data(), size(), what, done);
}

Status erase_entry(int fd, const IpPrefix &range, std::uint32_t slot) {
  if (range.family == Family::V4) {
    xdpgate_v4_record free_slot{};
    if (bpf_map_update_elem(fd, &slot, &free_slot, BPF_ANY) == 0)
      return {};
  } else if (LpmKey key = lpm_key(range);
             bpf_map_delete_elem(fd, key.bytes.data()) == 0 ||
             errno == ENOENT) {
    return {};
  }
  return system_error(ErrorCode::KernelUpdateFailed,
                      "removing " + range.to_string() +
                          " from the kernel allow list failed");
}

Status read_entries(int fd, Family family, const Found &found) {
  bpf_map_info info{};
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading a pinned allow-list map's type failed");
  if (info.type == BPF_MAP_TYPE_ARRAY)
    return read_record(fd, found);
  return read_trie(fd, family, found);
}

} // namespace xdpgate
