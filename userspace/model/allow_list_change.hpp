// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A change to the kernel's side of the list: the list layer plans it from a
// change to the list, the data path applies it in O(size of the change).
#pragma once

#include <utility>
#include <vector>

#include "model/mode.hpp"
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

// What a change to the list does to the kernel: the mode it leaves, and the
// enabled ranges that leave and enter the allow list. At start, `whole_list`
// says `allow.added` is the entire list and the kernel drops anything else
// it holds (say, from a previous process).
struct KernelChange {
  Mode mode = Mode::Off;
  AllowListChange allow;
  bool whole_list = false;
};

// The change that undoes `change` and restores `mode`.
inline KernelChange inverse(KernelChange change, Mode mode) {
  std::swap(change.allow.added, change.allow.removed);
  change.mode = mode;
  return change;
}

} // namespace xdpgate
