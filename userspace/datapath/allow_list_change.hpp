// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A change to the kernel's allow list: the list service computes it from a
// committed change, the data path applies it in O(size of the change).
#pragma once

#include <vector>

#include "net/ip_prefix.hpp"

namespace xdpgate {

// Ranges leave first, then ranges enter: a range in both lists ends up
// listed. Removing an unlisted range or adding a listed one does nothing, so
// a change and its inverse (the two lists swapped) always undo each other,
// also after a partial failure.
struct AllowListChange {
  std::vector<IpPrefix> added;
  std::vector<IpPrefix> removed;
  bool atomic = false; // the data path sees the whole change or none of it
};

} // namespace xdpgate
