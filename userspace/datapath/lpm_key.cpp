// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/lpm_key.hpp"

#include <cstring>

#include "xdpgate/abi.h"

namespace xdpgate {

namespace {
std::size_t address_size(Family family) {
  return family == Family::V4 ? 4 : 16;
}
} // namespace

std::size_t lpm_key_size(Family family) {
  return family == Family::V4 ? sizeof(xdpgate_lpm_v4_key)
                              : sizeof(xdpgate_lpm_v6_key);
}

std::size_t host_key_size(Family family) { return address_size(family); }

LpmKey lpm_key(const IpPrefix &prefix) {
  LpmKey key;
  std::uint32_t prefixlen = prefix.length; // host order, as the kernel wants
  std::memcpy(key.bytes.data(), &prefixlen, sizeof(prefixlen));
  std::memcpy(key.bytes.data() + sizeof(prefixlen), prefix.addr.data(),
              address_size(prefix.family));
  return key;
}

IpPrefix prefix_from_lpm_key(Family family, const LpmKey &key) {
  IpPrefix prefix;
  prefix.family = family;
  std::uint32_t prefixlen = 0;
  std::memcpy(&prefixlen, key.bytes.data(), sizeof(prefixlen));
  prefix.length = static_cast<std::uint8_t>(prefixlen);
  std::memcpy(prefix.addr.data(), key.bytes.data() + sizeof(prefixlen),
              address_size(family));
  return prefix;
}

} // namespace xdpgate
