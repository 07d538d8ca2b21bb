// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Changing the allow list in the kernel: plans and in-place changes
// (allow_list_rebuild.cpp makes atomic changes, allow_list_tables.cpp makes
// and adopts the tables, allow_list_reads.cpp answers what they hold).
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>

#include "datapath/allow_list_rows.hpp"
#include "datapath/allow_list_tables.hpp"
#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

AllowListChange
AllowListMaps::change_to(const std::vector<IpPrefix> &desired) const {
  // Marks the slots of the listed ranges that stay: the others leave. (A
  // bit per slot, not a set of a million ranges: a start on a 1M list
  // finds nothing to change in a fraction of the time.)
  SlotMarks kept(2 * static_cast<std::size_t>(capacity_));
  AllowListChange change;
  change.atomic = true;
  auto slots_of = [&](const IpPrefix &p) -> const SlotIndex & {
    return (p.family == Family::V4 ? v4_ : v6_).slots;
  };
  for (std::size_t i = 0; i < desired.size(); ++i) {
    const IpPrefix &p = desired[i];
    if (std::size_t ahead = i + SlotIndex::kPrefetchAhead;
        ahead < desired.size())
      slots_of(desired[ahead]).prefetch(desired[ahead]);
    if (std::optional<std::uint32_t> owned = slots_of(p).find(p))
      kept.mark(*owned);
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
    if (std::optional<std::uint32_t> owned = slots.find(change.removed[i])) {
      removed_slot[i] = *owned;
      leaving.mark(*owned);
    }
  }
  // Each range once: an index serves as the set of ranges met (sorting a
  // million ranges to find the repeats took twice as long).
  SlotIndex met;
  met.reserve(change.added.size());
  for (std::size_t i = 0; i < change.added.size(); ++i) {
    const IpPrefix &p = change.added[i];
    if (std::size_t ahead = i + SlotIndex::kPrefetchAhead;
        ahead < change.added.size()) {
      met.prefetch(change.added[ahead]);
      maps_of(change.added[ahead]).slots.prefetch(change.added[ahead]);
    }
    if (!met.insert(p, 0))
      continue; // a repeat
    if (std::optional<std::uint32_t> owned = maps_of(p).slots.find(p))
      leaving.clear(*owned);
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
    const Plan::Part &part = plan.parts[i];
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
    std::uint32_t slot = *maps.slots.find(leaving);
    if (Status s = maps.record->erase(leaving, slot); !s)
      return s;
    free_slots_.push_back(slot);
    maps.slots.erase(leaving);
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
    maps.slots.insert(added[i], (*slots)[i]);
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

} // namespace xdpgate
