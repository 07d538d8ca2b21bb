// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What a change to the list means beyond the store: the kernel's part of it,
// the enabled entries it leaves, and the statistics its entries carry.
#pragma once

#include <cstddef>
#include <vector>

#include "list/kernel_port.hpp"
#include "list/list_index.hpp"
#include "store/store.hpp"

namespace xdpgate {

// For each upsert of `change`, the entry of `index` it replaces: end() for
// a new entry.
using Replaced = std::vector<ListIndex::Iter>;
Replaced replaced_by(const StoreChange &change, const ListIndex &index);

// What `change` does to the kernel, leaving it in `mode`. Every enabled
// range an entry of the change had leaves, every enabled range it will have
// enters: AllowListChange turns a range that leaves and enters again into no
// kernel work.
KernelChange kernel_change(const StoreChange &change, const Replaced &replaced,
                           const ListIndex &index, Mode mode);

// `change` as the whole list it leaves (replace_all): for a store that
// cannot take so large a change otherwise (Store::change_limit).
StoreChange whole_list_after(StoreChange change, const ListIndex &index);

// Enabled entries once `change` is applied (its ids are distinct).
std::size_t enabled_after(const StoreChange &change, const ListIndex &index);

// The kernel's counters of a range start from zero when it enters the maps:
// an entry whose range leaves them (disabled, or given another range) keeps
// what they counted in its past_hits, written with the change.
void carry_hits(StoreChange &change, const Replaced &replaced,
                const ListIndex &index, const KernelPort &kernel);

// An entry's statistics: its past plus what the kernel counts now.
KernelHits total_hits(const Entry &entry, const KernelHits *in_kernel);
// The same for an entry as the index lists it.
KernelHits total_hits(const ListIndex::Listed &listed,
                      const KernelHits *in_kernel);

} // namespace xdpgate
