// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/change_plan.hpp"

#include <algorithm>
#include <unordered_set>

namespace xdpgate {

namespace {

// The later of two optional times.
std::optional<EpochMs> latest(std::optional<EpochMs> a,
                              std::optional<EpochMs> b) {
  if (!a)
    return b;
  if (!b)
    return a;
  return std::max(*a, *b);
}

KernelHits past_and_now(KernelHits total, bool enabled,
                        const KernelHits *in_kernel) {
  if (in_kernel && enabled) {
    total.packets += in_kernel->packets;
    total.last_hit_at = latest(total.last_hit_at, in_kernel->last_hit_at);
  }
  return total;
}

} // namespace

Replaced replaced_by(const StoreChange &change, const ListIndex &index) {
  Replaced replaced;
  replaced.reserve(change.upserts.size());
  for (const Entry &e : change.upserts)
    replaced.push_back(index.find(e.id));
  return replaced;
}

KernelChange kernel_change(const StoreChange &change, const Replaced &replaced,
                           const ListIndex &index, Mode mode) {
  KernelChange k;
  k.mode = mode;
  k.allow.atomic = change.replace_all;
  auto leaves = [&](ListIndex::Iter it) {
    if (it != index.end() && it->second.enabled)
      k.allow.removed.push_back(it->second.range);
  };
  if (change.replace_all) {
    for (auto it = index.begin(); it != index.end(); ++it)
      leaves(it);
  } else {
    for (const std::string &id : change.deletes)
      leaves(index.find(id));
    for (ListIndex::Iter before : replaced)
      leaves(before);
  }
  for (const Entry &e : change.upserts)
    if (e.enabled)
      k.allow.added.push_back(e.range);
  return k;
}

StoreChange whole_list_after(StoreChange change, const ListIndex &index) {
  std::unordered_set<std::string_view> changed(change.deletes.begin(),
                                               change.deletes.end());
  for (const Entry &e : change.upserts)
    changed.insert(e.id);
  std::vector<Entry> kept;
  kept.reserve(index.size() + change.upserts.size());
  for (ListIndex::Iter it : index.in_order(true))
    if (!changed.count(it->first.view()))
      kept.push_back(index.entry(it));
  for (Entry &e : change.upserts)
    kept.push_back(std::move(e));
  change.upserts = std::move(kept);
  change.deletes.clear();
  change.replace_all = true;
  return change;
}

std::size_t enabled_after(const StoreChange &change, const ListIndex &index) {
  std::size_t n = change.replace_all ? 0 : index.enabled();
  auto was_enabled = [&](const std::string &id) {
    auto it = index.find(id);
    return !change.replace_all && it != index.end() && it->second.enabled;
  };
  for (const std::string &id : change.deletes)
    n -= was_enabled(id);
  for (const Entry &e : change.upserts)
    n = n - was_enabled(e.id) + e.enabled;
  return n;
}

void carry_hits(StoreChange &change, const Replaced &replaced,
                const ListIndex &index, const KernelPort &kernel) {
  for (std::size_t k = 0; k < change.upserts.size(); ++k) {
    Entry &after = change.upserts[k];
    ListIndex::Iter before = replaced[k];
    if (before == index.end() || !before->second.enabled)
      continue;
    const IpPrefix &range = before->second.range;
    if (after.enabled && after.range == range)
      continue; // stays in the kernel, counters and all
    if (auto counted = kernel.hits(range)) {
      after.past_hits += counted->packets;
      after.past_last_hit_at =
          latest(after.past_last_hit_at, counted->last_hit_at);
    }
  }
}

KernelHits total_hits(const Entry &entry, const KernelHits *in_kernel) {
  return past_and_now({entry.past_hits, entry.past_last_hit_at}, entry.enabled,
                      in_kernel);
}

KernelHits total_hits(const ListIndex::Listed &listed,
                      const KernelHits *in_kernel) {
  return past_and_now(
      {listed.past_hits, ListIndex::time(listed.past_last_hit_at)},
      listed.enabled, in_kernel);
}

} // namespace xdpgate
