// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the list service's operations share: the lock, the store, the kernel,
// the index, the restriction state, and commit(), the one place where a
// change becomes durable and enforced. Private to userspace/list/.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "list/change_plan.hpp"
#include "list/entry_ids.hpp"
#include "list/kernel_port.hpp"
#include "list/list_index.hpp"
#include "list/list_service.hpp"
#include "list/rules.hpp"
#include "store/store.hpp"

namespace xdpgate {

// After a change of this many entries the heap goes back to the system.
inline constexpr std::size_t kLargeChange = 10000;
// Up to this many entries' kernel counters are read one by one; more, all
// in batches (a system call per batch, not per entry).
inline constexpr std::size_t kReadHitsEachUpTo = 4096;

// Declared first in an operation, so that it runs once the operation's
// temporaries are freed: after a large change the heap goes back to the
// system instead of keeping the daemon at its peak size.
class ReleaseMemoryAfter {
public:
  explicit ReleaseMemoryAfter(std::size_t entries = 0) : entries(entries) {}
  ReleaseMemoryAfter(const ReleaseMemoryAfter &) = delete;
  ReleaseMemoryAfter &operator=(const ReleaseMemoryAfter &) = delete;
  ~ReleaseMemoryAfter();
  std::size_t entries;
};

using HitTable = std::unordered_map<IpPrefix, KernelHits>;

struct ListService::Impl {
  Impl(std::unique_ptr<Store> store, KernelPort &kernel, Clock clock,
       std::unique_ptr<ListIndex> loaded)
      : store(std::move(store)), kernel(kernel), clock(std::move(clock)),
        loaded_index(std::move(loaded)), index(*loaded_index) {}

  // Durable and enforced, or neither. Takes the change: its entries move
  // into the index once committed. `replaced`: for each upsert, the entry it
  // replaces (change_plan.hpp), when the caller found them already (a
  // million-entry import then looks each up once, not once per use); empty:
  // looked up here.
  Status commit(StoreChange change, Replaced replaced = {});

  // Applies changes other writers made and the store holds already
  // (list_follow.cpp).
  Status catch_up();
  Status adopt(StoreChange change);

  // An entry and its statistics, with one kernel read.
  EntryView view(ListIndex::Iter it) const;
  // The same from a batched read of every entry's hits.
  EntryView view(ListIndex::Iter it, const HitTable &hits) const;

  // How an upsert is audited: a record per entry (API calls), or as a bulk
  // change (bulk_audit.hpp) listing every entry it adds or updates.
  enum class AuditStyle { PerEntry, Bulk };
  struct Placed {
    std::string id;
    bool created = false;
  };
  // Upserts `wanted` (no range twice), in request order (list_upsert.cpp).
  // Notes in `summary`, when given, what it does to each range.
  Result<std::vector<Placed>> upsert(std::vector<Wanted> wanted,
                                     const std::string &actor, AuditStyle audit,
                                     bool force,
                                     ChangeSummary *summary = nullptr);
  // Makes `wanted` (no range twice) the whole list (list_upsert.cpp). Notes
  // in `summary`, when given, what it does to each range, and in
  // `ids_in_order`, when given, the new list's ids in request order.
  Status replace(std::vector<Wanted> wanted, const std::string &actor,
                 bool force, ChangeSummary *summary = nullptr,
                 std::vector<std::string> *ids_in_order = nullptr);

  // While a dry run goes on (ListService::dry_run), commit() changes only the
  // index and the state, and records here how to put them back.
  struct Preview {
    std::vector<ListIndex::Undo> undo; // in the order applied
    RestrictionState state;            // before the first change
  };
  std::optional<Preview> preview;

  // Whether the data path would drop a TCP packet from every address of
  // `source` to a protected, non-exempt port, by the list and mode as they
  // are now.
  bool drops(const IpPrefix &source) const;

  // Recursive: a dry run holds it while the operation it runs takes it too.
  mutable std::recursive_mutex mutex;
  std::unique_ptr<Store> store;
  KernelPort &kernel;
  Clock clock;
  std::unique_ptr<ListIndex> loaded_index; // as ListService::read() made it
  ListIndex &index;
  RestrictionState state;
  EntryIds ids;
};

} // namespace xdpgate
