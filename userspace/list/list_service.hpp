// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list and its rules (SPEC §2). Every operation validates first,
// then commits one store transaction whose last step syncs the kernel maps,
// so a change is acknowledged only when it is both durable and enforced, and
// a refused change leaves both untouched. Thread-safe: one mutex serialises
// every operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "datapath/allow_list_change.hpp"
#include "list/csv.hpp"
#include "list/entry.hpp"
#include "net/ip_prefix.hpp"
#include "store/store.hpp"

namespace xdpgate {

// What a committed change does to the kernel side (DataPath in the daemon):
// the mode it leaves, and the enabled ranges that leave and enter the allow
// list. At start, `whole_list` says `allow.added` is the entire list and the
// kernel drops anything else it holds (say, from a previous process).
struct KernelChange {
  Mode mode = Mode::Off;
  AllowListChange allow;
  bool whole_list = false;
};

// An entry as the API shows it: the record plus kernel statistics.
struct EntryView {
  Entry entry;
  std::uint64_t hits = 0;
  std::optional<EpochMs> last_hit_at;
};

struct AddOutcome {
  EntryView view;
  bool created = false; // false: the range was listed and got updated
};

struct NewEntry {
  std::string ip_range; // raw text, validated by the service
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<EpochMs> expires_at;
};

struct EntryPatch {
  std::optional<std::string> ip_range;
  std::optional<std::optional<std::string>> description; // {nullopt}: remove
  std::optional<bool> enabled;
  std::optional<std::optional<EpochMs>> expires_at; // {nullopt}: remove
};

struct CheckResult {
  IpPrefix address;
  bool allowed = true;
  std::optional<EntryView> matched_entry;
  bool restriction_active = false;
  std::size_t total_entries = 0;
};

struct ActivateRequest {
  Mode mode = Mode::Enforce; // Monitor or Enforce
  bool allow_empty = false;
  std::optional<std::int64_t> confirm_within_s;
};

// What a change would do, for dry runs and imports.
struct ChangeSummary {
  std::vector<std::string> added;   // canonical ranges
  std::vector<std::string> updated; // description changed
  std::vector<std::string> removed; // only with replace
  std::vector<std::string> unchanged;
};

struct ImportReport {
  bool dry_run = false;
  bool replace = false;
  std::vector<CsvLineError> errors; // non-empty: nothing changed
  ChangeSummary summary;
};

struct ListWarnings {
  // "10.1.2.0/24 lies inside 10.0.0.0/8 (ip_3kq...)".
  std::vector<std::string> overlaps;
  std::vector<std::string> stale_ids; // no hit for stale_after
};

class ListService {
public:
  using Clock = std::function<EpochMs()>;
  // Applies a change to the kernel. On failure the service applies the
  // inverse change, which restores the kernel (AllowListChange says why).
  using KernelSync = std::function<Status(const KernelChange &)>;
  // Reads hits for an enabled range from the kernel (nullopt if absent).
  using HitReader =
      std::function<std::optional<std::pair<std::uint64_t, EpochMs>>(
          const IpPrefix &)>;
  // Longest-prefix match in the kernel's trie.
  using KernelLookup =
      std::function<std::optional<IpPrefix>(const IpPrefix &address)>;

  // Loads the list and state from the store and syncs the kernel to them.
  static Result<std::unique_ptr<ListService>> open(Store store, KernelSync sync,
                                                   HitReader hits,
                                                   KernelLookup lookup,
                                                   Clock clock);

  std::vector<EntryView> list(bool include_disabled) const;
  Result<EntryView> get(const std::string &id) const;
  // Upsert by range: a listed range gets the new description (or none) and
  // the existing entry comes back. All or nothing.
  Result<std::vector<AddOutcome>> add(const std::vector<NewEntry> &entries,
                                      const std::string &actor);
  Result<std::vector<EntryView>> replace(const std::vector<NewEntry> &entries,
                                         const std::string &actor, bool force);
  Result<EntryView> update(const std::string &id, const EntryPatch &patch,
                           const std::string &actor, bool force);
  Status remove(const std::string &id, const std::string &actor, bool force);
  // Deletes every entry and deactivates.
  Status remove_all(const std::string &actor);
  Result<EntryView> set_enabled(const std::string &id, bool enabled,
                                const std::string &actor, bool force);

  CheckResult check(const IpPrefix &address) const;

  Result<ImportReport> import_csv(std::string_view text, bool dry_run,
                                  bool replace, const std::string &actor,
                                  bool force);
  std::string export_csv() const;

  Result<RestrictionState> activate(const ActivateRequest &request,
                                    const std::string &actor);
  Result<RestrictionState> deactivate(const std::string &actor);
  Result<RestrictionState> confirm(const std::string &actor);
  RestrictionState state() const;
  std::size_t enabled_count() const;
  std::size_t total_count() const;
  ListWarnings warnings(std::chrono::milliseconds stale_after) const;

  Result<Store::AuditPage> audit(std::int64_t offset, std::int64_t limit) const;

  // Disables expired entries and reverts unconfirmed activations; the daemon
  // calls it every second.
  void tick();

  ~ListService();

private:
  ListService(Store store, KernelSync sync, HitReader hits, KernelLookup lookup,
              Clock clock);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace xdpgate
