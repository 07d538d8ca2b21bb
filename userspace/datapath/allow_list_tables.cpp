// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Making the allow list's kernel tables (the lookup tables from the
// records), and adopting the ones a previous process pinned (reading which
// slot each of their entries owns).
#include "datapath/allow_list_tables.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <utility>
#include <vector>

#include "datapath/allow_list_maps.hpp"
#include "datapath/allow_list_rows.hpp"
#include "datapath/entry_map.hpp"
#include "datapath/lpm_key.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

Status swap_in(int outer_fd, int inner_fd) {
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &inner_fd, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "swapping in the new allow-list table failed");
  return {};
}

std::uint32_t host_table_size(std::size_t hosts, std::uint32_t capacity) {
  std::uint64_t size = std::max<std::uint64_t>(1024, hosts + hosts / 8);
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, capacity));
}

Status batch_update(int fd, const void *keys, const void *values,
                    std::uint32_t count, const char *what,
                    std::uint32_t *done) {
  std::uint32_t taken = count;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err =
      count == 0 ? 0 : bpf_map_update_batch(fd, keys, values, &taken, &opts);
  if (done)
    *done = taken;
  if (err != 0)
    return system_error(ErrorCode::KernelUpdateFailed, what);
  return {};
}

Result<std::uint32_t> max_entries(int fd) {
  bpf_map_info info{};
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading an allow-list table's size failed");
  return info.max_entries;
}

AllowListMaps::AllowListMaps(EntryStats stats, int host_filter_fd,
                             int block_filter_fd, std::uint32_t capacity)
    : stats_(std::move(stats)), capacity_(capacity),
      host_filter_(PresenceFilter::Kind::Hosts, host_filter_fd),
      block_filter_(PresenceFilter::Kind::Blocks, block_filter_fd) {}

Result<AllowListMaps> AllowListMaps::open(AllowOuterMaps v4, AllowOuterMaps v6,
                                          EntryStats stats, int host_filter_fd,
                                          int block_filter_fd,
                                          std::uint32_t capacity) {
  AllowListMaps allow(std::move(stats), host_filter_fd, block_filter_fd,
                      capacity);
  allow.v4_.outer = v4;
  allow.v6_.outer = v6;
  for (FamilyMaps *maps : {&allow.v4_, &allow.v6_})
    if (Status s = allow.adopt(*maps); !s)
      return s.error();
  // Built anew, not adopted: a previous process may have stopped between
  // its entry map and its table.
  for (FamilyMaps *maps : {&allow.v4_, &allow.v6_})
    if (Status s = allow.install_table(*maps); !s)
      return s.error();

  std::vector<bool> used(2 * static_cast<std::size_t>(capacity));
  std::vector<IpPrefix> listed;
  listed.reserve(allow.v4_.slots.size() + allow.v6_.slots.size());
  for (const FamilyMaps *maps : {&allow.v4_, &allow.v6_})
    for (const auto &[prefix, slot] : maps->slots) {
      if (slot < used.size())
        used[slot] = true;
      allow.stats_.in_use(slot);
      listed.push_back(prefix);
    }
  // Whatever bits a previous process left, they now follow the entries
  // (which the program reads already, with the previous process's bits set).
  for (PresenceFilter *filter : {&allow.host_filter_, &allow.block_filter_})
    if (Status s = filter->reset(listed); !s)
      return s.error();
  for (std::uint32_t slot = 0; slot < 2 * capacity; ++slot)
    if (!used[slot])
      allow.free_slots_.push_back(slot);
  return allow;
}

Result<Fd> create_host_table(Family family, std::uint32_t capacity) {
  const char *name = family == Family::V4 ? "xdpgate_hosts4" : "xdpgate_hosts6";
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, host_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, nullptr);
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

Status AllowListMaps::adopt(FamilyMaps &maps) {
  Result<Fd> record_map =
      adopt_table(maps.outer.entries, create_record_map, maps.family,
                  EntryRecord::rows_for(maps.family, capacity_, 0));
  if (!record_map)
    return record_map.error();
  Result<Fd> hosts = adopt_table(maps.outer.hosts, create_host_table,
                                 maps.family, host_table_size(0, capacity_));
  if (!hosts)
    return hosts.error();
  Result<std::uint32_t> host_capacity = max_entries(hosts->get());
  if (!host_capacity)
    return host_capacity.error();
  maps.hosts = std::move(hosts.value());
  maps.host_capacity = *host_capacity;
  // The record alone tells which slot each entry owns.
  auto found = [&](const IpPrefix &range, std::uint32_t slot) {
    maps.host_count += range.is_single_address();
    maps.slots.insert(range, slot);
  };
  Result<EntryRecord> record =
      EntryRecord::read(std::move(record_map.value()), maps.family, found);
  if (!record)
    return record.error();
  maps.record = std::move(record.value());
  bool from_legacy = maps.slots.empty() && maps.outer.legacy_entries >= 0;
  if (from_legacy)
    if (Status s =
            read_legacy_trie(maps.outer.legacy_entries, maps.family, found);
        !s)
      return s;
  // An IPv4 record made for a smaller capacity has no room for the new
  // slots.
  bool too_small =
      maps.record->rows() < EntryRecord::rows_for(maps.family, capacity_, 0);
  if (from_legacy || too_small)
    if (Status s = rewrite_record(maps, 0); !s)
      return s;
  // The host table must hold exactly the entries' hosts (IPv4 hosts are
  // nowhere else), which a process stopped between the two writes of a
  // host's add or delete did not leave; nor one of an older xdpgate, too
  // small for what it now holds. Else it is made anew.
  std::size_t agreeing = 0, hosts_read = 0;
  Status read = read_hosts(maps.hosts.get(), maps.family,
                           [&](const IpPrefix &host, std::uint32_t slot) {
                             ++hosts_read;
                             agreeing += maps.slots.find(host) == slot;
                           });
  if (!read || hosts_read != maps.host_count || agreeing != maps.host_count ||
      maps.host_count > maps.host_capacity)
    return rewrite_host_table(maps);
  return {};
}

Status AllowListMaps::rewrite_record(FamilyMaps &maps, std::size_t more) {
  // Room for every slot read back, even from a larger capacity.
  std::uint32_t capacity = capacity_;
  std::vector<PrefixSlot> entries;
  entries.reserve(maps.slots.size());
  for (const auto &[range, slot] : maps.slots) {
    capacity = std::max(capacity, slot / 2 + 1);
    entries.push_back({range, slot});
  }
  Result<EntryRecord> fresh =
      EntryRecord::create(maps.family, capacity, entries.size() + more);
  if (!fresh)
    return fresh.error();
  if (Status s = fresh->write(entries, "writing a new entry record failed"); !s)
    return s;
  if (Status s = swap_in(maps.outer.entries, fresh->fd()); !s)
    return s;
  maps.record = std::move(fresh.value());
  return {};
}

// A host table of every full-length entry, sized for them, swapped in: when
// the old one is full (an address it has no room for is allowed from the
// swap on), or disagrees with the entries.
Status AllowListMaps::rewrite_host_table(FamilyMaps &maps) {
  std::uint32_t size = host_table_size(maps.host_count, capacity_);
  Result<Fd> fresh = create_host_table(maps.family, size);
  if (!fresh)
    return fresh.error();
  TableRows rows(maps.family);
  for (const auto &[prefix, slot] : maps.slots)
    if (prefix.is_single_address())
      rows.add_host(prefix, slot);
  if (Status s = write_hosts(fresh->get(), rows,
                             "filling a larger allow-list host table failed");
      !s)
    return s;
  if (Status s = swap_in(maps.outer.hosts, fresh->get()); !s)
    return s;
  maps.hosts = std::move(fresh.value());
  maps.host_capacity = size;
  return {};
}

Status AllowListMaps::install_table(FamilyMaps &maps) {
  std::vector<PrefixSlot> entries;
  entries.reserve(maps.slots.size());
  for (const auto &[prefix, slot] : maps.slots)
    if (!prefix.is_single_address()) // hosts: the host table's alone
      entries.push_back({prefix, slot});
  Result<PrefixTable> built = PrefixTable::holding(maps.family, entries);
  if (!built)
    return built.error();
  if (Status s = swap_in(maps.outer.table, built->fd()); !s)
    return s;
  maps.table = std::move(built.value());
  return {};
}

std::optional<PrefixSlot> AllowListMaps::heir_of(const FamilyMaps &maps,
                                                 const IpPrefix &range) {
  for (int length = range.length - 1; length >= 0; --length) {
    IpPrefix wider = range.widened_to(static_cast<std::uint8_t>(length));
    if (std::optional<std::uint32_t> owned = maps.slots.find(wider))
      return PrefixSlot{wider, *owned};
  }
  return std::nullopt;
}

} // namespace xdpgate
