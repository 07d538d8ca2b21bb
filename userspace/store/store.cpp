// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/store.hpp"

namespace xdpgate {

Status Store::apply(const StoreChange &change) {
  auto txn = begin(change);
  if (!txn)
    return txn.error();
  return (*txn)->commit();
}

Result<std::vector<Entry>> Store::entries() const {
  std::vector<Entry> all;
  Status read = each_entry([&all](Entry &&e) {
    all.push_back(std::move(e));
    return Status{};
  });
  if (!read)
    return read.error();
  return all;
}

} // namespace xdpgate
