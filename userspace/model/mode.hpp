// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The restriction's mode in C++, made from the one list in abi.h, so the
// values the daemon writes are the values the XDP program reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "xdpgate/abi.h"

namespace xdpgate {

#define XDPGATE_MODE_CXX(suffix, cxx, name, value) cxx = XDPGATE_MODE_##suffix,
enum class Mode : std::uint8_t { XDPGATE_MODES(XDPGATE_MODE_CXX) };
#undef XDPGATE_MODE_CXX

// "off", "monitor", "enforce": the API's, the store's and the audit's word.
constexpr std::string_view to_string(Mode mode) {
#define XDPGATE_MODE_CASE(suffix, cxx, name, value)                            \
  case Mode::cxx:                                                              \
    return #name;
  switch (mode) { XDPGATE_MODES(XDPGATE_MODE_CASE) }
#undef XDPGATE_MODE_CASE
  return "off";
}

constexpr std::optional<Mode> parse_mode(std::string_view text) {
#define XDPGATE_MODE_MATCH(suffix, cxx, name, value)                           \
  if (text == #name)                                                           \
    return Mode::cxx;
  XDPGATE_MODES(XDPGATE_MODE_MATCH)
#undef XDPGATE_MODE_MATCH
  return std::nullopt;
}

} // namespace xdpgate
