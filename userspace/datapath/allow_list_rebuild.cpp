// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Changing the allow list atomically: a change of more than one range
// builds new tables and swaps them in, so that a packet is judged by the
// whole old list or the whole new one.
#include "datapath/allow_list_maps.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/allow_list_rows.hpp"
#include "datapath/allow_list_tables.hpp"

namespace xdpgate {

Status AllowListMaps::rebuild(FamilyMaps &maps,
                              const std::vector<IpPrefix> &added,
                              const std::vector<IpPrefix> &removed) {
  Result<std::vector<std::uint32_t>> new_slots = take_slots(added.size());
  if (!new_slots)
    return new_slots.error();
  auto failed = [&](Status s) {
    give_back(*new_slots);
    return s;
  };

  // Entries that stay keep their slot, and with it their counters. Each
  // leaving range is looked up once (plan() removes only listed ranges, each
  // once).
  std::vector<std::uint32_t> leaving_slots;
  leaving_slots.reserve(removed.size());
  SlotMarks leaving(2 * static_cast<std::size_t>(capacity_));
  TableRows leaving_hosts(maps.family);
  for (const IpPrefix &p : removed) {
    leaving_slots.push_back(*maps.slots.find(p));
    leaving.mark(leaving_slots.back());
    if (p.is_single_address())
      leaving_hosts.add_host(p, leaving_slots.back());
  }
  TableRows added_hosts(maps.family);
  for (std::size_t i = 0; i < added.size(); ++i)
    if (added[i].is_single_address())
      added_hosts.add_host(added[i], (*new_slots)[i]);
  TableRows rows(maps.family);
  rows.reserve(maps.slots.size() - removed.size() + added.size(),
               maps.host_count - leaving_hosts.host_values.size() +
                   added_hosts.host_values.size());
  for (const auto &[prefix, slot] : maps.slots)
    if (!leaving.marked(slot))
      rows.add(prefix, slot);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*new_slots)[i]);
  // One host table holds both lists' hosts until the lookup table has been
  // swapped: hosts are in no other table packets read, and a packet must
  // meet the old list's hosts as long as it can meet the old lookup table.
  // The live one, while it has room for them: the new hosts enter it before
  // the swaps, the leaving ones leave after: the host table's cost follows
  // the hosts that change, not the list.
  std::size_t both_lists_hosts =
      maps.host_count + added_hosts.host_values.size();
  bool hosts_in_place = both_lists_hosts <= maps.host_capacity;
  std::uint32_t host_capacity =
      hosts_in_place ? maps.host_capacity
                     : host_table_size(both_lists_hosts,
                                       2 * capacity_); // each list up to it
  Fd fresh_hosts;
  if (!hosts_in_place) {
    Result<Fd> created = create_host_table(maps.family, host_capacity);
    if (!created)
      return failed(created.error());
    fresh_hosts = std::move(created.value());
  }

  Result<EntryRecord> fresh =
      EntryRecord::create(maps.family, capacity_, rows.entries.size());
  if (!fresh)
    return failed(fresh.error());
  Status filled = stats_.clear(*new_slots);
  if (filled)
    filled = fresh->write(rows.entries, "filling the new allow list failed");
  for (const TableRows *hosts : {&rows, &leaving_hosts})
    if (filled && !hosts_in_place)
      filled = write_hosts(fresh_hosts.get(), *hosts,
                           "filling the new allow-list host table failed");
  if (!filled)
    return failed(filled);
  // The filters cover both lists across the swaps: the new entries' bits are
  // set first, the bits only leaving entries held are trimmed after.
  auto unfiltered = [&](Status s) {
    (void)host_filter_.remove(added);
    (void)block_filter_.remove(added);
    return failed(s);
  };
  if (Status s = host_filter_.add(added); !s) {
    (void)host_filter_.remove(added);
    return failed(s);
  }
  if (Status s = block_filter_.add(added); !s)
    return unfiltered(s);
  Result<PrefixTable> fresh_table =
      PrefixTable::holding(maps.family, rows.table_entries);
  if (!fresh_table)
    return unfiltered(fresh_table.error());
  // The host table of both lists' hosts first, then the record and the
  // lookup table; a failed step puts back what was changed before it.
  std::uint32_t hosts_entered = 0;
  auto restore_hosts = [&] {
    if (hosts_in_place)
      (void)delete_hosts(maps.hosts.get(), added_hosts, hosts_entered);
    else
      (void)swap_in(maps.outer.hosts, maps.hosts.get());
  };
  if (Status s = hosts_in_place
                     ? write_hosts(maps.hosts.get(), added_hosts,
                                   "adding the new list's addresses to the "
                                   "kernel host table failed",
                                   &hosts_entered)
                     : swap_in(maps.outer.hosts, fresh_hosts.get());
      !s) {
    restore_hosts();
    return unfiltered(s);
  }
  if (Status s = swap_in(maps.outer.entries, fresh->fd()); !s) {
    restore_hosts();
    return unfiltered(s);
  }
  if (Status s = swap_in(maps.outer.table, fresh_table->fd()); !s) {
    (void)swap_in(maps.outer.entries, maps.record->fd());
    restore_hosts();
    return unfiltered(s);
  }

  free_slots_.insert(free_slots_.end(), leaving_slots.begin(),
                     leaving_slots.end());
  maps.slots = SlotIndex(rows.entries);
  maps.record = std::move(fresh.value());
  if (!hosts_in_place)
    maps.hosts = std::move(fresh_hosts);
  maps.table = std::move(fresh_table.value());
  maps.host_capacity = host_capacity;
  maps.host_count = rows.host_values.size();
  // Now the leaving hosts go; if they cannot, a host table of the new
  // list's hosts alone takes the place of this one.
  Status pruned =
      delete_hosts(maps.hosts.get(), leaving_hosts,
                   static_cast<std::uint32_t>(leaving_hosts.host_values.size()))
          ? Status{}
          : rewrite_host_table(maps);
  // A table made for both lists' hosts, half as large again as the new
  // list's need, gives way to one of their size: its elements are
  // preallocated.
  std::uint32_t needed = host_table_size(maps.host_count, capacity_);
  if (pruned && maps.host_capacity > needed + needed / 2)
    pruned = rewrite_host_table(maps);
  Status hosts_cleared = host_filter_.remove(removed);
  Status blocks_cleared = block_filter_.remove(removed);
  if (!pruned)
    return pruned;
  return hosts_cleared ? blocks_cleared : hosts_cleared;
}

} // namespace xdpgate
