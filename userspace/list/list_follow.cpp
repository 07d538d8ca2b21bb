// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Following a shared store (SPEC §7): what other daemons wrote is durable
// already; this daemon makes its kernel enforce it and its index list it.
// A whole-list change swaps the kernel's list atomically, as a local
// replace does.
#include <spdlog/spdlog.h>

#include <unordered_set>

#include "list/change_plan.hpp"
#include "list/list_core.hpp"

namespace xdpgate {

namespace {

// Drops what the index cannot hold: an id xdpgated does not make, a range
// another entry holds (a value written by hand under the prefix). The
// store ignored what it could not read at all; this is what it cannot see.
void drop_unlistable(StoreChange &change, const ListIndex &index) {
  std::unordered_set<std::string_view> leaving(change.deletes.begin(),
                                               change.deletes.end());
  for (const Entry &e : change.upserts)
    leaving.insert(e.id); // an upsert's old range leaves with it
  std::unordered_set<IpPrefix> ranges;
  std::erase_if(change.upserts, [&](const Entry &e) {
    const char *why = nullptr;
    if (!EntryId::of(e.id))
      why = "its id is not one xdpgated makes";
    else if (!ranges.insert(e.range).second)
      why = "another entry of the change lists its range";
    else if (!change.replace_all) {
      auto holder = index.find(e.range);
      if (holder != index.end() && holder->first.view() != e.id &&
          !leaving.count(holder->first.view()))
        why = "another entry lists its range";
    }
    if (why)
      spdlog::error("not applying entry {} ({}) from the store: {}", e.id,
                    e.range.to_string(), why);
    return why != nullptr;
  });
}

} // namespace

Status ListService::catch_up() {
  std::lock_guard lock(impl_->mutex);
  return impl_->catch_up();
}

Status ListService::follow_store(std::chrono::milliseconds wait) {
  // The store's own lock guards its queue; the list's is taken only to
  // apply what came.
  if (!impl_->store->wait_for_changes(wait))
    return {};
  return catch_up();
}

Status ListService::Impl::catch_up() {
  Result<std::vector<StoreChange>> changes = store->take_changes();
  if (!changes)
    return changes.error();
  for (StoreChange &change : *changes)
    if (Status s = adopt(std::move(change)); !s)
      return s;
  return {};
}

Status ListService::Impl::adopt(StoreChange change) {
  ReleaseMemoryAfter release(change.upserts.size() + change.deletes.size());
  drop_unlistable(change, index);
  const Replaced replaced = replaced_by(change, index);
  const RestrictionState next = change.state.value_or(state);
  const KernelChange planned =
      kernel_change(change, replaced, index, next.mode);
  if (Status s = kernel.apply(planned); !s) {
    (void)kernel.revert(planned, state.mode);
    spdlog::error("the kernel refused a change another host made: {}",
                  s.error().message);
    return s;
  }
  // The store keeps a copy of what the kernel enforces (EtcdStore: for a
  // start while etcd is away); written after the kernel swap, it is not
  // on the way to the verdict.
  store->enforced(change);
  state = next;
  index.apply(std::move(change));
  return {};
}

} // namespace xdpgate
