// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "store/store.hpp"

namespace xdpgate {

Status Store::apply(const StoreChange &change) {
  auto txn = begin(change);
  if (!txn)
    return txn.error();
  return (*txn)->commit();
}

Status Store::check_audit_page(std::int64_t offset, std::int64_t limit) {
  if (offset < 0)
    return Error{ErrorCode::InvalidParameter, "offset must not be negative",
                 "offset"};
  if (limit < 0)
    return Error{ErrorCode::InvalidParameter, "limit must not be negative",
                 "limit"};
  return {};
}

} // namespace xdpgate
