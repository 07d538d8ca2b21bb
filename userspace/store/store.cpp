// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/store.hpp"

namespace xdpgate {

Status Store::apply(const StoreChange &change) {
  auto txn = begin(change);
  if (!txn)
    return txn.error();
  return (*txn)->commit();
}

} // namespace xdpgate
