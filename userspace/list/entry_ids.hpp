// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// New entry ids: "ip_" and 10 random base36 characters, unused in the list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "list/list_index.hpp"

namespace xdpgate {

class EntryIds {
public:
  // `n` fresh ids, distinct and unused in `index`, in ascending order: the
  // store's index of ids then takes a large import's rows in key order.
  std::vector<std::string> fresh(std::size_t n, const ListIndex &index);

private:
  // 10 random base36 digits, as a number.
  std::uint64_t draw();
  unsigned char byte();
  void refill();

  // Random bytes read in blocks: a million-entry import makes a few hundred
  // getrandom calls instead of a million.
  unsigned char pool_[4096];
  std::size_t used_ = sizeof(pool_);
};

} // namespace xdpgate
