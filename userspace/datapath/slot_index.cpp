// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/slot_index.hpp"

#include <bit>
#include <functional>
#include <utility>

namespace xdpgate {

SlotIndex::SlotIndex(std::span<const PrefixSlot> entries) {
  reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i + kPrefetchAhead < entries.size())
      prefetch(entries[i + kPrefetchAhead].range);
    insert(entries[i].range, entries[i].slot);
  }
}

std::size_t SlotIndex::home_of(const IpPrefix &range) const {
  return std::hash<IpPrefix>{}(range) & (buckets_.size() - 1);
}

std::optional<std::size_t> SlotIndex::bucket_of(const IpPrefix &range) const {
  if (buckets_.empty())
    return std::nullopt;
  for (std::size_t at = home_of(range); buckets_[at].slot != kFree;
       at = next(at))
    if (buckets_[at].range == range)
      return at;
  return std::nullopt;
}

std::optional<std::uint32_t> SlotIndex::find(const IpPrefix &range) const {
  std::optional<std::size_t> at = bucket_of(range);
  if (!at)
    return std::nullopt;
  return buckets_[*at].slot;
}

bool SlotIndex::insert(const IpPrefix &range, std::uint32_t slot) {
  reserve(size_ + 1);
  std::size_t at = home_of(range);
  for (; buckets_[at].slot != kFree; at = next(at))
    if (buckets_[at].range == range)
      return false;
  buckets_[at] = {range, slot};
  ++size_;
  return true;
}

bool SlotIndex::erase(const IpPrefix &range) {
  std::optional<std::size_t> found = bucket_of(range);
  if (!found)
    return false;
  std::size_t hole = *found;
  // Backward shift: every later range of the run whose home is not between
  // the hole and itself moves into the hole, so that no lookup meets a free
  // bucket before the range it looks for (and no tombstones pile up).
  for (std::size_t at = next(hole); buckets_[at].slot != kFree; at = next(at)) {
    std::size_t home = home_of(buckets_[at].range);
    bool home_after_hole =
        hole <= at ? (home > hole && home <= at) : (home > hole || home <= at);
    if (!home_after_hole) {
      buckets_[hole] = buckets_[at];
      hole = at;
    }
  }
  buckets_[hole].slot = kFree;
  --size_;
  return true;
}

void SlotIndex::reserve(std::size_t count) {
  if (2 * count > buckets_.size())
    grow_to(std::bit_ceil(std::max<std::size_t>(16, 2 * count)));
}

void SlotIndex::grow_to(std::size_t buckets) {
  ListVector<PrefixSlot> old(buckets, PrefixSlot{{}, kFree});
  std::swap(old, buckets_);
  size_ = 0;
  for (const PrefixSlot &entry : old)
    if (entry.slot != kFree)
      insert(entry.range, entry.slot);
}

} // namespace xdpgate
