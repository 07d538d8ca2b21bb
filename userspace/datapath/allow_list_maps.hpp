// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list in the kernel, both families: the record of every entry and
// its slot, the exact-host tables
// with the host presence filter in front, the block filter in front of
// both, the lookup tables, and the per-entry statistics.
// Each of these tables sits in slot 0 of an outer array-of-maps. Packets
// are judged by the host tables and the lookup tables, built from the
// entry maps (a new one at every open, so they always follow the entry
// maps). A change is applied in place (batched kernel updates, each
// range on its own), except an atomic one (a replace) of more than one
// range: that builds complete new tables and swaps the outer slots, so a
// packet sees the whole old list or the whole new one. None of the list's
// tables is an LPM trie: freeing a trie of a million entries stalls a CPU
// for a fraction of a second.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "datapath/entry_map.hpp"
#include "datapath/entry_stats.hpp"
#include "datapath/prefix_table.hpp"
#include "datapath/presence_filter.hpp"
#include "datapath/slot_index.hpp"
#include "model/allow_list_change.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

// The outer array-of-maps fds of one family.
struct AllowOuterMaps {
  int entries = -1; // the record
  int hosts = -1;
  int table = -1; // the lookup table
  // If not -1: the trie an xdpgate before the records kept the entries in,
  // read when the record is new.
  int legacy_entries = -1;
};

class AllowListMaps {
public:
  // Adopts the outer maps, the statistics array and the filters (borrowed
  // fds). Empty outer slots get new empty tables; filled ones are read back,
  // slots and all. The lookup table and the filters are built anew from the
  // entries read back.
  static Result<AllowListMaps> open(AllowOuterMaps v4, AllowOuterMaps v6,
                                    EntryStats stats, int host_filter_fd,
                                    int block_filter_fd,
                                    std::uint32_t capacity);

  // Makes the list exactly `desired`, atomically.
  Status sync(const std::vector<IpPrefix> &desired);
  // Costs O(size of the change), unless it is atomic and larger than one.
  Status apply(const AllowListChange &change);
  // Whether apply(change) finds room for it, writing nothing.
  Status admits(const AllowListChange &change) const;
  // The change that makes `desired` the whole list.
  AllowListChange change_to(const std::vector<IpPrefix> &desired) const;

  std::vector<IpPrefix> prefixes() const;
  std::optional<IpPrefix> lookup(const IpPrefix &address) const;
  std::optional<EntryHits> hits(const IpPrefix &range) const;
  // The hits of every listed range that has any, from one batched read of
  // the statistics (a million-entry list that sees traffic on a few is
  // answered with a few, not a million).
  Result<std::vector<std::pair<IpPrefix, EntryHits>>> all_hits() const;

private:
  // One family's tables, and which slot each of its entries owns.
  struct FamilyMaps {
    explicit FamilyMaps(Family f) : family(f) {}
    Family family;
    AllowOuterMaps outer;
    std::optional<EntryRecord> record;
    Fd hosts;
    std::uint32_t host_capacity = 0; // how many addresses `hosts` can hold
    std::size_t host_count = 0;      // full-length ranges in `slots`
    SlotIndex slots;
    std::optional<PrefixTable> table; // what packets consult
  };

  // A change per family (IPv4, IPv6): each range once, only what changes
  // the kernel.
  struct Plan {
    struct Part {
      std::vector<IpPrefix> added, removed;
    } parts[2];
  };
  Result<Plan> plan(const AllowListChange &change) const;

  AllowListMaps(EntryStats stats, int host_filter_fd, int block_filter_fd,
                std::uint32_t capacity);
  Status adopt(FamilyMaps &maps);
  // A record of every entry, with room for `more` (IPv4: of the size the
  // capacity needs), swapped in.
  Status rewrite_record(FamilyMaps &maps, std::size_t more);
  Result<Fd> adopt_table(int outer_fd,
                         Result<Fd> (*create)(Family, std::uint32_t),
                         Family family, std::uint32_t size);
  Status rewrite_host_table(FamilyMaps &maps);
  // A new lookup table of the family's entries, swapped in.
  Status install_table(FamilyMaps &maps);
  // The longest listed range that contains `range`, other than itself.
  static std::optional<PrefixSlot> heir_of(const FamilyMaps &maps,
                                           const IpPrefix &range);
  Status apply_to(FamilyMaps &maps, const std::vector<IpPrefix> &added,
                  const std::vector<IpPrefix> &removed, bool atomic);
  Status remove_in_place(FamilyMaps &maps,
                         const std::vector<IpPrefix> &removed);
  Status remove_each(FamilyMaps &maps, const std::vector<IpPrefix> &removed,
                     std::vector<IpPrefix> &gone);
  Status add_in_place(FamilyMaps &maps, const std::vector<IpPrefix> &added);
  Status rebuild(FamilyMaps &maps, const std::vector<IpPrefix> &added,
                 const std::vector<IpPrefix> &removed);
  Result<std::vector<std::uint32_t>> take_slots(std::size_t count);
  void give_back(const std::vector<std::uint32_t> &slots);

  EntryStats stats_;
  std::uint32_t capacity_ = 0;
  FamilyMaps v4_{Family::V4};
  FamilyMaps v6_{Family::V6};
  std::deque<std::uint32_t> free_slots_; // oldest freed first
  // Both count exactly the entries in v4_.slots and v6_.slots.
  PresenceFilter host_filter_;
  PresenceFilter block_filter_;
};

} // namespace xdpgate
