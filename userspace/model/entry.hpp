// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list's records: an entry, the restriction state and an audit
// record. One definition, shared by the list rules, the stores, the data path
// and the API; they depend on nothing above them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/mode.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

// Milliseconds since the Unix epoch.
using EpochMs = std::int64_t;

struct Entry {
  std::string id; // "ip_" + 10 lowercase base36 characters, stable forever
  IpPrefix range; // canonical; unique in the list
  std::optional<std::string> description; // at most 256 UTF-8 bytes
  bool enabled = true;
  std::string created_by; // Unix user name of the caller
  EpochMs created_at = 0;
  std::optional<EpochMs> updated_at; // null until the first update
  std::optional<EpochMs> expires_at; // disabled automatically at this time
  // Hits the kernel counted under the entry's earlier ranges or before it was
  // last disabled: the kernel's counters start again from zero when a range
  // enters its maps, so these keep an entry's history (and stale detection)
  // across a disable and enable or a change of range.
  std::uint64_t past_hits = 0;
  std::optional<EpochMs> past_last_hit_at;

  bool operator==(const Entry &) const = default;
};

struct RestrictionState {
  Mode mode = Mode::Off; // Off means the restriction is inactive
  // Commit-confirm: until confirm_deadline, the activation is provisional and
  // reverts to revert_mode unless confirmed.
  std::optional<EpochMs> confirm_deadline;
  Mode revert_mode = Mode::Off;

  bool active() const { return mode != Mode::Off; }
  bool operator==(const RestrictionState &) const = default;
};

struct AuditRecord {
  std::int64_t sequence = 0; // assigned by the store, increasing
  EpochMs at = 0;
  std::string actor;     // Unix user name, or "xdpgated" for automatic changes
  std::string action;    // e.g. "add", "update", "delete", "activate"
  std::string entry_id;  // empty for list-wide actions
  std::string before;    // JSON text of the previous state, or empty
  std::string after;     // JSON text of the new state, or empty
  std::string host = {}; // the daemon's, in a fleet (SPEC §7); else empty
};

} // namespace xdpgate
