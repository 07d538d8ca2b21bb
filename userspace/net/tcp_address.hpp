// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A TCP endpoint to listen on, as an operator writes it: "127.0.0.1:9433"
// or "[::1]:9433". The address is a literal (a host name would be resolved
// at start, to whatever the resolver said then); the port is 1 to 65535.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

struct TcpAddress {
  IpPrefix address; // a single address
  std::uint16_t port = 0;

  bool operator==(const TcpAddress &) const = default;
  // "127.0.0.1:9433", "[::1]:9433".
  std::string to_string() const;
  // Errors (code invalid_value) say what was expected.
  static Result<TcpAddress> parse(std::string_view text);
};

} // namespace xdpgate
