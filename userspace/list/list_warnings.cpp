// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list's warnings (SPEC §2): ranges inside other enabled ranges, and
// entries with no hit for a long time.
#include "list/list_core.hpp"

#include <algorithm>

namespace xdpgate {

ListWarnings
ListService::warnings(std::chrono::milliseconds stale_after) const {
  // Bounded work: a status call must stay cheap on a million entries.
  constexpr std::size_t kMaxChecked = 200000;
  constexpr std::size_t kMaxReported = 100;
  std::lock_guard lock(impl_->mutex);
  const ListIndex &index = impl_->index;
  // One batched read of the kernel instead of one per entry.
  const HitTable hits = impl_->kernel.all_hits();
  ListWarnings w;
  const EpochMs now = impl_->clock();
  std::size_t checked = 0;
  for (auto it = index.begin(); it != index.end(); ++it) {
    const ListIndex::Listed &entry = it->second;
    if (!entry.enabled)
      continue;
    if (++checked > kMaxChecked)
      break;
    const std::string id = it->first.str();
    for (int len = entry.range.length - 1;
         len >= 0 && w.overlaps.size() < kMaxReported; --len) {
      IpPrefix wider = entry.range.widened_to(static_cast<std::uint8_t>(len));
      auto outer = index.find(wider);
      if (outer != index.end() && outer->second.enabled) {
        w.overlaps.push_back(entry.range.to_string() + " (" + id +
                             ") lies inside " + wider.to_string() + " (" +
                             outer->first.str() + ")");
        break;
      }
    }
    if (w.stale_ids.size() < kMaxReported) {
      // The last sign of use: a hit now or before, else the creation.
      EpochMs last = std::max(entry.created_at, entry.past_last_hit_at);
      if (auto h = hits.find(entry.range); h != hits.end())
        last = std::max(last, h->second.last_hit_at.value_or(last));
      if (now - last > stale_after.count())
        w.stale_ids.push_back(id);
    }
  }
  return w;
}

} // namespace xdpgate
