// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The kernel as the list service sees it (KernelPort), modelled for tests:
// the mode and the allow list after each KernelChange by AllowListChange's
// rules (ranges leave, then ranges enter; a whole-list change drops
// everything else), longest-prefix match over that list, and hit counters
// per range that, as in the kernel, start again from zero when a range
// leaves the maps, and exempt sources as configured. It records every change it
// is asked for and can be told to fail. Thread-safe for the API tests;
// single-threaded tests may read the fields directly.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "list/kernel_port.hpp"

namespace xdpgate {

struct KernelState {
  Mode mode = Mode::Off;
  std::vector<IpPrefix> allow; // sorted
};

inline KernelState after_change(const KernelState &before,
                                const KernelChange &change) {
  std::set<IpPrefix> allow;
  if (!change.whole_list)
    allow.insert(before.allow.begin(), before.allow.end());
  for (const IpPrefix &p : change.allow.removed)
    allow.erase(p);
  allow.insert(change.allow.added.begin(), change.allow.added.end());
  return {change.mode, {allow.begin(), allow.end()}};
}

class ModelKernel final : public KernelPort {
public:
  Status apply(const KernelChange &change) override {
    std::lock_guard lock(mutex);
    KernelState next = after_change(applied.value_or(KernelState{}), change);
    if (Status s = room_for(next); !s)
      return s;
    calls.push_back(next);
    changes.push_back(change);
    if (fail_next > 0) {
      --fail_next;
      return Error{ErrorCode::KernelUpdateFailed,
                   "the model kernel was told to fail"};
    }
    for (auto it = counted.begin(); it != counted.end();)
      it = std::binary_search(next.allow.begin(), next.allow.end(), it->first)
               ? std::next(it)
               : counted.erase(it);
    applied = std::move(next);
    return {};
  }

  Status admits(const KernelChange &change) const override {
    std::lock_guard lock(mutex);
    KernelState next = after_change(applied.value_or(KernelState{}), change);
    return room_for(next);
  }

  Status revert(const KernelChange &change, Mode mode) override {
    return apply(inverse(change, mode));
  }

  std::optional<IpPrefix> lookup(const IpPrefix &address) const override {
    std::lock_guard lock(mutex);
    std::optional<IpPrefix> best;
    if (!applied)
      return best;
    for (const IpPrefix &p : applied->allow)
      if (p.family == address.family && p.contains(address) &&
          (!best || p.length > best->length))
        best = p;
    return best;
  }

  bool exempt_source(const IpPrefix &address) const override {
    std::lock_guard lock(mutex);
    return std::any_of(exempt.begin(), exempt.end(), [&](const IpPrefix &p) {
      return p.family == address.family && p.contains(address);
    });
  }

  std::optional<KernelHits> hits(const IpPrefix &range) const override {
    std::lock_guard lock(mutex);
    ++hit_reads;
    auto it = counted.find(range);
    if (it == counted.end())
      return std::nullopt;
    return it->second;
  }

  std::unordered_map<IpPrefix, KernelHits> all_hits() const override {
    std::lock_guard lock(mutex);
    ++batched_reads;
    return {counted.begin(), counted.end()};
  }

  // What the kernel counted for a range it holds.
  void count(const IpPrefix &range, std::uint64_t packets, EpochMs at) {
    std::lock_guard lock(mutex);
    counted[range] = KernelHits{packets, at};
  }

  KernelState state() const {
    std::lock_guard lock(mutex);
    return applied.value_or(KernelState{});
  }

  Status room_for(const KernelState &next) const {
    if (capacity && next.allow.size() > *capacity)
      return Error{ErrorCode::CapacityExceeded,
                   "the model kernel holds at most " +
                       std::to_string(*capacity) + " ranges"};
    return {};
  }

  mutable std::mutex mutex;
  std::vector<KernelState> calls;         // every change asked for, as a state
  std::vector<KernelChange> changes;      // the same changes as sent
  std::optional<KernelState> applied;     // what the kernel holds
  int fail_next = 0;                      // fail this many apply calls
  std::optional<std::size_t> capacity;    // ranges it holds, both families
  std::map<IpPrefix, KernelHits> counted; // per range the kernel holds
  std::vector<IpPrefix> exempt;           // the exempt sources
  mutable std::size_t hit_reads = 0;      // hits() calls
  mutable std::size_t batched_reads = 0;  // all_hits() calls
};

} // namespace xdpgate
