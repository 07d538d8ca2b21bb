// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/list_core.hpp"

#include <future>
#include <malloc.h>

namespace xdpgate {

ReleaseMemoryAfter::~ReleaseMemoryAfter() {
  if (entries >= kLargeChange)
    malloc_trim(0);
}

Status ListService::Impl::commit(StoreChange change, Replaced replaced) {
  if (!change.replace_all && !preview &&
      change.upserts.size() + change.deletes.size() > store->change_limit()) {
    change = whole_list_after(std::move(change), index);
    replaced = {};
  }
  if (replaced.size() != change.upserts.size())
    replaced = replaced_by(change, index);
  carry_hits(change, replaced, index, kernel);
  const RestrictionState next = change.state.value_or(state);
  const KernelChange planned =
      kernel_change(change, replaced, index, next.mode);
  replaced = {};
  if (preview) {
    if (Status s = kernel.admits(planned); !s)
      return s;
    if (preview->undo.empty())
      preview->state = state;
    preview->undo.push_back(index.apply_for_now(std::move(change)));
    state = next;
    return {};
  }
  const bool large =
      change.upserts.size() + change.deletes.size() >= kLargeChange;
  // Until the commit below succeeds, every way out rolls the store back
  // (the Txn's destructor) and puts the kernel back as it was.
  std::optional<Status> applied; // once the kernel was given the change
  Result<std::unique_ptr<Store::Txn>> txn = [&] {
    if (!large)
      return store->begin(change);
    // A large change goes into the store on another thread while the kernel
    // takes it on this one: at a million entries each takes seconds, and
    // they share only the change, which neither modifies.
    auto writing =
        std::async(std::launch::async, [&] { return store->begin(change); });
    applied = kernel.apply(planned);
    return writing.get();
  }();
  if (txn && !applied)
    applied = kernel.apply(planned);
  if (!txn || !*applied) {
    if (applied) // a part may have been applied
      (void)kernel.revert(planned, state.mode);
    return txn ? *applied : Status(txn.error());
  }
  if (Status s = (*txn)->commit(); !s) {
    (void)kernel.revert(planned, state.mode);
    // Another writer of a shared store came first: take its change, so
    // that the caller's next try meets the list as it is.
    if (s.error().code == ErrorCode::StoreConflict)
      (void)catch_up();
    return s;
  }
  state = next;
  index.apply(std::move(change));
  if (large)
    store->release_memory();
  return {};
}

EntryView ListService::Impl::view(ListIndex::Iter it) const {
  Entry entry = index.entry(it);
  std::optional<KernelHits> counted;
  if (entry.enabled)
    counted = kernel.hits(entry.range);
  KernelHits total = total_hits(entry, counted ? &*counted : nullptr);
  return EntryView{std::move(entry), total.packets, total.last_hit_at};
}

EntryView ListService::Impl::view(ListIndex::Iter it,
                                  const HitTable &hits) const {
  Entry entry = index.entry(it);
  auto counted = hits.find(entry.range);
  KernelHits total =
      total_hits(entry, counted == hits.end() ? nullptr : &counted->second);
  return EntryView{std::move(entry), total.packets, total.last_hit_at};
}

ListService::ListService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ListService::~ListService() = default;

ListService::Stored::~Stored() = default;

Result<ListService::Stored> ListService::read(const Store &store) {
  Stored stored;
  stored.index = std::make_unique<ListIndex>();
  if (Status s = stored.index->load(store, stored.enabled_ranges); !s)
    return s.error();
  Result<RestrictionState> state = store.state();
  if (!state)
    return state.error();
  stored.state = *state;
  return stored;
}

Result<std::unique_ptr<ListService>>
ListService::open(std::unique_ptr<Store> store, KernelPort &kernel,
                  Clock clock) {
  Result<Stored> stored = read(*store);
  if (!stored)
    return stored.error();
  return open(std::move(store), std::move(*stored), kernel, std::move(clock));
}

Result<std::unique_ptr<ListService>>
ListService::open(std::unique_ptr<Store> store, Stored stored,
                  KernelPort &kernel, Clock clock) {
  ReleaseMemoryAfter release(stored.index->size());
  KernelChange whole;
  whole.mode = stored.state.mode;
  whole.whole_list = true;
  whole.allow.added = std::move(stored.enabled_ranges);
  auto impl = std::make_unique<Impl>(std::move(store), kernel, std::move(clock),
                                     std::move(stored.index));
  impl->state = stored.state;
  if (Status s = kernel.apply(whole); !s)
    return s.error();
  if (release.entries >= kLargeChange)
    impl->store->release_memory();
  return std::unique_ptr<ListService>(new ListService(std::move(impl)));
}

} // namespace xdpgate
