// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Conversions between the API's times (milliseconds since the Unix epoch)
// and what an operator reads and types: ISO 8601 in UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace xdpgate::cli {

// "2025-11-23T06:40:00Z"; milliseconds are shown only when not zero.
std::string format_utc(std::int64_t epoch_ms);

// Accepts epoch milliseconds ("1763880000000") or ISO 8601: a date
// ("2025-12-31", midnight UTC) or a date and time ("2025-12-31T18:00",
// seconds and fractions optional, 'T' or a space between) with "Z", "+hh:mm"
// or "-hh:mm"; a time without an offset is UTC, the zone every output uses.
Result<std::int64_t> parse_timestamp(std::string_view text,
                                     std::string_view field);

} // namespace xdpgate::cli
