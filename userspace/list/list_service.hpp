// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list and its rules (SPEC §2). Every operation validates first,
// plans the change, writes it to the store, makes the kernel enforce it, and
// only then commits the store (Impl::commit in list_core.cpp), so a
// change is acknowledged only when it is both durable and enforced, and a
// refused change leaves both untouched. Thread-safe: one mutex serialises
// every operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "list/csv.hpp"
#include "list/kernel_port.hpp"
#include "list/list_index.hpp"
#include "model/entry.hpp"
#include "net/ip_prefix.hpp"
#include "store/store.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

// An entry as the API shows it: the record plus its statistics (the hits of
// earlier ranges and enablings plus what the kernel counts now).
class ListSnapshot; // list_snapshot.hpp

struct EntryView {
  Entry entry;
  std::uint64_t hits = 0;
  std::optional<EpochMs> last_hit_at;
};

struct AddOutcome {
  EntryView view;
  bool created = false; // false: the range was listed and got updated
};

// What an add, a replace or an import asks for one range. An upsert of a
// listed range sets the description (to none when none is given) and, when
// given, `enabled` and `expires_at`; a new entry takes the defaults for
// what is not given (enabled, no expiry).
struct NewEntry {
  std::string ip_range; // raw text, validated by the service
  std::optional<std::string> description;
  std::optional<bool> enabled;
  std::optional<std::optional<EpochMs>> expires_at; // {nullopt}: none
};

struct EntryPatch {
  std::optional<std::string> ip_range;
  std::optional<std::optional<std::string>> description; // {nullopt}: remove
  std::optional<bool> enabled;
  std::optional<std::optional<EpochMs>> expires_at; // {nullopt}: remove
};

// What the data path does with a TCP packet from `address` to a protected,
// non-exempt port (SPEC §3).
struct CheckResult {
  IpPrefix address;
  Mode mode = Mode::Off;
  // XDPGATE_VERDICT_ALLOWED, _EXEMPT_SOURCE, _WOULD_DROP or _DROPPED.
  xdpgate_verdict verdict = XDPGATE_VERDICT_ALLOWED;
  bool allowed = true; // the packet passes: any verdict but dropped
  // The entry that matches, while the restriction is active.
  std::optional<EntryView> matched_entry;
  bool restriction_active = false;
  std::size_t total_entries = 0;
};

struct ActivateRequest {
  Mode mode = Mode::Enforce; // Monitor or Enforce
  bool allow_empty = false;
  std::optional<std::int64_t> confirm_within_s;
};

// What an import does to the list: per kind of change, how many ranges and
// the first kListed of them (canonical text). A million-range answer would
// cost more than the import; the audit log lists every entry.
struct ChangeSummary {
  static constexpr std::size_t kListed = 1000;
  struct Ranges {
    std::size_t count = 0;
    std::vector<std::string> first; // at most kListed
    void note(const IpPrefix &range) {
      if (count++ < kListed)
        first.push_back(range.to_string());
    }
  };
  Ranges added;
  Ranges updated; // listed; something it sets changes
  Ranges removed; // only with replace
  Ranges unchanged;
};

struct ImportReport {
  bool replace = false;
  std::vector<CsvLineError> errors; // non-empty: nothing changed
  ChangeSummary summary;
};

// A source the data path saw lately, and what it counted: an address from
// the denied-source sample, or the range of an entry that had hits.
struct SeenSource {
  IpPrefix address;
  std::uint64_t packets = 0;
  std::optional<EpochMs> last_seen_at;
};

// What a dry run is told besides the change: the denied-source sample (the
// data path's, read by the daemon) and the caller's own address, if known.
struct DryRunInput {
  std::vector<SeenSource> denied;
  std::optional<IpPrefix> caller;
};

// What a change would do to traffic (SPEC §3): the sources seen lately whose
// verdict it turns from pass to drop, and back, the most active first (at
// most kImpactListed of each; the totals count all), and whether the
// caller's address is dropped afterwards.
struct Impact {
  static constexpr std::size_t kImpactListed = 100;
  std::vector<SeenSource> start_dropping;
  std::vector<SeenSource> stop_dropping;
  std::size_t start_dropping_total = 0;
  std::size_t stop_dropping_total = 0;
  std::optional<IpPrefix> caller;
  bool caller_cut_off = false;
};

struct ListWarnings {
  // "10.1.2.0/24 lies inside 10.0.0.0/8 (ip_3kq...)".
  std::vector<std::string> overlaps;
  std::vector<std::string> stale_ids; // no hit for stale_after
};

class ListService {
public:
  using Clock = std::function<EpochMs()>;

  // Loads the list and state from the store and makes the kernel enforce
  // them. The kernel must outlive the service.
  static Result<std::unique_ptr<ListService>>
  open(std::unique_ptr<Store> store, KernelPort &kernel, Clock clock);

  // What a store holds, read into the list's index before the service
  // opens: a daemon reads and indexes a million entries while it loads the
  // data path, on another thread.
  struct Stored {
    std::unique_ptr<ListIndex> index;
    std::vector<IpPrefix> enabled_ranges;
    RestrictionState state;
    Stored() = default;
    Stored(Stored &&) noexcept = default;
    Stored &operator=(Stored &&) noexcept = default;
    // Out of line: GCC 12 inlines the destructor of a vector moved out of,
    // inside std::variant, and warns of a free of an object never allocated.
    ~Stored();
  };
  static Result<Stored> read(const Store &store);
  // open() with what read() found in `store`.
  static Result<std::unique_ptr<ListService>> open(std::unique_ptr<Store> store,
                                                   Stored stored,
                                                   KernelPort &kernel,
                                                   Clock clock);

  // Every entry (or every enabled one) in listing order.
  std::vector<EntryView> list(bool include_disabled) const;
  // The entries list() has at [offset, offset + limit), with their
  // statistics, as of one moment.
  ListSnapshot snapshot(bool include_disabled, std::size_t offset,
                        std::size_t limit) const;
  // Every entry, for the export (without statistics).
  ListSnapshot export_snapshot() const;
  Result<EntryView> get(const std::string &id) const;
  // Upsert by range (NewEntry says what a listed range gets); the existing
  // entry comes back. A range twice in one request is refused. All or
  // nothing.
  Result<std::vector<AddOutcome>> add(const std::vector<NewEntry> &entries,
                                      const std::string &actor,
                                      bool force = false);
  // Takes the request's entries, to free them once read.
  Result<std::vector<EntryView>> replace(std::vector<NewEntry> entries,
                                         const std::string &actor, bool force);
  Result<EntryView> update(const std::string &id, const EntryPatch &patch,
                           const std::string &actor, bool force);
  Status remove(const std::string &id, const std::string &actor, bool force);
  // Deletes every entry and deactivates.
  Status remove_all(const std::string &actor);
  Result<EntryView> set_enabled(const std::string &id, bool enabled,
                                const std::string &actor, bool force);

  CheckResult check(const IpPrefix &address) const;

  Result<ImportReport> import_csv(std::string_view text, bool replace,
                                  const std::string &actor, bool force);

  Result<RestrictionState> activate(const ActivateRequest &request,
                                    const std::string &actor);
  Result<RestrictionState> deactivate(const std::string &actor);
  Result<RestrictionState> confirm(const std::string &actor);
  RestrictionState state() const;
  std::size_t enabled_count() const;
  std::size_t total_count() const;
  // See Store::status() and Store::fleet().
  StoreStatus store_status() const;
  Result<Fleet> fleet() const;
  ListWarnings warnings(std::chrono::milliseconds stale_after) const;

  Result<AuditPage> audit(std::int64_t offset, std::int64_t limit) const;

  // Runs `change`, calls of this service's changing operations, as a dry
  // run: they validate, plan and answer exactly as they would, capacity of
  // the kernel included, but nothing reaches the store, the kernel or the
  // audit log, and no other caller sees the list as changed (list_preview.cpp).
  // Returns what the change would do to the traffic seen lately.
  Impact dry_run(const DryRunInput &input, const std::function<void()> &change);

  // Disables expired entries and reverts unconfirmed activations; the daemon
  // calls it every second.
  void tick();

  // Applies what other writers changed in a shared store
  // (Store::take_changes) to the index and the kernel (list_follow.cpp).
  Status catch_up();
  // Waits up to `wait` for the store to have such changes (without the
  // list's lock: reads and writes go on meanwhile), then catches up. A
  // daemon on a shared store calls it in a loop on a thread of its own.
  Status follow_store(std::chrono::milliseconds wait);

  ~ListService();

  struct Impl; // list/list_core.hpp

private:
  explicit ListService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace xdpgate
