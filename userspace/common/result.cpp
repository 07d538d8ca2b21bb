// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "common/result.hpp"

#include <cstring>

namespace xdpgate {

Error system_error(ErrorCode code, const std::string &what, int err) {
  return Error{code, what + ": " + std::strerror(err), "", err};
}

} // namespace xdpgate
