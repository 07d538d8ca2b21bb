// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The list's rules of SPEC §2 as pure functions of the request and the list:
// what input is valid, what an upsert or an update makes of an entry, when a
// change would leave an active restriction with no enabled entry, and what
// the restriction becomes on activation and confirmation. Nothing here
// writes anything.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"
#include "list/list_index.hpp"
#include "list/list_service.hpp"
#include "store/store.hpp"

namespace xdpgate {

Error not_found(const std::string &id);

// A range and what an add, a replace or an import sets on it, validated.
struct Wanted {
  IpPrefix range;
  std::optional<std::string> description; // never empty
  std::optional<bool> enabled;
  std::optional<std::optional<EpochMs>> expires_at;
};
// `field` prefixes the field names in errors ("[3]." for the fourth entry).
Result<Wanted> wanted(const NewEntry &in, const std::string &field);

// Every entry of a request, validated, with no range twice. Fields are
// named "[i]." unless the request holds one entry and `index_single` is
// false (an add of one object).
Result<std::vector<Wanted>> wanted_all(const std::vector<NewEntry> &entries,
                                       bool index_single);

// A new entry with what `w` sets and the defaults for the rest; no id yet.
Entry new_entry(Wanted &&w, const std::string &actor, EpochMs now);
// A listed entry after an upsert of its range: the description always, the
// rest only where given. Keeps id, creator and statistics.
Entry upserted(const Entry &before, Wanted &&w);
// A listed entry after an update (PATCH); range_exists when the new range is
// another entry's.
Result<Entry> patched(const Entry &before, const EntryPatch &patch,
                      const ListIndex &index);

// Refuses a change that leaves an active restriction with no enabled entry.
Status keeps_an_enabled_entry(const StoreChange &change, const ListIndex &index,
                              const RestrictionState &state, bool force);

// The restriction after an activation at `now`.
Result<RestrictionState> activated(const ActivateRequest &request,
                                   const RestrictionState &state,
                                   std::size_t enabled_entries, EpochMs now);
// The restriction after a confirmation; not_pending without one to confirm.
Result<RestrictionState> confirmed(const RestrictionState &state);

} // namespace xdpgate
