// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Making the allow list's kernel tables (the IPv4 lookup table from the
// trie's entries), and adopting the ones a previous process pinned (reading
// which slot each of their entries owns).
#include "datapath/allow_list_tables.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <vector>

#include "datapath/allow_list_maps.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

TableRange table_range(const IpPrefix &range) {
  return {static_cast<std::uint32_t>(range.addr[0]) << 24 |
              static_cast<std::uint32_t>(range.addr[1]) << 16 |
              static_cast<std::uint32_t>(range.addr[2]) << 8 | range.addr[3],
          range.length};
}

Status swap_in(int outer_fd, int inner_fd) {
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &inner_fd, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "swapping in the new allow-list table failed");
  return {};
}

std::uint32_t host_table_size(std::size_t hosts, std::uint32_t capacity) {
  std::uint64_t size = 1024;
  while (size < 2 * static_cast<std::uint64_t>(hosts))
    size *= 2;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, capacity));
}

Result<std::uint32_t> max_entries(int fd) {
  bpf_map_info info{};
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading an allow-list table's size failed");
  return info.max_entries;
}

AllowListMaps::AllowListMaps(int stats_fd, int host_filter_fd,
                             int block_filter_fd, std::uint32_t capacity)
    : stats_(stats_fd), capacity_(capacity),
      host_filter_(PresenceFilter::Kind::Hosts, host_filter_fd),
      block_filter_(PresenceFilter::Kind::Blocks, block_filter_fd) {}

Result<AllowListMaps> AllowListMaps::open(AllowOuterMaps v4, AllowOuterMaps v6,
                                          int stats_fd, int host_filter_fd,
                                          int block_filter_fd,
                                          std::uint32_t capacity) {
  AllowListMaps maps(stats_fd, host_filter_fd, block_filter_fd, capacity);
  maps.v4_.outer = v4;
  maps.v6_.outer = v6;
  for (Trie *trie : {&maps.v4_, &maps.v6_})
    if (Status s = maps.adopt(*trie); !s)
      return s.error();
  // Built anew, not adopted: a previous process may have stopped between
  // its trie and its table.
  if (Status s = maps.install_table(maps.v4_); !s)
    return s.error();

  std::vector<bool> used(2 * static_cast<std::size_t>(capacity));
  std::vector<IpPrefix> listed;
  listed.reserve(maps.v4_.slots.size() + maps.v6_.slots.size());
  for (const Trie *trie : {&maps.v4_, &maps.v6_})
    for (const auto &[prefix, slot] : trie->slots) {
      if (slot < used.size())
        used[slot] = true;
      listed.push_back(prefix);
    }
  // Whatever bits a previous process left, they now follow the tries (which
  // the program reads already, with the previous process's bits set).
  for (PresenceFilter *filter : {&maps.host_filter_, &maps.block_filter_})
    if (Status s = filter->reset(listed); !s)
      return s.error();
  for (std::uint32_t slot = 0; slot < 2 * capacity; ++slot)
    if (!used[slot])
      maps.free_slots_.push_back(slot);
  return maps;
}

Result<Fd> create_lpm_trie(Family family, std::uint32_t capacity) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const char *name = family == Family::V4 ? "xdpgate_allow4" : "xdpgate_allow6";
  int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, lpm_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "creating an allow-list trie failed (is the memlock "
                        "limit or the kernel memory too small?)");
  return Fd(fd);
}

Result<Fd> create_host_table(Family family, std::uint32_t capacity) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const char *name = family == Family::V4 ? "xdpgate_hosts4" : "xdpgate_hosts6";
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, host_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "creating an allow-list host table failed");
  return Fd(fd);
}

// The table an outer slot holds, or a new empty one put there.
Result<Fd> AllowListMaps::adopt_table(int outer_fd,
                                      Result<Fd> (*create)(Family,
                                                           std::uint32_t),
                                      Family family, std::uint32_t size) {
  std::uint32_t inner_id = 0;
  if (bpf_map_lookup_elem(outer_fd, &kOuterSlot, &inner_id) == 0) {
    int fd = bpf_map_get_fd_by_id(inner_id);
    if (fd < 0)
      return system_error(ErrorCode::KernelReadFailed,
                          "opening a pinned allow-list table failed");
    return Fd(fd);
  }
  Result<Fd> fresh = create(family, size);
  if (!fresh)
    return fresh;
  int fd = fresh->get();
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &fd, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "installing an allow-list table failed");
  return fresh;
}

Status AllowListMaps::adopt(Trie &trie) {
  Result<Fd> inner =
      adopt_table(trie.outer.trie, create_lpm_trie, trie.family, capacity_);
  if (!inner)
    return inner.error();
  Result<Fd> hosts = adopt_table(trie.outer.hosts, create_host_table,
                                 trie.family, host_table_size(0, capacity_));
  if (!hosts)
    return hosts.error();
  Result<std::uint32_t> host_capacity = max_entries(hosts->get());
  if (!host_capacity)
    return host_capacity.error();
  trie.inner = std::move(inner.value());
  trie.hosts = std::move(hosts.value());
  trie.host_capacity = *host_capacity;
  // The trie holds every entry: it alone tells which slot each one owns.
  if (Status s = read_slots(trie); !s)
    return s;
  // A table from an older xdpgate may be too small for what it now holds.
  if (trie.host_count > trie.host_capacity)
    return grow_host_table(trie);
  return {};
}

// Reads the trie's entries in batches (a system call per few thousand: a
// million-entry trie is read in a fraction of a second, not seconds), or one
// by one where the kernel has no batches for tries.
Status AllowListMaps::read_slots(Trie &trie) {
  constexpr std::uint32_t kBatch = 4096;
  const std::size_t key_size = lpm_key_size(trie.family);
  std::vector<std::uint8_t> keys(kBatch * key_size);
  std::vector<xdpgate_allow_value> values(kBatch);
  LpmKey in{}, out{};
  for (bool first = true;; first = false) {
    std::uint32_t got = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(
        trie.inner.get(), first ? nullptr : in.bytes.data(), out.bytes.data(),
        keys.data(), values.data(), &got, &opts);
    if (err != 0 && first &&
        (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP))
      return read_slots_one_by_one(trie);
    // ENOENT marks the last batch, which may still carry entries.
    if (err != 0 && errno != ENOENT)
      return system_error(ErrorCode::KernelReadFailed,
                          "reading a pinned allow-list trie failed");
    for (std::uint32_t k = 0; k < got; ++k) {
      LpmKey key{};
      std::copy_n(keys.begin() + static_cast<std::ptrdiff_t>(k * key_size),
                  key_size, key.bytes.begin());
      record(trie, key, values[k]);
    }
    if (err != 0 || got == 0)
      return {};
    in = out;
  }
}

Status AllowListMaps::read_slots_one_by_one(Trie &trie) {
  LpmKey key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(trie.inner.get(), prev, next.bytes.data()) == 0) {
    key = next;
    prev = key.bytes.data();
    xdpgate_allow_value value{};
    if (bpf_map_lookup_elem(trie.inner.get(), key.bytes.data(), &value) == 0)
      record(trie, key, value);
  }
  return {};
}

void AllowListMaps::record(Trie &trie, const LpmKey &key,
                           const xdpgate_allow_value &value) {
  IpPrefix range = prefix_from_lpm_key(trie.family, key);
  trie.host_count += range.is_single_address();
  trie.slots.emplace(range, value.slot);
}

Status AllowListMaps::install_table(Trie &trie) {
  std::vector<TableEntry> entries;
  entries.reserve(trie.slots.size());
  for (const auto &[prefix, slot] : trie.slots)
    entries.push_back({table_range(prefix), slot});
  Result<KernelTable> built = KernelTable::holding(std::move(entries));
  if (!built)
    return built.error();
  if (Status s = swap_in(trie.outer.table, built->fd()); !s)
    return s;
  trie.table = std::move(built.value());
  return {};
}

std::optional<TableEntry> AllowListMaps::heir_of(const Trie &trie,
                                                 const IpPrefix &range) {
  for (int length = range.length - 1; length >= 0; --length) {
    IpPrefix wider = range.widened_to(static_cast<std::uint8_t>(length));
    if (auto owned = trie.slots.find(wider); owned != trie.slots.end())
      return TableEntry{table_range(wider), owned->second};
  }
  return std::nullopt;
}

} // namespace xdpgate
