// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/repeated_ranges.hpp"

#include <algorithm>

namespace xdpgate {

std::vector<RepeatedRange>
repeated_ranges(std::vector<std::pair<IpPrefix, std::size_t>> places) {
  std::sort(places.begin(), places.end());
  std::vector<RepeatedRange> repeats;
  // Each range's places are together, in order: the first of them is where
  // it was given first.
  for (std::size_t first = 0, k = 1; k < places.size(); ++k) {
    if (places[k].first != places[first].first) {
      first = k;
      continue;
    }
    repeats.push_back(
        {places[k].second, places[first].second, places[k].first});
  }
  std::sort(repeats.begin(), repeats.end(),
            [](const RepeatedRange &a, const RepeatedRange &b) {
              return a.place < b.place;
            });
  return repeats;
}

} // namespace xdpgate
