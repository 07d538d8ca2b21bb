// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list in memory: every entry once, found by id or by range, in a
// compact form (a million-entry list must not cost a daemon gigabytes). It
// mirrors the store: it is loaded from it at start and takes each change
// only once the store has committed it. Not thread-safe: the service's lock
// guards it.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/result.hpp"
#include "model/entry.hpp"
#include "store/store.hpp"

namespace xdpgate {

// An entry id in 16 bytes, with no heap block: ids are "ip_" and 10
// characters.
struct EntryId {
  static constexpr std::size_t kMax = 15;
  std::array<char, kMax> text{};
  std::uint8_t size = 0;

  static std::optional<EntryId> of(std::string_view id);
  std::string_view view() const { return {text.data(), size}; }
  std::string str() const { return std::string(view()); }
  bool operator==(const EntryId &) const = default;
};

struct EntryIdHash {
  std::size_t operator()(const EntryId &id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};

class ListIndex {
public:
  // An entry as the index holds it, a fraction of a full Entry: the creator
  // is interned, no time is optional, no description is empty. `position` is
  // its place in the listing order: the store's order at start, then order of
  // insertion, so entries added in one request keep their request (or file)
  // order.
  struct Listed {
    IpPrefix range;
    bool enabled = true;
    std::uint32_t creator = 0; // index into creators_
    EpochMs created_at = 0;
    EpochMs updated_at = kNoTime;
    EpochMs expires_at = kNoTime;
    std::uint64_t past_hits = 0;
    EpochMs past_last_hit_at = kNoTime;
    std::string description; // empty: none
    std::uint64_t position = 0;
  };
  static constexpr EpochMs kNoTime = std::numeric_limits<EpochMs>::min();

private:
  using ById = std::pmr::unordered_map<EntryId, Listed, EntryIdHash>;

public:
  using Iter = ById::const_iterator;

  ListIndex() = default;
  ListIndex(const ListIndex &) = delete;
  ListIndex &operator=(const ListIndex &) = delete;

  // What a change replaced, for a dry run to put back (undo()).
  class Undo;

  // The store's entries at start, read straight in, and the ranges of the
  // enabled ones into `enabled_ranges` (what the kernel is to hold: walking
  // a million-entry index afterwards would cost a cache miss per entry);
  // store_corrupt for an id no xdpgate makes.
  Status load(const Store &store, std::vector<IpPrefix> &enabled_ranges);
  // A change the store has committed; its entries move in.
  void apply(StoreChange &&change);
  // A change a dry run makes for as long as it builds its answer; undo()
  // then restores the index exactly, positions included.
  Undo apply_for_now(StoreChange &&change);
  void undo(Undo &&undo);
  // The enabled entry with the longest range that holds all of `prefix`.
  Iter covering(const IpPrefix &prefix) const;

  Iter begin() const { return by_id_.cbegin(); }
  Iter end() const { return by_id_.cend(); }
  Iter find(std::string_view id) const;
  Iter find(const IpPrefix &range) const;
  // Every entry (or every enabled one) in listing order.
  std::vector<Iter> in_order(bool include_disabled) const;
  // The entries `in_order` has at [offset, offset + limit), found in time
  // linear in the list (a page of a million-entry list need not sort it);
  // `total` is how many in_order has.
  std::vector<Iter> page(bool include_disabled, std::size_t offset,
                         std::size_t limit, std::size_t &total) const;

  Entry entry(Iter it) const { return entry(it->first, it->second); }
  Entry entry(const EntryId &id, const Listed &l) const {
    return entry(id, l, creators_);
  }
  // An entry from its listed form, with the creator names it was interned
  // in (a snapshot keeps a copy of them).
  static Entry entry(const EntryId &id, const Listed &l,
                     const std::vector<std::string> &creators);
  const std::vector<std::string> &creators() const { return creators_; }
  static std::optional<EpochMs> time(EpochMs t);

  std::size_t size() const { return by_id_.size(); }
  std::size_t enabled() const { return enabled_; }
  std::size_t expiring() const { return expiring_; } // enabled, with expiry

private:
  void apply(StoreChange &&change, Undo *undo);
  void remember(const EntryId &id, Undo &undo) const;
  std::uint32_t intern(const std::string &creator);
  void store_into(Listed &l, Entry &&e);
  void count(const Listed &l, int sign);
  Status add_stored(Entry &&e);
  void order_by_creation();
  void clear();

  // Both maps allocate from one pool: a million nodes packed in large
  // blocks, without malloc's header on each, and not interleaved with an
  // import's temporaries (which then go back to the system whole).
  std::pmr::unsynchronized_pool_resource pool_;
  ById by_id_{&pool_};
  std::pmr::unordered_map<IpPrefix, EntryId> by_range_{&pool_};
  std::vector<std::string> creators_;
  std::unordered_map<std::string, std::uint32_t> creator_index_;
  std::uint64_t next_position_ = 0;
  std::size_t enabled_ = 0;
  std::size_t expiring_ = 0;
};

class ListIndex::Undo {
  friend class ListIndex;
  bool replaced_all = false;
  ById all_by_id;                                          // when replaced_all
  std::pmr::unordered_map<IpPrefix, EntryId> all_by_range; // when replaced_all
  // Otherwise each id the change touched, as it was (none: not listed).
  std::vector<std::pair<EntryId, std::optional<Listed>>> touched;
  std::unordered_set<EntryId, EntryIdHash> seen; // the ids in `touched`
  std::uint64_t next_position = 0;
  std::size_t enabled = 0;
  std::size_t expiring = 0;
};

} // namespace xdpgate
