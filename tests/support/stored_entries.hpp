// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Every entry a store holds, in insertion order: Store::each_entry()
// collected, for tests to compare whole lists.
#pragma once

#include <utility>
#include <vector>

#include "store/store.hpp"

namespace xdpgate::test {

inline Result<std::vector<Entry>> stored_entries(const Store &store) {
  std::vector<Entry> all;
  Status read = store.each_entry([&all](Entry &&e) {
    all.push_back(std::move(e));
    return Status{};
  });
  if (!read)
    return read.error();
  return all;
}

} // namespace xdpgate::test
