// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Conversions between IpPrefix and the LPM trie keys of include/xdpgate/abi.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "net/ip_prefix.hpp"

namespace xdpgate {

// Room for either family's key; only the first lpm_key_size() bytes count.
struct LpmKey {
  std::array<std::uint8_t, 20> bytes{};
};

std::size_t lpm_key_size(Family family);
// Exact-host table keys are the bare address (4 or 16 bytes).
std::size_t host_key_size(Family family);
LpmKey lpm_key(const IpPrefix &prefix);
IpPrefix prefix_from_lpm_key(Family family, const LpmKey &key);

} // namespace xdpgate
