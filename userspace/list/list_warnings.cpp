// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list's warnings (SPEC §2): ranges inside other enabled ranges, and
// entries with no hit for a long time.
#include "list/list_core.hpp"

#include <algorithm>

namespace xdpgate {

namespace {

// The last sign of use the index knows of: a hit before, else the creation.
EpochMs last_known_use(const ListIndex::Listed &entry) {
  return std::max(entry.created_at, entry.past_last_hit_at);
}

} // namespace

ListWarnings
ListService::warnings(std::chrono::milliseconds stale_after) const {
  // Bounded work: a status call must stay cheap on a million entries.
  constexpr std::size_t kMaxChecked = 200000;
  constexpr std::size_t kMaxReported = 100;
  std::lock_guard lock(impl_->mutex);
  const ListIndex &index = impl_->index;
  ListWarnings w;
  const EpochMs now = impl_->clock();
  // Entries with no sign of use for `stale_after` without the kernel's
  // counters: only these can be stale, so only their counters are read.
  std::vector<ListIndex::Iter> maybe_stale;
  std::size_t checked = 0;
  for (auto it = index.begin(); it != index.end(); ++it) {
    const ListIndex::Listed &entry = it->second;
    if (!entry.enabled)
      continue;
    if (++checked > kMaxChecked)
      break;
    for (int len = entry.range.length - 1;
         len >= 0 && w.overlaps.size() < kMaxReported; --len) {
      IpPrefix wider = entry.range.widened_to(static_cast<std::uint8_t>(len));
      auto outer = index.find(wider);
      if (outer != index.end() && outer->second.enabled) {
        w.overlaps.push_back(entry.range.to_string() + " (" + it->first.str() +
                             ") lies inside " + wider.to_string() + " (" +
                             outer->first.str() + ")");
        break;
      }
    }
    if (now - last_known_use(entry) > stale_after.count())
      maybe_stale.push_back(it);
  }
  // A fresh list (an import of a million) reads no counters; a few
  // candidates are read one by one; many, in one batched read.
  std::optional<HitTable> all_hits;
  if (maybe_stale.size() > kReadHitsEachUpTo)
    all_hits = impl_->kernel.all_hits();
  for (ListIndex::Iter it : maybe_stale) {
    if (w.stale_ids.size() == kMaxReported)
      break;
    const ListIndex::Listed &entry = it->second;
    std::optional<KernelHits> counted;
    if (!all_hits)
      counted = impl_->kernel.hits(entry.range);
    else if (auto h = all_hits->find(entry.range); h != all_hits->end())
      counted = h->second;
    EpochMs last = last_known_use(entry);
    if (counted && counted->last_hit_at)
      last = std::max(last, *counted->last_hit_at);
    if (now - last > stale_after.count())
      w.stale_ids.push_back(it->first.str());
  }
  return w;
}

} // namespace xdpgate
