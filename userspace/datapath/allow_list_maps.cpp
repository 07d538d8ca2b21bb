// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Changing the allow list in the kernel: plans, in-place changes and atomic
// rebuilds (allow_list_tables.cpp makes and adopts the tables,
// allow_list_reads.cpp answers what they hold).
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>

#include "datapath/allow_list_tables.hpp"
#include "datapath/lpm_key.hpp"
#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

// A bit per entry slot, to mark a set of listed ranges by their slots: at a
// million ranges, a hash set of them took seconds to build. Takes its
// memory at the first mark.
class SlotMarks {
public:
  explicit SlotMarks(std::size_t slots) : slots_(slots) {}

  void mark(std::uint32_t slot) {
    if (slot >= marks_.size()) // a slot left by a larger capacity
      marks_.resize(std::max<std::size_t>(slots_, slot + 1));
    marks_[slot] = true;
  }
  void clear(std::uint32_t slot) {
    if (slot < marks_.size())
      marks_[slot] = false;
  }
  bool marked(std::uint32_t slot) const {
    return slot < marks_.size() && marks_[slot];
  }

private:
  std::size_t slots_;
  std::vector<bool> marks_;
};

// Rows for one family's record, host table and lookup table.
struct TableRows {
  explicit TableRows(Family family) : host_size(host_key_size(family)) {}

  void add(const IpPrefix &range, std::uint32_t slot) {
    entries.push_back({range, slot});
    if (range.is_single_address())
      add_host(range, slot);
    else
      table_entries.push_back({range, slot});
  }

  void add_host(const IpPrefix &address, std::uint32_t slot) {
    host_keys.insert(host_keys.end(), address.addr.begin(),
                     address.addr.begin() + host_size);
    host_values.push_back({slot});
  }

  std::vector<PrefixSlot> entries;
  std::size_t host_size;
  std::vector<std::uint8_t> host_keys;
  std::vector<xdpgate_allow_value> host_values;
  std::vector<PrefixSlot> table_entries; // all but the hosts
};

Status write_hosts(int host_table_fd, const TableRows &hosts, const char *what,
                   std::uint32_t *done = nullptr) {
  return batch_update(
      host_table_fd, hosts.host_keys.data(), hosts.host_values.data(),
      static_cast<std::uint32_t>(hosts.host_values.size()), what, done);
}

// Deletes the first `count` of `hosts`' addresses from a host table.
bool delete_hosts(int host_table_fd, const TableRows &hosts,
                  std::uint32_t count) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  return count == 0 ||
         bpf_map_delete_batch(host_table_fd, hosts.host_keys.data(), &count,
                              &opts) == 0;
}

} // namespace

AllowListChange
AllowListMaps::change_to(const std::vector<IpPrefix> &desired) const {
  // Marks the slots of the listed ranges that stay: the others leave. (A
  // bit per slot, not a set of a million ranges: a start on a 1M list
  // finds nothing to change in a fraction of the time.)
  SlotMarks kept(2 * static_cast<std::size_t>(capacity_));
  AllowListChange change;
  change.atomic = true;
  for (const IpPrefix &p : desired) {
    const auto &slots = (p.family == Family::V4 ? v4_ : v6_).slots;
    if (auto owned = slots.find(p); owned != slots.end())
      kept.mark(owned->second);
    else
      change.added.push_back(p); // plan() drops repeats
  }
  for (const FamilyMaps *maps : {&v4_, &v6_})
    for (const auto &[prefix, slot] : maps->slots)
      if (!kept.marked(slot))
        change.removed.push_back(prefix);
  return change;
}

Status AllowListMaps::sync(const std::vector<IpPrefix> &desired) {
  return apply(change_to(desired));
}

Result<AllowListMaps::Plan>
AllowListMaps::plan(const AllowListChange &change) const {
  // Per family, each range once, and only what changes the kernel.
  Plan plan;
  auto part_of = [&](const IpPrefix &p) -> Plan::Part & {
    return plan.parts[p.family == Family::V4 ? 0 : 1];
  };
  auto maps_of = [&](const IpPrefix &p) -> const FamilyMaps & {
    return p.family == Family::V4 ? v4_ : v6_;
  };
  // The listed ranges that leave, marked on their slots; a range that
  // leaves and enters again stays.
  constexpr std::uint32_t kUnlisted = static_cast<std::uint32_t>(-1);
  std::vector<std::uint32_t> removed_slot(change.removed.size(), kUnlisted);
  SlotMarks leaving(2 * static_cast<std::size_t>(capacity_));
  for (std::size_t i = 0; i < change.removed.size(); ++i) {
    const auto &slots = maps_of(change.removed[i]).slots;
    if (auto owned = slots.find(change.removed[i]); owned != slots.end()) {
      removed_slot[i] = owned->second;
      leaving.mark(owned->second);
    }
  }
  for (const IpPrefix &p : change.added) {
    const auto &slots = maps_of(p).slots;
    if (auto owned = slots.find(p); owned != slots.end())
      leaving.clear(owned->second);
    else
      part_of(p).added.push_back(p);
  }
  for (std::size_t i = 0; i < change.removed.size(); ++i)
    if (removed_slot[i] != kUnlisted && leaving.marked(removed_slot[i])) {
      leaving.clear(removed_slot[i]); // once, even if asked twice
      part_of(change.removed[i]).removed.push_back(change.removed[i]);
    }
  const FamilyMaps *families[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i) {
    Plan::Part &part = plan.parts[i];
    std::sort(part.added.begin(), part.added.end());
    part.added.erase(std::unique(part.added.begin(), part.added.end()),
                     part.added.end());
    std::size_t after =
        families[i]->slots.size() + part.added.size() - part.removed.size();
    if (after > capacity_)
      return Error{ErrorCode::CapacityExceeded,
                   "the allow list would hold " + std::to_string(after) +
                       (i == 0 ? " IPv4" : " IPv6") +
                       " ranges, more than the capacity of " +
                       std::to_string(capacity_) +
                       "; raise `capacity` in the configuration"};
  }
  return plan;
}

Status AllowListMaps::admits(const AllowListChange &change) const {
  Result<Plan> planned = plan(change);
  if (!planned)
    return planned.error();
  return {};
}

Status AllowListMaps::apply(const AllowListChange &change) {
  Result<Plan> planned = plan(change);
  if (!planned)
    return planned.error();
  FamilyMaps *families[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i)
    if (Status s = apply_to(*families[i], planned->parts[i].added,
                            planned->parts[i].removed, change.atomic);
        !s)
      return s;
  return {};
}

Status AllowListMaps::apply_to(FamilyMaps &maps,
                               const std::vector<IpPrefix> &added,
                               const std::vector<IpPrefix> &removed,
                               bool atomic) {
  if (atomic && added.size() + removed.size() > 1)
    return rebuild(maps, added, removed);
  // Removals first: they free the slots the additions may need.
  if (Status s = remove_in_place(maps, removed); !s)
    return s;
  return add_in_place(maps, added);
}

Result<std::vector<std::uint32_t>>
AllowListMaps::take_slots(std::size_t count) {
  if (free_slots_.size() < count)
    return Error{ErrorCode::CapacityExceeded,
                 "no free entry slot is left; raise "
                 "`capacity` in the configuration"};
  std::vector<std::uint32_t> taken(free_slots_.begin(),
                                   free_slots_.begin() + count);
  free_slots_.erase(free_slots_.begin(), free_slots_.begin() + count);
  return taken;
}

void AllowListMaps::give_back(const std::vector<std::uint32_t> &slots) {
  free_slots_.insert(free_slots_.begin(), slots.begin(), slots.end());
}

Status AllowListMaps::remove_in_place(FamilyMaps &maps,
                                      const std::vector<IpPrefix> &removed) {
  // Filter bits clear only after their entries have left the tables.
  std::vector<IpPrefix> gone;
  Status s = remove_each(maps, removed, gone);
  Status hosts_cleared = host_filter_.remove(gone);
  Status blocks_cleared = block_filter_.remove(gone);
  if (!s)
    return s;
  return hosts_cleared ? blocks_cleared : hosts_cleared;
}

Status AllowListMaps::remove_each(FamilyMaps &maps,
                                  const std::vector<IpPrefix> &removed,
                                  std::vector<IpPrefix> &gone) {
  for (const IpPrefix &leaving : removed) {
    // A host leaves its host table, the only one packets find it in.
    if (leaving.is_single_address() &&
        bpf_map_delete_elem(maps.hosts.get(), leaving.addr.data()) != 0 &&
        errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing " + leaving.to_string() +
                              " from the kernel host table failed");
    // Any other range leaves the lookup table, where the covering range
    // takes its cells back. A remove cut short leaves a table half changed:
    // one built anew from the entries, where the range is still listed,
    // takes its place.
    if (!leaving.is_single_address())
      if (Status s = maps.table->remove(leaving, heir_of(maps, leaving)); !s) {
        (void)install_table(maps);
        return s;
      }
    auto owned = maps.slots.find(leaving);
    if (Status s = maps.record->erase(leaving, owned->second); !s)
      return s;
    free_slots_.push_back(owned->second);
    maps.slots.erase(owned);
    maps.host_count -= leaving.is_single_address();
    gone.push_back(leaving);
  }
  return {};
}

Status AllowListMaps::add_in_place(FamilyMaps &maps,
                                   const std::vector<IpPrefix> &added) {
  if (added.empty())
    return {};
  if (!maps.record->fits(added.size()))
    if (Status s = rewrite_record(maps, added.size()); !s)
      return s;
  Result<std::vector<std::uint32_t>> slots = take_slots(added.size());
  if (!slots)
    return slots.error();
  if (Status s = stats_.clear(*slots); !s) {
    give_back(*slots);
    return s;
  }
  // Filter bits are set before their entries enter the tables.
  auto unfiltered = [&](Status s, std::size_t from) {
    std::vector<IpPrefix> left(added.begin() + from, added.end());
    (void)host_filter_.remove(left);
    (void)block_filter_.remove(left);
    return s;
  };
  if (Status s = host_filter_.add(added); !s) {
    give_back(*slots);
    (void)host_filter_.remove(added);
    return s;
  }
  if (Status s = block_filter_.add(added); !s) {
    give_back(*slots);
    return unfiltered(s, 0);
  }
  TableRows rows(maps.family);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*slots)[i]);
  // The record first (what the lookup table follows), then the lookup
  // table, then the host table: a host is allowed from its host table's
  // write on.
  // `slots` records exactly what the kernel took, even on failure.
  std::uint32_t done = 0;
  Status filled = maps.record->write(
      rows.entries, "adding ranges to the kernel allow list failed", &done);
  for (std::uint32_t i = 0; i < done; ++i) {
    maps.slots.emplace(added[i], (*slots)[i]);
    maps.host_count += added[i].is_single_address();
  }
  // The lookup table takes a range in place while it has rows for its
  // groups, or is rebuilt larger with every entry listed (as it is, too, if
  // a page of it could not be mapped).
  for (std::uint32_t i = 0; i < done; ++i) {
    if (added[i].is_single_address())
      continue;
    Result<bool> inserted = maps.table->insert({added[i], (*slots)[i]});
    if (inserted && *inserted)
      continue;
    if (Status s = install_table(maps); !s) {
      give_back({slots->begin() + done, slots->end()});
      return unfiltered(s, done);
    }
    break;
  }
  if (!filled) {
    give_back({slots->begin() + done, slots->end()});
    return unfiltered(filled, done);
  }
  if (maps.host_count > maps.host_capacity)
    return rewrite_host_table(maps);
  return write_hosts(maps.hosts.get(), rows,
                     "adding addresses to the kernel host table failed");
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
  // once), and leaves through its iterator after the swap.
  using Owned = decltype(maps.slots)::iterator;
  std::vector<Owned> owned_by_leaving;
  owned_by_leaving.reserve(removed.size());
  SlotMarks leaving(2 * static_cast<std::size_t>(capacity_));
  for (const IpPrefix &p : removed) {
    owned_by_leaving.push_back(maps.slots.find(p));
    leaving.mark(owned_by_leaving.back()->second);
  }
  TableRows rows(maps.family);
  for (const auto &[prefix, slot] : maps.slots)
    if (!leaving.marked(slot))
      rows.add(prefix, slot);
  TableRows added_hosts(maps.family);
  for (std::size_t i = 0; i < added.size(); ++i) {
    rows.add(added[i], (*new_slots)[i]);
    if (added[i].is_single_address())
      added_hosts.add_host(added[i], (*new_slots)[i]);
  }
  // One host table holds both lists' hosts until the lookup table has been
  // swapped: hosts are in no other table packets read, and a packet must
  // meet the old list's hosts as long as it can meet the old lookup table.
  // The live one, while it has room for them: the new hosts enter it before
  // the swaps, the leaving ones leave after: the host table's cost follows
  // the hosts that change, not the list.
  TableRows leaving_hosts(maps.family);
  for (Owned owned : owned_by_leaving)
    if (owned->first.is_single_address())
      leaving_hosts.add_host(owned->first, owned->second);
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

  for (Owned owned : owned_by_leaving) {
    free_slots_.push_back(owned->second);
    maps.slots.erase(owned);
  }
  // Grown once, not by rehashing a million entries step by step.
  maps.slots.reserve(maps.slots.size() + added.size());
  for (std::size_t i = 0; i < added.size(); ++i)
    maps.slots.emplace(added[i], (*new_slots)[i]);
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
