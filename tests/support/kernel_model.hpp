// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The kernel side of ListService as tests model it: the mode and the allow
// list after each KernelChange, by AllowListChange's rules (ranges leave,
// then ranges enter; a whole-list change drops everything else).
#pragma once

#include <set>
#include <vector>

#include "list/list_service.hpp"

namespace xdpgate {

struct KernelState {
  Mode mode = Mode::Off;
  std::vector<IpPrefix> allow; // sorted
};

inline KernelState after_change(const KernelState &before,
                                const KernelChange &change) {
  std::set<IpPrefix> allow;
  if (!change.whole_list)
    allow.insert(before.allow.begin(), before.allow.end());
  for (const IpPrefix &p : change.allow.removed)
    allow.erase(p);
  allow.insert(change.allow.added.begin(), change.allow.added.end());
  return {change.mode, {allow.begin(), allow.end()}};
}

} // namespace xdpgate
