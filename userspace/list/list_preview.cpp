// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Dry runs (SPEC §3): the change is made to the index and the state only,
// under the lock, long enough for its operation to answer and for the
// sources seen lately to be judged again; then it is undone.
#include "list/list_core.hpp"

#include <algorithm>
#include <chrono>

#include "list/change_plan.hpp"

namespace xdpgate {

namespace {

// Sources seen longer ago than this say nothing about who a change affects.
constexpr EpochMs kRecentlySeenMs =
    std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::hours(24))
        .count();

bool recent(const std::optional<EpochMs> &at, EpochMs now) {
  return at && *at >= now - kRecentlySeenMs;
}

// The denied-source sample (one address may come from several interfaces)
// and the entries that had hits, as the sources a change may affect.
std::vector<SeenSource> recently_seen(const ListService::Impl &impl,
                                      const std::vector<SeenSource> &denied,
                                      EpochMs now) {
  std::unordered_map<IpPrefix, SeenSource> merged;
  for (const SeenSource &s : denied) {
    if (!recent(s.last_seen_at, now))
      continue;
    auto [it, fresh] = merged.try_emplace(s.address, s);
    if (!fresh) {
      it->second.packets += s.packets;
      it->second.last_seen_at =
          std::max(it->second.last_seen_at, s.last_seen_at);
    }
  }
  const HitTable hits = impl.kernel.all_hits();
  for (auto it = impl.index.begin(); it != impl.index.end(); ++it) {
    if (!it->second.enabled)
      continue;
    auto counted = hits.find(it->second.range);
    KernelHits total = total_hits(
        it->second, counted == hits.end() ? nullptr : &counted->second);
    if (total.packets > 0 && recent(total.last_hit_at, now))
      merged.try_emplace(
          it->second.range,
          SeenSource{it->second.range, total.packets, total.last_hit_at});
  }
  std::vector<SeenSource> out;
  out.reserve(merged.size());
  for (auto &[address, source] : merged)
    out.push_back(std::move(source));
  return out;
}

// The most active first; at most Impact::kImpactListed.
void keep_most_active(std::vector<SeenSource> &sources) {
  std::sort(sources.begin(), sources.end(),
            [](const SeenSource &a, const SeenSource &b) {
              return a.packets != b.packets ? a.packets > b.packets
                                            : a.address < b.address;
            });
  if (sources.size() > Impact::kImpactListed)
    sources.resize(Impact::kImpactListed);
}

} // namespace

bool ListService::Impl::drops(const IpPrefix &source) const {
  return state.mode == Mode::Enforce && !kernel.exempt_source(source) &&
         index.covering(source) == index.end();
}

Impact ListService::dry_run(const DryRunInput &input,
                            const std::function<void()> &change) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  const std::vector<SeenSource> seen =
      recently_seen(impl, input.denied, impl.clock());
  std::vector<bool> dropped_before;
  dropped_before.reserve(seen.size());
  for (const SeenSource &s : seen)
    dropped_before.push_back(impl.drops(s.address));

  // Undone on every way out, an exception from the operation included.
  struct PutBack {
    Impl &impl;
    ~PutBack() {
      if (!impl.preview)
        return;
      for (auto undo = impl.preview->undo.rbegin();
           undo != impl.preview->undo.rend(); ++undo)
        impl.index.undo(std::move(*undo));
      if (!impl.preview->undo.empty())
        impl.state = impl.preview->state;
      impl.preview.reset();
    }
  } put_back{impl};
  impl.preview.emplace();
  change();

  Impact impact;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const bool dropped_after = impl.drops(seen[i].address);
    if (dropped_after && !dropped_before[i])
      impact.start_dropping.push_back(seen[i]);
    else if (!dropped_after && dropped_before[i])
      impact.stop_dropping.push_back(seen[i]);
  }
  impact.start_dropping_total = impact.start_dropping.size();
  impact.stop_dropping_total = impact.stop_dropping.size();
  keep_most_active(impact.start_dropping);
  keep_most_active(impact.stop_dropping);
  impact.caller = input.caller;
  impact.caller_cut_off = input.caller && impl.drops(*input.caller);
  return impact;
}

} // namespace xdpgate
