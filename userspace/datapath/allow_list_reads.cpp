// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the allow list holds, answered as the kernel has it: the listed
// ranges, the range a packet from an address matches, and the entries' hits.
#include <algorithm>
#include <bpf/bpf.h>

#include "datapath/allow_list_maps.hpp"
#include "datapath/allow_list_tables.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

std::vector<IpPrefix> AllowListMaps::prefixes() const {
  std::vector<IpPrefix> out;
  out.reserve(v4_.slots.size() + v6_.slots.size());
  for (const FamilyMaps *maps : {&v4_, &v6_})
    for (const auto &[prefix, slot] : maps->slots)
      out.push_back(prefix);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<IpPrefix> AllowListMaps::lookup(const IpPrefix &address) const {
  const FamilyMaps &maps = address.family == Family::V4 ? v4_ : v6_;
  IpPrefix probe = address;
  probe.length = address.max_length();
  // What the program reads: the host table, then the lookup table.
  TableMatch found{0, probe.length};
  xdpgate_allow_value value{};
  if (bpf_map_lookup_elem(maps.hosts.get(), probe.addr.data(), &value) == 0) {
    found.slot = value.slot;
  } else {
    Result<std::optional<TableMatch>> match = maps.table->match(probe);
    if (!match || !*match)
      return std::nullopt;
    found = **match;
  }
  // The kernel names the slot; find which of our ranges owns it, from the
  // longest it can be (an IPv6 address would otherwise try 129 lengths).
  for (int len = found.longest; len >= 0; --len) {
    IpPrefix candidate = probe.widened_to(static_cast<std::uint8_t>(len));
    if (maps.slots.find(candidate) == found.slot)
      return candidate;
  }
  return std::nullopt;
}

std::optional<EntryHits> AllowListMaps::hits(const IpPrefix &range) const {
  const FamilyMaps &maps = range.family == Family::V4 ? v4_ : v6_;
  std::optional<std::uint32_t> slot = maps.slots.find(range);
  if (!slot)
    return std::nullopt;
  return stats_.read(*slot);
}

Result<std::vector<std::pair<IpPrefix, EntryHits>>>
AllowListMaps::all_hits() const {
  auto per_slot = stats_.read_all(2 * capacity_);
  if (!per_slot)
    return per_slot.error();
  std::vector<std::pair<IpPrefix, EntryHits>> out;
  for (const FamilyMaps *maps : {&v4_, &v6_})
    for (const auto &[range, slot] : maps->slots)
      if ((*per_slot)[slot].packets > 0)
        out.emplace_back(range, (*per_slot)[slot]);
  return out;
}

} // namespace xdpgate
