// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Changing the allow list in the kernel: plans, in-place changes, atomic
// rebuilds, and reads (allow_list_tables.cpp makes and adopts the tables).
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>

#include "datapath/allow_list_tables.hpp"
#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

// `done`, if given, gets how many rows the kernel took, even on failure.
Status batch_update(int fd, const void *keys, const void *values,
                    std::uint32_t count, const char *what,
                    std::uint32_t *done = nullptr) {
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

// Rows for one family's trie and host table, in the kernel's layouts.
struct TableRows {
  explicit TableRows(Family family)
      : key_size(lpm_key_size(family)), host_size(host_key_size(family)) {}

  void add(const IpPrefix &range, std::uint32_t slot) {
    LpmKey key = lpm_key(range);
    keys.insert(keys.end(), key.bytes.begin(), key.bytes.begin() + key_size);
    values.push_back({slot});
    if (range.is_single_address())
      add_host(range, slot);
    if (range.family == Family::V4)
      table_entries.push_back({table_range(range), slot});
  }

  void add_host(const IpPrefix &address, std::uint32_t slot) {
    host_keys.insert(host_keys.end(), address.addr.begin(),
                     address.addr.begin() + host_size);
    host_values.push_back({slot});
  }

  std::size_t key_size, host_size;
  std::vector<std::uint8_t> keys;
  std::vector<xdpgate_allow_value> values;
  std::vector<std::uint8_t> host_keys;
  std::vector<xdpgate_allow_value> host_values;
  std::vector<TableEntry> table_entries; // IPv4
};

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
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[prefix, slot] : trie->slots)
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
  auto trie_of = [&](const IpPrefix &p) -> const Trie & {
    return p.family == Family::V4 ? v4_ : v6_;
  };
  // The listed ranges that leave, marked on their slots; a range that
  // leaves and enters again stays.
  constexpr std::uint32_t kUnlisted = static_cast<std::uint32_t>(-1);
  std::vector<std::uint32_t> removed_slot(change.removed.size(), kUnlisted);
  SlotMarks leaving(2 * static_cast<std::size_t>(capacity_));
  for (std::size_t i = 0; i < change.removed.size(); ++i) {
    const auto &slots = trie_of(change.removed[i]).slots;
    if (auto owned = slots.find(change.removed[i]); owned != slots.end()) {
      removed_slot[i] = owned->second;
      leaving.mark(owned->second);
    }
  }
  for (const IpPrefix &p : change.added) {
    const auto &slots = trie_of(p).slots;
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
  const Trie *tries[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i) {
    Plan::Part &part = plan.parts[i];
    std::sort(part.added.begin(), part.added.end());
    part.added.erase(std::unique(part.added.begin(), part.added.end()),
                     part.added.end());
    std::size_t after =
        tries[i]->slots.size() + part.added.size() - part.removed.size();
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
  Trie *tries[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i)
    if (Status s = apply_to(*tries[i], planned->parts[i].added,
                            planned->parts[i].removed, change.atomic);
        !s)
      return s;
  return {};
}

Status AllowListMaps::apply_to(Trie &trie, const std::vector<IpPrefix> &added,
                               const std::vector<IpPrefix> &removed,
                               bool atomic) {
  if (atomic && added.size() + removed.size() > 1)
    return rebuild(trie, added, removed);
  // Removals first: they free the slots the additions may need.
  if (Status s = remove_in_place(trie, removed); !s)
    return s;
  return add_in_place(trie, added);
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

Status AllowListMaps::remove_in_place(Trie &trie,
                                      const std::vector<IpPrefix> &removed) {
  // Filter bits clear only after their entries have left the tables.
  std::vector<IpPrefix> gone;
  Status s = remove_each(trie, removed, gone);
  Status hosts_cleared = host_filter_.remove(gone);
  Status blocks_cleared = block_filter_.remove(gone);
  if (!s)
    return s;
  return hosts_cleared ? blocks_cleared : hosts_cleared;
}

Status AllowListMaps::remove_each(Trie &trie,
                                  const std::vector<IpPrefix> &removed,
                                  std::vector<IpPrefix> &gone) {
  for (const IpPrefix &leaving : removed) {
    // The host table first: until the trie loses the range too, it still
    // allows the address, as the list did before the change.
    if (leaving.is_single_address() &&
        bpf_map_delete_elem(trie.hosts.get(), leaving.addr.data()) != 0 &&
        errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing " + leaving.to_string() +
                              " from the kernel host table failed");
    // Then the lookup table, where the covering range takes its cells back.
    // A remove cut short leaves a table half changed: one built anew from
    // the trie, where the range is still listed, takes its place.
    if (trie.table)
      if (Status s =
              trie.table->remove(table_range(leaving), heir_of(trie, leaving));
          !s) {
        (void)install_table(trie);
        return s;
      }
    LpmKey key = lpm_key(leaving);
    if (bpf_map_delete_elem(trie.inner.get(), key.bytes.data()) != 0 &&
        errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing " + leaving.to_string() +
                              " from the kernel allow list failed");
    auto owned = trie.slots.find(leaving);
    free_slots_.push_back(owned->second);
    trie.slots.erase(owned);
    trie.host_count -= leaving.is_single_address();
    gone.push_back(leaving);
  }
  return {};
}

Status AllowListMaps::add_in_place(Trie &trie,
                                   const std::vector<IpPrefix> &added) {
  if (added.empty())
    return {};
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
  TableRows rows(trie.family);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*slots)[i]);
  // The trie first: until the host table has an address, the trie already
  // allows it. `slots` records exactly what the kernel took, even on failure.
  std::uint32_t done = 0;
  Status filled =
      batch_update(trie.inner.get(), rows.keys.data(), rows.values.data(),
                   static_cast<std::uint32_t>(added.size()),
                   "adding ranges to the kernel allow list failed", &done);
  for (std::uint32_t i = 0; i < done; ++i) {
    trie.slots.emplace(added[i], (*slots)[i]);
    trie.host_count += added[i].is_single_address();
  }
  // Then the lookup table, which takes a range in place while it has rows
  // for its groups, or is rebuilt larger with every entry the trie has (as
  // it is, too, if a page of it could not be mapped).
  if (trie.table)
    for (std::uint32_t i = 0; i < done; ++i)
      if (Result<bool> inserted =
              trie.table->insert({table_range(added[i]), (*slots)[i]});
          !inserted || !*inserted) {
        if (Status s = install_table(trie); !s) {
          give_back({slots->begin() + done, slots->end()});
          return unfiltered(s, done);
        }
        break;
      }
  if (!filled) {
    give_back({slots->begin() + done, slots->end()});
    return unfiltered(filled, done);
  }
  if (trie.host_count > trie.host_capacity)
    return grow_host_table(trie);
  return batch_update(trie.hosts.get(), rows.host_keys.data(),
                      rows.host_values.data(),
                      static_cast<std::uint32_t>(rows.host_values.size()),
                      "adding addresses to the kernel host table failed");
}

// A bigger table with every full-length entry, swapped in: until then the
// trie already allows the addresses the old table has no room for.
Status AllowListMaps::grow_host_table(Trie &trie) {
  std::uint32_t size = host_table_size(trie.host_count, capacity_);
  Result<Fd> fresh = create_host_table(trie.family, size);
  if (!fresh)
    return fresh.error();
  TableRows rows(trie.family);
  for (const auto &[prefix, slot] : trie.slots)
    if (prefix.is_single_address())
      rows.add_host(prefix, slot);
  if (Status s = batch_update(
          fresh->get(), rows.host_keys.data(), rows.host_values.data(),
          static_cast<std::uint32_t>(rows.host_values.size()),
          "filling a larger allow-list host table failed");
      !s)
    return s;
  if (Status s = swap_in(trie.outer.hosts, fresh->get()); !s)
    return s;
  trie.hosts = std::move(fresh.value());
  trie.host_capacity = size;
  return {};
}

Status AllowListMaps::rebuild(Trie &trie, const std::vector<IpPrefix> &added,
                              const std::vector<IpPrefix> &removed) {
  Result<Fd> fresh = create_lpm_trie(trie.family, capacity_);
  if (!fresh)
    return fresh.error();
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
  using Owned = decltype(trie.slots)::iterator;
  std::vector<Owned> owned_by_leaving;
  owned_by_leaving.reserve(removed.size());
  SlotMarks leaving(2 * static_cast<std::size_t>(capacity_));
  for (const IpPrefix &p : removed) {
    owned_by_leaving.push_back(trie.slots.find(p));
    leaving.mark(owned_by_leaving.back()->second);
  }
  TableRows rows(trie.family);
  for (const auto &[prefix, slot] : trie.slots)
    if (!leaving.marked(slot))
      rows.add(prefix, slot);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*new_slots)[i]);
  std::uint32_t host_capacity =
      host_table_size(rows.host_values.size(), capacity_);
  Result<Fd> fresh_hosts = create_host_table(trie.family, host_capacity);
  if (!fresh_hosts)
    return failed(fresh_hosts.error());

  Status filled = stats_.clear(*new_slots);
  if (filled)
    filled = batch_update(fresh->get(), rows.keys.data(), rows.values.data(),
                          static_cast<std::uint32_t>(rows.values.size()),
                          "filling the new allow-list trie failed");
  if (filled)
    filled = batch_update(fresh_hosts->get(), rows.host_keys.data(),
                          rows.host_values.data(),
                          static_cast<std::uint32_t>(rows.host_values.size()),
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
  std::optional<KernelTable> fresh_table;
  if (trie.table) {
    Result<KernelTable> built =
        KernelTable::holding(std::move(rows.table_entries));
    if (!built)
      return unfiltered(built.error());
    fresh_table.emplace(std::move(built.value()));
  }
  if (Status s = swap_in(trie.outer.trie, fresh->get()); !s)
    return unfiltered(s);
  // Never leave a host table or a lookup table that disagrees with the trie.
  if (fresh_table) {
    if (Status s = swap_in(trie.outer.table, fresh_table->fd()); !s) {
      (void)swap_in(trie.outer.trie, trie.inner.get());
      return unfiltered(s);
    }
  }
  if (Status s = swap_in(trie.outer.hosts, fresh_hosts->get()); !s) {
    (void)swap_in(trie.outer.trie, trie.inner.get());
    if (fresh_table)
      (void)swap_in(trie.outer.table, trie.table->fd());
    return unfiltered(s);
  }

  for (Owned owned : owned_by_leaving) {
    free_slots_.push_back(owned->second);
    trie.slots.erase(owned);
  }
  for (std::size_t i = 0; i < added.size(); ++i)
    trie.slots.emplace(added[i], (*new_slots)[i]);
  trie.inner = std::move(fresh.value());
  trie.hosts = std::move(fresh_hosts.value());
  if (fresh_table)
    trie.table = std::move(fresh_table);
  trie.host_capacity = host_capacity;
  trie.host_count = rows.host_values.size();
  Status hosts_cleared = host_filter_.remove(removed);
  Status blocks_cleared = block_filter_.remove(removed);
  return hosts_cleared ? blocks_cleared : hosts_cleared;
}

std::vector<IpPrefix> AllowListMaps::prefixes() const {
  std::vector<IpPrefix> out;
  out.reserve(v4_.slots.size() + v6_.slots.size());
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[prefix, slot] : trie->slots)
      out.push_back(prefix);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<IpPrefix> AllowListMaps::lookup(const IpPrefix &address) const {
  const Trie &trie = address.family == Family::V4 ? v4_ : v6_;
  IpPrefix probe = address;
  probe.length = address.max_length();
  xdpgate_allow_value value{};
  if (trie.table) {
    // What the program reads for IPv4 (besides the host table, which
    // agrees with it).
    Result<std::optional<std::uint32_t>> slot =
        trie.table->lookup(table_range(probe).network);
    if (!slot || !*slot)
      return std::nullopt;
    value.slot = **slot;
  } else if (LpmKey key = lpm_key(probe);
             bpf_map_lookup_elem(trie.inner.get(), key.bytes.data(), &value) !=
             0) {
    return std::nullopt;
  }
  // The kernel names the slot; find which of our prefixes owns it.
  for (int len = probe.max_length(); len >= 0; --len) {
    IpPrefix candidate = probe.widened_to(static_cast<std::uint8_t>(len));
    auto it = trie.slots.find(candidate);
    if (it != trie.slots.end() && it->second == value.slot)
      return candidate;
  }
  return std::nullopt;
}

std::optional<EntryHits> AllowListMaps::hits(const IpPrefix &range) const {
  const Trie &trie = range.family == Family::V4 ? v4_ : v6_;
  auto it = trie.slots.find(range);
  if (it == trie.slots.end())
    return std::nullopt;
  return stats_.read(it->second);
}

Result<std::vector<std::pair<IpPrefix, EntryHits>>>
AllowListMaps::all_hits() const {
  auto per_slot = stats_.read_all(2 * capacity_);
  if (!per_slot)
    return per_slot.error();
  std::vector<std::pair<IpPrefix, EntryHits>> out;
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[range, slot] : trie->slots)
      if ((*per_slot)[slot].packets > 0)
        out.emplace_back(range, (*per_slot)[slot]);
  return out;
}

} // namespace xdpgate
