// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/list_index.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <thread>
#include <tuple>
#include <utility>

#include "list/hand_over.hpp"

namespace xdpgate {

namespace {

EpochMs time_or_none(const std::optional<EpochMs> &t) {
  return t.value_or(ListIndex::kNoTime);
}

} // namespace

std::optional<EntryId> EntryId::of(std::string_view id) {
  if (id.size() > kMax)
    return std::nullopt;
  EntryId out;
  std::copy(id.begin(), id.end(), out.text.begin());
  out.size = static_cast<std::uint8_t>(id.size());
  return out;
}

std::optional<EpochMs> ListIndex::time(EpochMs t) {
  return t == kNoTime ? std::nullopt : std::optional(t);
}

Status ListIndex::load(const Store &store,
                       std::vector<IpPrefix> &enabled_ranges) {
  clear();
  // Room for all at once: growing by rehashing would move every node of a
  // million-entry table several times.
  Result<std::size_t> stored = store.entry_count();
  if (!stored)
    return stored.error();
  by_id_.reserve(*stored);
  by_range_.reserve(*stored);
  enabled_ranges.reserve(*stored);

  // This thread reads the store while another indexes the rows read: a
  // million of them take the longer of the two, not their sum.
  constexpr std::size_t kRowsPerBatch = 4096;
  constexpr std::size_t kBatchesInFlight = 8;
  HandOver<std::vector<Entry>> rows(kBatchesInFlight);
  bool in_creation_order = true;
  Status indexed;
  std::thread indexer([&] {
    EpochMs latest = std::numeric_limits<EpochMs>::min();
    while (std::optional<std::vector<Entry>> batch = rows.take())
      for (Entry &e : *batch) {
        in_creation_order = in_creation_order && e.created_at >= latest;
        latest = std::max(latest, e.created_at);
        if (e.enabled)
          enabled_ranges.push_back(e.range);
        if (indexed = add_stored(std::move(e)); !indexed) {
          rows.stop();
          return;
        }
      }
  });
  Status read;
  {
    // However this block is left, the indexer ends and is joined.
    struct Joined {
      HandOver<std::vector<Entry>> &rows;
      std::thread &indexer;
      ~Joined() {
        rows.close();
        indexer.join();
      }
    } joined{rows, indexer};
    std::vector<Entry> batch;
    batch.reserve(kRowsPerBatch);
    read = store.each_entry([&](Entry &&e) -> Status {
      batch.push_back(std::move(e));
      if (batch.size() < kRowsPerBatch)
        return {};
      std::vector<Entry> full = std::exchange(batch, {});
      batch.reserve(kRowsPerBatch);
      if (!rows.give(std::move(full)))
        return Error{ErrorCode::StoreCorrupt, "stopped"}; // `indexed` says why
      return {};
    });
    if (read && !batch.empty())
      rows.give(std::move(batch));
  }
  if (Status failed = !indexed ? indexed : read; !failed) {
    clear();
    return failed;
  }
  if (!in_creation_order)
    order_by_creation();
  return {};
}

Status ListIndex::add_stored(Entry &&e) {
  auto id = EntryId::of(e.id);
  if (!id)
    return Error{ErrorCode::StoreCorrupt,
                 "the store holds an entry id longer than " +
                     std::to_string(EntryId::kMax) + " characters (" + e.id +
                     "), which no xdpgate makes; restore a backup"};
  by_range_[e.range] = *id;
  Listed &l = by_id_[*id];
  l.position = next_position_++;
  store_into(l, std::move(e));
  count(l, +1);
  return {};
}

// The listing order is creation order, then insertion. Rows come in
// insertion order, which is nearly always creation order already; when not
// (a clock stepped back), positions are given again, stably.
void ListIndex::order_by_creation() {
  std::vector<Listed *> all;
  all.reserve(by_id_.size());
  for (auto &[id, l] : by_id_)
    all.push_back(&l);
  std::sort(all.begin(), all.end(), [](const Listed *a, const Listed *b) {
    return std::tie(a->created_at, a->position) <
           std::tie(b->created_at, b->position);
  });
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i]->position = i;
}

void ListIndex::apply(StoreChange &&change) {
  apply(std::move(change), nullptr);
}

ListIndex::Undo ListIndex::apply_for_now(StoreChange &&change) {
  Undo undo;
  undo.next_position = next_position_;
  undo.enabled = enabled_;
  undo.expiring = expiring_;
  apply(std::move(change), &undo);
  return undo;
}

void ListIndex::apply(StoreChange &&change, Undo *undo) {
  if (change.replace_all && undo) {
    // Set aside whole, not freed: the pool keeps both lists until undo().
    undo->replaced_all = true;
    undo->all_by_id = std::exchange(by_id_, ById(&pool_));
    undo->all_by_range = std::exchange(by_range_, decltype(by_range_)(&pool_));
    enabled_ = expiring_ = 0;
  } else if (change.replace_all) {
    clear();
  }
  for (const std::string &id : change.deletes)
    if (auto it = find(id); it != end()) {
      if (undo)
        remember(it->first, *undo);
      count(it->second, -1);
      by_range_.erase(it->second.range);
      by_id_.erase(it);
    }
  by_id_.reserve(by_id_.size() + change.upserts.size());
  by_range_.reserve(by_range_.size() + change.upserts.size());
  for (Entry &e : change.upserts) {
    // Ids are checked when they enter a change (EntryIds, the store).
    EntryId id = *EntryId::of(e.id);
    if (undo)
      remember(id, *undo);
    auto [it, fresh] = by_id_.try_emplace(id);
    if (fresh) {
      it->second.position = next_position_++;
    } else {
      count(it->second, -1);
      by_range_.erase(it->second.range);
    }
    by_range_[e.range] = id;
    store_into(it->second, std::move(e));
    count(it->second, +1);
  }
}

// An id's state before the change: recorded when the change first touches
// it (after a replace_all, nothing is listed then).
void ListIndex::remember(const EntryId &id, Undo &undo) const {
  if (undo.replaced_all || !undo.seen.insert(id).second)
    return;
  auto it = by_id_.find(id);
  undo.touched.emplace_back(id, it == by_id_.end()
                                    ? std::nullopt
                                    : std::optional<Listed>(it->second));
}

void ListIndex::undo(Undo &&undo) {
  if (undo.replaced_all) {
    by_id_ = std::move(undo.all_by_id);
    by_range_ = std::move(undo.all_by_range);
  } else {
    // Every touched id leaves first, then each comes back as it was: ranges
    // may have moved between them.
    for (const auto &[id, was] : undo.touched)
      if (auto it = by_id_.find(id); it != by_id_.end()) {
        by_range_.erase(it->second.range);
        by_id_.erase(it);
      }
    for (auto &[id, was] : undo.touched)
      if (was) {
        by_range_[was->range] = id;
        by_id_.emplace(id, std::move(*was));
      }
  }
  next_position_ = undo.next_position;
  enabled_ = undo.enabled;
  expiring_ = undo.expiring;
}

ListIndex::Iter ListIndex::covering(const IpPrefix &prefix) const {
  for (int bits = prefix.length; bits >= 0; --bits) {
    auto it = find(prefix.widened_to(static_cast<std::uint8_t>(bits)));
    if (it != end() && it->second.enabled)
      return it;
  }
  return end();
}

ListIndex::Iter ListIndex::find(std::string_view id) const {
  auto key = EntryId::of(id);
  return key ? by_id_.find(*key) : by_id_.end();
}

ListIndex::Iter ListIndex::find(const IpPrefix &range) const {
  auto it = by_range_.find(range);
  return it == by_range_.end() ? by_id_.end() : by_id_.find(it->second);
}

std::vector<ListIndex::Iter> ListIndex::in_order(bool include_disabled) const {
  std::size_t total = 0;
  return page(include_disabled, 0, SIZE_MAX, total);
}

std::vector<ListIndex::Iter> ListIndex::page(bool include_disabled,
                                             std::size_t offset,
                                             std::size_t limit,
                                             std::size_t &total) const {
  std::vector<Iter> chosen;
  chosen.reserve(include_disabled ? by_id_.size() : enabled_);
  for (auto it = by_id_.cbegin(); it != by_id_.cend(); ++it)
    if (include_disabled || it->second.enabled)
      chosen.push_back(it);
  total = chosen.size();
  auto earlier = [](Iter a, Iter b) {
    return a->second.position < b->second.position;
  };
  const std::size_t first = std::min(offset, chosen.size());
  const std::size_t last = first + std::min(limit, chosen.size() - first);
  // Everything before `first` to the left of it, then the page's end.
  if (first > 0)
    std::nth_element(chosen.begin(), chosen.begin() + first - 1, chosen.end(),
                     earlier);
  if (last < chosen.size())
    std::nth_element(chosen.begin() + first, chosen.begin() + last,
                     chosen.end(), earlier);
  std::vector<Iter> out(chosen.begin() + first, chosen.begin() + last);
  std::sort(out.begin(), out.end(), earlier);
  return out;
}

Entry ListIndex::entry(const EntryId &id, const Listed &l,
                       const std::vector<std::string> &creators) {
  Entry e;
  e.id = id.str();
  e.range = l.range;
  if (!l.description.empty())
    e.description = l.description;
  e.enabled = l.enabled;
  e.created_by = creators[l.creator];
  e.created_at = l.created_at;
  e.updated_at = time(l.updated_at);
  e.expires_at = time(l.expires_at);
  e.past_hits = l.past_hits;
  e.past_last_hit_at = time(l.past_last_hit_at);
  return e;
}

std::uint32_t ListIndex::intern(const std::string &creator) {
  auto [it, fresh] = creator_index_.try_emplace(
      creator, static_cast<std::uint32_t>(creators_.size()));
  if (fresh)
    creators_.push_back(creator);
  return it->second;
}

// Fills `l` from `e`, keeping its position.
void ListIndex::store_into(Listed &l, Entry &&e) {
  l.range = e.range;
  l.enabled = e.enabled;
  l.creator = intern(e.created_by);
  l.created_at = e.created_at;
  l.updated_at = time_or_none(e.updated_at);
  l.expires_at = time_or_none(e.expires_at);
  l.past_hits = e.past_hits;
  l.past_last_hit_at = time_or_none(e.past_last_hit_at);
  l.description = e.description ? std::move(*e.description) : std::string();
}

// Keeps the counters that spare a walk over the whole list.
void ListIndex::count(const Listed &l, int sign) {
  if (!l.enabled)
    return;
  enabled_ += sign;
  if (l.expires_at != kNoTime)
    expiring_ += sign;
}

void ListIndex::clear() {
  by_id_ = ById(&pool_);
  by_range_ = decltype(by_range_)(&pool_);
  pool_.release();
  enabled_ = expiring_ = 0;
}

} // namespace xdpgate
