// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The restriction: activation with optional confirmation, and the daemon's
// tick that expires entries and reverts unconfirmed activations.
#include "list/list_core.hpp"

#include "list/audit_records.hpp"

namespace xdpgate {

namespace {

constexpr const char *kSystemActor = "xdpgated";

// Makes `next` the restriction, audited as `action`.
Result<RestrictionState> set_state(ListService::Impl &impl,
                                   const RestrictionState &next,
                                   const std::string &actor,
                                   const char *action) {
  StoreChange change;
  change.state = next;
  change.audit.push_back(
      state_audit(impl.clock(), actor, action, impl.state, next));
  if (Status s = impl.commit(std::move(change)); !s)
    return s.error();
  return impl.state;
}

} // namespace

Result<RestrictionState> ListService::activate(const ActivateRequest &request,
                                               const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  Result<RestrictionState> next =
      activated(request, impl.state, impl.index.enabled(), impl.clock());
  if (!next)
    return next.error();
  return set_state(impl, *next, actor, "activate");
}

Result<RestrictionState> ListService::deactivate(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  return set_state(*impl_, RestrictionState{}, actor, "deactivate");
}

Result<RestrictionState> ListService::confirm(const std::string &actor) {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  Result<RestrictionState> next = confirmed(impl.state);
  if (!next)
    return next.error();
  return set_state(impl, *next, actor, "confirm");
}

void ListService::tick() {
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  const EpochMs now = impl.clock();
  StoreChange change;
  // Most lists never expire anything: they skip the walk.
  if (impl.index.expiring() > 0) {
    for (auto it = impl.index.begin(); it != impl.index.end(); ++it) {
      const ListIndex::Listed &listed = it->second;
      if (!listed.enabled || listed.expires_at == ListIndex::kNoTime ||
          listed.expires_at > now)
        continue;
      const Entry before = impl.index.entry(it);
      Entry after = before;
      after.enabled = false;
      after.updated_at = now;
      change.audit.push_back(
          entry_audit(now, kSystemActor, "expire", before.id, before, after));
      change.upserts.push_back(std::move(after));
    }
  }
  if (impl.state.confirm_deadline && *impl.state.confirm_deadline <= now) {
    RestrictionState reverted;
    reverted.mode = impl.state.revert_mode;
    change.state = reverted;
    change.audit.push_back(state_audit(now, kSystemActor, "revert_unconfirmed",
                                       impl.state, reverted));
  }
  if (change.upserts.empty() && !change.state)
    return;
  // On failure (disk full) the next tick tries again.
  (void)impl.commit(std::move(change));
}

} // namespace xdpgate
