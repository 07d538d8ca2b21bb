// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The names of enum xdpgate_verdict as the API, metrics and CLI show them,
// in the enum's (decision) order.
#pragma once

#include <array>
#include <string_view>

#include "xdpgate/abi.h"

namespace xdpgate {

inline constexpr std::array<std::string_view, XDPGATE_VERDICT_COUNT>
    kVerdictNames = {"allowed", "exempt_source", "exempt_port", "out_of_scope",
                     "reply",   "non_ip",        "ndp",         "would_drop",
                     "dropped", "malformed"};

} // namespace xdpgate
