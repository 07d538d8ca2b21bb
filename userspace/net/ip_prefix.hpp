// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// An IPv4 or IPv6 prefix (a single address is a prefix of full length):
// strict parsing with operator-facing errors, and the canonical text form
// (a single address without /32 or /128; IPv6 as RFC 5952).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace xdpgate {

enum class Family : std::uint8_t { V4 = 4, V6 = 6 };

struct IpPrefix {
  Family family = Family::V4;
  std::uint8_t length = 0;
  std::array<std::uint8_t, 16> addr{}; // network order; IPv4 uses [0..4)

  auto operator<=>(const IpPrefix &) const = default;

  std::uint8_t max_length() const { return family == Family::V4 ? 32 : 128; }
  bool is_single_address() const { return length == max_length(); }
  // The prefix of `bits` bits (at most this one's length) that contains this
  // one: the bits past `bits` cleared.
  IpPrefix widened_to(std::uint8_t bits) const;
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address its
  // packets carry on the wire (a dual-stack socket reports IPv4 peers so);
  // anything else as it is.
  IpPrefix unmapped() const;
  // True when every address of `other` is inside this prefix.
  bool contains(const IpPrefix &other) const;
  // Canonical text: "192.0.2.0/24", "2001:db8::/32", "198.18.0.1".
  std::string to_string() const;

  // Parses an address or CIDR. Rejects host bits (the error message names the
  // canonical prefix), out-of-range lengths, leading zeros, surrounding
  // whitespace, empty text and anything that is not plain IPv4/IPv6. Errors
  // carry code "invalid_ip_range" and the given field name.
  static Result<IpPrefix> parse(std::string_view text,
                                std::string_view field = "ip_range");
  // Parses a single address (no "/len"); code "invalid_ip_address".
  static Result<IpPrefix> parse_address(std::string_view text,
                                        std::string_view field = "ip_address");
};

} // namespace xdpgate

template <> struct std::hash<xdpgate::IpPrefix> {
  std::size_t operator()(const xdpgate::IpPrefix &p) const noexcept;
};
