// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "net/tcp_address.hpp"

#include <charconv>

namespace xdpgate {

std::string TcpAddress::to_string() const {
  const std::string host = address.to_string();
  return (address.family == Family::V6 ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

Result<TcpAddress> TcpAddress::parse(std::string_view text) {
  const Error wrong{ErrorCode::InvalidValue,
                    "expected an IP address and a port, as in "
                    "\"127.0.0.1:9433\" or \"[::1]:9433\""};
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return wrong;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const bool bracketed =
      host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed)
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [end, err] = std::from_chars(port_text.data(),
                                    port_text.data() + port_text.size(), port);
  if (port_text.empty() || err != std::errc() ||
      end != port_text.data() + port_text.size() || port < 1 || port > 65535 ||
      port_text.front() == '0')
    return Error{ErrorCode::InvalidValue,
                 "the port must be a number from 1 to 65535, as in "
                 "\"127.0.0.1:9433\""};
  Result<IpPrefix> address = IpPrefix::parse_address(host);
  // An IPv6 address is bracketed, so that its colons are not the port's.
  if (!address || bracketed != (address->family == Family::V6))
    return wrong;
  return TcpAddress{*address, static_cast<std::uint16_t>(port)};
}

} // namespace xdpgate
