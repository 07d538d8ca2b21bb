// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Ranges given more than once in one request or file, found by sorting: at
// a million ranges, a hash map of them spent its time waiting on cache
// misses.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "net/ip_prefix.hpp"

namespace xdpgate {

struct RepeatedRange {
  std::size_t place; // where the range is given again
  std::size_t first; // where it was given first
  IpPrefix range;
};

// Every place whose range an earlier place has, in order of place. `places`
// pairs each range with its place (a line, an array index); places are
// distinct.
std::vector<RepeatedRange>
repeated_ranges(std::vector<std::pair<IpPrefix, std::size_t>> places);

} // namespace xdpgate
