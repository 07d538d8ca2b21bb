// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// IpPrefix::parse on arbitrary bytes. Properties: nothing crashes; a
// rejection is an invalid_ip_range error naming the field; an accepted
// prefix is canonical (length in range, no host bits, IPv4 tail zero), its
// text parses back to the same prefix and the same text, and the address
// part means the same to inet_pton; parse_address agrees with parse on
// single addresses.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/ip_prefix.hpp"

namespace {

using xdpgate::ErrorCode;
using xdpgate::Family;
using xdpgate::IpPrefix;

[[noreturn]] void fail(std::string_view input, const std::string &why) {
  std::fprintf(stderr, "ip_prefix_fuzz: %s\n  input: \"%.*s\" (%zu bytes)\n",
               why.c_str(), static_cast<int>(input.size()), input.data(),
               input.size());
  std::abort();
}

void check_canonical(std::string_view input, const IpPrefix &p) {
  if (p.family != Family::V4 && p.family != Family::V6)
    fail(input, "unknown family");
  if (p.length > p.max_length())
    fail(input, "length past the family's maximum");
  for (unsigned bit = p.length; bit < 128; ++bit)
    if (p.addr[bit / 8] & (0x80u >> (bit % 8)))
      fail(input,
           "host bit " + std::to_string(bit) + " set in " + p.to_string());
}

// The address part of accepted input must mean the same to the C library.
void check_against_inet_pton(std::string_view input, const IpPrefix &p) {
  std::string address(input.substr(0, input.find('/')));
  unsigned char bytes[16] = {};
  int af = p.family == Family::V4 ? AF_INET : AF_INET6;
  if (inet_pton(af, address.c_str(), bytes) != 1)
    fail(input, "accepted, but inet_pton rejects the address");
  std::size_t n = p.family == Family::V4 ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i)
    if (bytes[i] != p.addr[i])
      fail(input, "accepted as " + p.to_string() +
                      ", but inet_pton reads another address");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  auto parsed = IpPrefix::parse(input);
  if (!parsed) {
    const xdpgate::Error &e = parsed.error();
    if (e.code != ErrorCode::InvalidIpRange || e.field != "ip_range" ||
        e.message.empty())
      fail(input, "rejection without code, field or message: " +
                      std::string(wire_name(e.code)) + "/" + e.field + "/" +
                      e.message);
    if (e.message.size() > 1024)
      fail(input, "rejection message of " + std::to_string(e.message.size()) +
                      " bytes");
    auto address = IpPrefix::parse_address(input);
    if (address)
      fail(input, "parse_address accepts what parse rejects");
    return 0;
  }
  const IpPrefix &p = *parsed;
  check_canonical(input, p);
  check_against_inet_pton(input, p);

  std::string text = p.to_string();
  auto again = IpPrefix::parse(text);
  if (!again)
    fail(input, "canonical text \"" + text +
                    "\" is rejected: " + again.error().message);
  if (!(*again == p))
    fail(input,
         "\"" + text + "\" parses to another prefix, " + again->to_string());
  if (again->to_string() != text)
    fail(input, "canonical text is not stable: \"" + text + "\" then \"" +
                    again->to_string() + "\"");
  if ((text.find('/') == std::string::npos) != p.is_single_address())
    fail(input, "\"" + text + "\" shows a /len iff it is not a single address");

  auto address = IpPrefix::parse_address(input);
  bool has_length = input.find('/') != std::string_view::npos;
  if (!has_length && !address)
    fail(input, "parse accepts a plain address that parse_address rejects: " +
                    address.error().message);
  if (address && !(*address == p))
    fail(input, "parse_address and parse disagree");
  return 0;
}
