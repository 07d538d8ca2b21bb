// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Reading the list, and the changes to one entry. Each change: lock, rules,
// plan, commit (list_core.cpp), answer.
#include "list/list_core.hpp"

#include <cstdint>

#include "list/audit_records.hpp"
#include "list/bulk_audit.hpp"
#include "list/change_plan.hpp"
#include "list/list_snapshot.hpp"
#include "model/entry_json.hpp"

namespace xdpgate {

std::vector<EntryView> ListService::list(bool include_disabled) const {
  const ListSnapshot snap = snapshot(include_disabled, 0, SIZE_MAX);
  std::vector<EntryView> out;
  out.reserve(snap.size());
  for (std::size_t i = 0; i < snap.size(); ++i)
    out.push_back(snap.view(i));
  return out;
}

ListSnapshot ListService::snapshot(bool include_disabled, std::size_t offset,
                                   std::size_t limit) const {
  std::lock_guard lock(impl_->mutex);
  const ListIndex &index = impl_->index;
  ListSnapshot snap;
  const std::vector<ListIndex::Iter> chosen =
      index.page(include_disabled, offset, limit, snap.total_);
  std::optional<HitTable> all_hits;
  if (chosen.size() == snap.total_ || chosen.size() > kReadHitsEachUpTo)
    all_hits = impl_->kernel.all_hits();
  snap.rows_.reserve(chosen.size());
  for (ListIndex::Iter it : chosen) {
    const ListIndex::Listed &l = it->second;
    std::optional<KernelHits> counted;
    if (!all_hits && l.enabled)
      counted = impl_->kernel.hits(l.range);
    else if (all_hits)
      if (auto found = all_hits->find(l.range); found != all_hits->end())
        counted = found->second;
    snap.rows_.push_back(
        {it->first, l, total_hits(l, counted ? &*counted : nullptr)});
  }
  snap.creators_ = index.creators();
  return snap;
}

ListSnapshot ListService::export_snapshot() const {
  std::lock_guard lock(impl_->mutex);
  const ListIndex &index = impl_->index;
  ListSnapshot snap;
  const std::vector<ListIndex::Iter> all = index.in_order(true);
  snap.total_ = all.size();
  snap.rows_.reserve(all.size());
  for (ListIndex::Iter it : all)
    snap.rows_.push_back({it->first, it->second, {}});
  snap.creators_ = index.creators();
  return snap;
}

Result<EntryView> ListService::get(const std::string &id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->index.find(id);
  if (it == impl_->index.end())
    return not_found(id);
  return impl_->view(it);
}

Result<EntryView> ListService::update(const std::string &id,
                                      const EntryPatch &patch,
                                      const std::string &actor, bool force) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  auto it = impl.index.find(id);
  if (it == impl.index.end())
    return not_found(id);
  const Entry before = impl.index.entry(it);
  Result<Entry> after = patched(before, patch, impl.index);
  if (!after)
    return after.error();
  if (*after == before)
    return impl.view(it);
  const EpochMs now = impl.clock();
  after->updated_at = now;
  StoreChange change;
  change.upserts.push_back(*after);
  if (Status s = keeps_an_enabled_entry(change, impl.index, impl.state, force);
      !s)
    return s.error();
  change.audit.push_back(entry_audit(now, actor, "update", id, before, *after));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.view(impl.index.find(id));
}

Result<EntryView> ListService::set_enabled(const std::string &id, bool enabled,
                                           const std::string &actor,
                                           bool force) {
  EntryPatch patch;
  patch.enabled = enabled;
  return update(id, patch, actor, force);
}

Status ListService::remove(const std::string &id, const std::string &actor,
                           bool force) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  auto it = impl.index.find(id);
  if (it == impl.index.end())
    return not_found(id);
  StoreChange change;
  change.deletes.push_back(id);
  if (Status s = keeps_an_enabled_entry(change, impl.index, impl.state, force);
      !s)
    return s;
  change.audit.push_back(entry_audit(impl.clock(), actor, "delete", id,
                                     impl.index.entry(it), std::nullopt));
  return impl.commit(std::move(change));
}

Status ListService::remove_all(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  ReleaseMemoryAfter release{impl.index.size()};
  StoreChange change;
  change.replace_all = true;
  change.state = RestrictionState{};
  BulkAudit bulk(
      "delete_all", actor, impl.clock(),
      {{"entries", impl.index.size()}, {"state", to_json(impl.state)}},
      {{"entries", 0}, {"state", to_json(*change.state)}});
  for (auto it = impl.index.begin(); it != impl.index.end(); ++it)
    bulk.removed(impl.index.entry(it));
  std::move(bulk).write_to(change.audit);
  return impl.commit(std::move(change));
}

CheckResult ListService::check(const IpPrefix &address) const {
  std::lock_guard lock(impl_->mutex);
  const Impl &impl = *impl_;
  CheckResult result;
  result.address = address;
  result.mode = impl.state.mode;
  result.restriction_active = impl.state.active();
  result.total_entries = impl.index.size();
  // In the data path's order: exempt sources first, then the list (which
  // the kernel holds, and looks up, in every mode), then the mode.
  std::optional<IpPrefix> matched = impl.kernel.lookup(address);
  if (impl.kernel.exempt_source(address))
    result.verdict = XDPGATE_VERDICT_EXEMPT_SOURCE;
  else if (matched)
    result.verdict = XDPGATE_VERDICT_ALLOWED;
  else
    result.verdict = impl.state.mode == Mode::Enforce
                         ? XDPGATE_VERDICT_DROPPED
                         : XDPGATE_VERDICT_WOULD_DROP;
  result.allowed = result.verdict != XDPGATE_VERDICT_DROPPED;
  if (matched && impl.state.active())
    if (auto it = impl.index.find(*matched); it != impl.index.end())
      result.matched_entry = impl.view(it);
  return result;
}

RestrictionState ListService::state() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->state;
}

std::size_t ListService::enabled_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->index.enabled();
}

std::size_t ListService::total_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->index.size();
}

StoreStatus ListService::store_status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store->status();
}

Result<Fleet> ListService::fleet() const {
  // Without the list's lock: the fleet is etcd's to answer, and a slow
  // etcd must not hold up this daemon's reads and writes.
  return impl_->store->fleet();
}

Result<AuditPage> ListService::audit(std::int64_t offset,
                                     std::int64_t limit) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store->audit(offset, limit);
}

} // namespace xdpgate
