// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Adds (upserts by range) and whole-list replaces, for the API and imports.
#include "list/list_core.hpp"

#include <unordered_set>

#include "list/audit_records.hpp"
#include "list/bulk_audit.hpp"

namespace xdpgate {

namespace {

// In an upsert, the entry it replaces: none for a new one.
constexpr std::size_t kNoBefore = static_cast<std::size_t>(-1);

} // namespace

Result<std::vector<ListService::Impl::Placed>>
ListService::Impl::upsert(std::vector<Wanted> wanted, const std::string &actor,
                          AuditStyle audit, bool force,
                          ChangeSummary *summary) {
  const EpochMs now = clock();
  StoreChange change;
  std::vector<Entry> replaced;         // what updated entries were
  std::vector<std::size_t> before_of;  // per upsert: its place in `replaced`
  std::vector<std::size_t> created_at; // per new entry: its request place
  std::vector<std::size_t> created;    // per new entry: its upsert place
  std::vector<Placed> placed(wanted.size());
  Replaced listed_before; // per upsert
  // A million-entry import must not pay for growing these step by step.
  change.upserts.reserve(wanted.size());
  before_of.reserve(wanted.size());
  listed_before.reserve(wanted.size());
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    Wanted &w = wanted[i];
    if (auto listed = index.find(w.range); listed != index.end()) {
      Entry before = index.entry(listed);
      placed[i] = {before.id, false};
      Entry after = upserted(before, std::move(w));
      // Re-adding a range unchanged is not a change: nothing to write, audit
      // or sync (re-importing a whole file stays cheap).
      if (after == before) {
        if (summary)
          summary->unchanged.note(before.range);
        continue;
      }
      if (summary)
        summary->updated.note(before.range);
      after.updated_at = now;
      before_of.push_back(replaced.size());
      replaced.push_back(std::move(before));
      listed_before.push_back(listed);
      change.upserts.push_back(std::move(after));
      continue;
    }
    if (summary)
      summary->added.note(w.range);
    created.push_back(change.upserts.size());
    created_at.push_back(i);
    before_of.push_back(kNoBefore);
    listed_before.push_back(index.end());
    change.upserts.push_back(new_entry(std::move(w), actor, now));
  }
  std::vector<std::string> fresh = ids.fresh(created.size(), index);
  for (std::size_t k = 0; k < created.size(); ++k) {
    change.upserts[created[k]].id = std::move(fresh[k]);
    placed[created_at[k]] = {change.upserts[created[k]].id, true};
  }
  if (change.upserts.empty())
    return placed;
  if (Status s = keeps_an_enabled_entry(change, index, state, force); !s)
    return s.error();
  if (audit == AuditStyle::Bulk) {
    BulkAudit bulk("import", actor, now);
    for (std::size_t k = 0; k < change.upserts.size(); ++k) {
      if (before_of[k] != kNoBefore)
        bulk.updated(replaced[before_of[k]], change.upserts[k]);
      else
        bulk.added(change.upserts[k]);
    }
    std::move(bulk).write_to(change.audit);
  } else {
    change.audit.reserve(change.upserts.size());
    for (std::size_t k = 0; k < change.upserts.size(); ++k) {
      const Entry &after = change.upserts[k];
      std::optional<Entry> before;
      if (before_of[k] != kNoBefore)
        before = replaced[before_of[k]];
      change.audit.push_back(entry_audit(now, actor, before ? "update" : "add",
                                         after.id, before, after));
    }
  }
  replaced = {};
  if (Status s = commit(std::move(change), std::move(listed_before)); !s)
    return s.error();
  return placed;
}

Status ListService::Impl::replace(std::vector<Wanted> wanted,
                                  const std::string &actor, bool force,
                                  ChangeSummary *summary,
                                  std::vector<std::string> *ids_in_order) {
  const EpochMs now = clock();
  StoreChange change;
  change.replace_all = true;
  BulkAudit bulk("replace", actor, now, {{"entries", index.size()}},
                 {{"entries", wanted.size()}});
  std::unordered_set<IpPrefix> staying;
  std::vector<std::size_t> created; // upserts that need an id
  Replaced listed_before;           // per upsert
  change.upserts.reserve(wanted.size());
  listed_before.reserve(wanted.size());
  for (Wanted &w : wanted) {
    if (auto listed = index.find(w.range); listed != index.end()) {
      // An entry that stays keeps its id, creator and statistics.
      staying.insert(w.range);
      Entry before = index.entry(listed);
      Entry after = upserted(before, std::move(w));
      if (after == before) {
        if (summary)
          summary->unchanged.note(before.range);
      } else {
        if (summary)
          summary->updated.note(before.range);
        after.updated_at = now;
        bulk.updated(before, after);
      }
      listed_before.push_back(listed);
      change.upserts.push_back(std::move(after));
    } else {
      if (summary)
        summary->added.note(w.range);
      created.push_back(change.upserts.size());
      listed_before.push_back(index.end());
      change.upserts.push_back(new_entry(std::move(w), actor, now));
    }
  }
  std::vector<std::string> fresh = ids.fresh(created.size(), index);
  for (std::size_t k = 0; k < created.size(); ++k)
    change.upserts[created[k]].id = std::move(fresh[k]);
  if (Status s = keeps_an_enabled_entry(change, index, state, force); !s)
    return s.error();
  for (std::size_t k : created)
    bulk.added(change.upserts[k]);
  for (auto it = index.begin(); it != index.end(); ++it)
    if (!staying.count(it->second.range)) {
      if (summary)
        summary->removed.note(it->second.range);
      bulk.removed(index.entry(it));
    }
  std::move(bulk).write_to(change.audit);
  if (ids_in_order) {
    ids_in_order->reserve(change.upserts.size());
    for (const Entry &e : change.upserts)
      ids_in_order->push_back(e.id);
  }
  return commit(std::move(change), std::move(listed_before));
}

Result<std::vector<AddOutcome>>
ListService::add(const std::vector<NewEntry> &entries, const std::string &actor,
                 bool force) {
  ReleaseMemoryAfter release{entries.size()};
  Result<std::vector<Wanted>> wanted = wanted_all(entries, false);
  if (!wanted)
    return wanted.error();
  std::lock_guard lock(impl_->mutex);
  auto placed = impl_->upsert(std::move(*wanted), actor,
                              Impl::AuditStyle::PerEntry, force);
  if (!placed)
    return placed.error();
  std::vector<AddOutcome> out;
  out.reserve(placed->size());
  for (const Impl::Placed &p : *placed)
    out.push_back({impl_->view(impl_->index.find(p.id)), p.created});
  return out;
}

Result<std::vector<EntryView>>
ListService::replace(std::vector<NewEntry> entries, const std::string &actor,
                     bool force) {
  ReleaseMemoryAfter release{entries.size()};
  Result<std::vector<Wanted>> wanted = wanted_all(entries, true);
  entries = {}; // a million of them are a hundred megabytes
  if (!wanted)
    return wanted.error();
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> ids;
  if (Status s =
          impl_->replace(std::move(*wanted), actor, force, nullptr, &ids);
      !s)
    return s.error();
  const HitTable hits = impl_->kernel.all_hits();
  std::vector<EntryView> out;
  out.reserve(ids.size());
  for (const std::string &id : ids)
    out.push_back(impl_->view(impl_->index.find(id), hits));
  return out;
}

} // namespace xdpgate
