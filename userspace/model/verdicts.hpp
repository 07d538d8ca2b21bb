// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The names of enum xdpgate_verdict as the API, metrics and CLI show them,
// in the enum's (decision) order, made from the one list in abi.h.
#pragma once

#include <array>
#include <string_view>

#include "xdpgate/abi.h"

namespace xdpgate {

#define XDPGATE_VERDICT_NAME(suffix, name, value) #name,
inline constexpr std::array<std::string_view, XDPGATE_VERDICT_COUNT>
    kVerdictNames = {XDPGATE_VERDICTS(XDPGATE_VERDICT_NAME)};
#undef XDPGATE_VERDICT_NAME

} // namespace xdpgate
