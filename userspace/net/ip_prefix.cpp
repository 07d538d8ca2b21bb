// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "net/ip_prefix.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

#include "common/quoted_input.hpp"

namespace xdpgate {
namespace {

// A parse failure reason; the caller prefixes the field and the input.
using Reason = std::optional<std::string>;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

// Only plain address syntax may pass, so that neither inet_pton's leniency
// nor a zone id, sign or stray whitespace can slip through.
Reason check_characters(std::string_view text) {
  for (char c : text) {
    if (is_hex_digit(c) || c == '.' || c == ':' || c == '/')
      continue;
    if (is_space(c))
      return "whitespace is not allowed";
    if (c == '%')
      return "zone ids (\"%...\") are not allowed";
    return "unexpected character " + quoted_input(std::string_view(&c, 1));
  }
  return std::nullopt;
}

Reason parse_octet(std::string_view part, std::uint8_t &out) {
  if (part.empty())
    return "expected four dot-separated decimal octets";
  if (!std::all_of(part.begin(), part.end(), is_digit))
    return "octet " + quoted_input(part) + " is not a decimal number";
  // "010" reads as octal to some tools and as decimal to others.
  if (part.size() > 1 && part[0] == '0')
    return "octet " + quoted_input(part) + " has a leading zero";
  if (part.size() > 3 || std::stoi(std::string(part)) > 255)
    return "octet " + quoted_input(part) + " is greater than 255";
  out = static_cast<std::uint8_t>(std::stoi(std::string(part)));
  return std::nullopt;
}

// Exactly four decimal octets 0-255 without leading zeros, written by hand
// because inet_pton(AF_INET) differs between C libraries.
Reason parse_ipv4(std::string_view text, std::uint8_t *out) {
  if (std::count(text.begin(), text.end(), '.') != 3)
    return "expected four dot-separated decimal octets";
  for (int i = 0; i < 4; ++i) {
    std::size_t dot = text.find('.');
    if (auto reason = parse_octet(text.substr(0, dot), out[i]))
      return reason;
    text.remove_prefix(dot == std::string_view::npos ? text.size() : dot + 1);
  }
  return std::nullopt;
}

Reason parse_ipv6(std::string_view text, std::uint8_t *out) {
  constexpr std::string_view kInvalid = "not a valid IPv6 address";
  // An embedded IPv4 tail gets the same strict octet rules as plain IPv4.
  std::size_t last_colon = text.rfind(':');
  std::size_t first_dot = text.find('.');
  if (first_dot != std::string_view::npos) {
    if (first_dot < last_colon)
      return std::string(kInvalid);
    std::uint8_t tail[4];
    if (auto reason = parse_ipv4(text.substr(last_colon + 1), tail))
      return std::string(kInvalid) + ": " + *reason;
  }
  if (text.size() > INET6_ADDRSTRLEN)
    return std::string(kInvalid);
  if (inet_pton(AF_INET6, std::string(text).c_str(), out) != 1)
    return std::string(kInvalid);
  return std::nullopt;
}

Reason parse_length(std::string_view text, const IpPrefix &prefix,
                    std::uint8_t &out) {
  if (text.empty())
    return "prefix length is missing after \"/\"";
  if (!std::all_of(text.begin(), text.end(), is_digit))
    return "prefix length " + quoted_input(text) + " is not a decimal number";
  if (text.size() > 1 && text[0] == '0')
    return "prefix length " + quoted_input(text) + " has a leading zero";
  int max = prefix.max_length();
  if (text.size() > 3 || std::stoi(std::string(text)) > max)
    return "prefix length must be 0-" + std::to_string(max) + " for " +
           (prefix.family == Family::V4 ? "IPv4" : "IPv6");
  out = static_cast<std::uint8_t>(std::stoi(std::string(text)));
  return std::nullopt;
}

Reason parse_address_text(std::string_view text, IpPrefix &out) {
  if (text.find(':') != std::string_view::npos) {
    out.family = Family::V6;
    out.length = 128;
    return parse_ipv6(text, out.addr.data());
  }
  out.family = Family::V4;
  out.length = 32;
  return parse_ipv4(text, out.addr.data());
}

Error make_error(ErrorCode code, std::string_view field, std::string message) {
  return Error{code, std::move(message), std::string(field)};
}

std::string format_ipv4(const std::uint8_t *a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." +
         std::to_string(a[2]) + "." + std::to_string(a[3]);
}

bool is_ipv4_mapped(const std::array<std::uint8_t, 16> &a) {
  return std::all_of(a.begin(), a.begin() + 10,
                     [](auto b) { return b == 0; }) &&
         a[10] == 0xff && a[11] == 0xff;
}

// RFC 5952 section 4.2: the first longest run of two or more zero groups.
std::pair<int, int> longest_zero_run(const std::array<std::uint16_t, 8> &g) {
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0)
      ++j;
    if (j - i > best_len && j - i >= 2) {
      best_start = i;
      best_len = j - i;
    }
    i = std::max(j, i + 1);
  }
  return {best_start, best_len};
}

std::string hex_group(std::uint16_t group) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int shift = 12; shift >= 0; shift -= 4)
    if (group >> shift || shift == 0)
      out += kHex[(group >> shift) & 0xf];
  return out;
}

// Written by hand: inet_ntop is not RFC 5952-exact for mapped addresses.
std::string format_ipv6(const std::array<std::uint8_t, 16> &a) {
  if (is_ipv4_mapped(a))
    return "::ffff:" + format_ipv4(&a[12]);
  std::array<std::uint16_t, 8> groups;
  for (int i = 0; i < 8; ++i)
    groups[i] = static_cast<std::uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  auto [run_start, run_len] = longest_zero_run(groups);
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == run_start) {
      out += "::";
      i += run_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':')
      out += ':';
    out += hex_group(groups[i]);
  }
  return out;
}

} // namespace

IpPrefix IpPrefix::widened_to(std::uint8_t bits) const {
  IpPrefix wider = *this;
  wider.length = bits;
  for (std::size_t i = 0; i < wider.addr.size(); ++i) {
    int keep = std::clamp(static_cast<int>(bits) - int(i) * 8, 0, 8);
    wider.addr[i] &= static_cast<std::uint8_t>(0xff00 >> keep);
  }
  return wider;
}

IpPrefix IpPrefix::unmapped() const {
  const bool mapped = family == Family::V6 && length == 128 &&
                      std::all_of(addr.begin(), addr.begin() + 10,
                                  [](std::uint8_t b) { return b == 0; }) &&
                      addr[10] == 0xff && addr[11] == 0xff;
  if (!mapped)
    return *this;
  IpPrefix v4;
  v4.family = Family::V4;
  v4.length = 32;
  std::copy(addr.begin() + 12, addr.end(), v4.addr.begin());
  return v4;
}

bool IpPrefix::contains(const IpPrefix &other) const {
  if (family != other.family || length > other.length)
    return false;
  return other.widened_to(length).addr == widened_to(length).addr;
}

std::string IpPrefix::to_string() const {
  std::string text =
      family == Family::V4 ? format_ipv4(addr.data()) : format_ipv6(addr);
  if (!is_single_address())
    text += "/" + std::to_string(length);
  return text;
}

Result<IpPrefix> IpPrefix::parse(std::string_view text,
                                 std::string_view field) {
  constexpr ErrorCode kCode = ErrorCode::InvalidIpRange;
  auto fail = [&](const std::string &reason) {
    return make_error(kCode, field,
                      std::string(field) + " " + quoted_input(text) + ": " +
                          reason);
  };
  if (text.empty())
    return fail("must not be empty");
  if (auto reason = check_characters(text))
    return fail(*reason);
  if (std::count(text.begin(), text.end(), '/') > 1)
    return fail("only one \"/\" is allowed");

  std::size_t slash = text.find('/');
  IpPrefix prefix;
  if (auto reason = parse_address_text(text.substr(0, slash), prefix))
    return fail(*reason);
  if (slash != std::string_view::npos)
    if (auto reason =
            parse_length(text.substr(slash + 1), prefix, prefix.length))
      return fail(*reason);

  // Zeroing every bit past the length gives the canonical network.
  IpPrefix canonical = prefix.widened_to(prefix.length);
  if (canonical != prefix)
    return make_error(kCode, field,
                      std::string(field) + " " + quoted_input(text) +
                          " has host bits set; did you mean \"" +
                          canonical.to_string() + "\"?");
  return canonical;
}

Result<IpPrefix> IpPrefix::parse_address(std::string_view text,
                                         std::string_view field) {
  constexpr ErrorCode kCode = ErrorCode::InvalidIpAddress;
  auto fail = [&](const std::string &reason) {
    return make_error(kCode, field,
                      std::string(field) + " " + quoted_input(text) + ": " +
                          reason);
  };
  if (text.empty())
    return fail("must not be empty");
  if (auto reason = check_characters(text))
    return fail(*reason);
  if (text.find('/') != std::string_view::npos)
    return fail("expected a single address, without a \"/\" prefix length");
  IpPrefix address;
  if (auto reason = parse_address_text(text, address))
    return fail(*reason);
  return address;
}

} // namespace xdpgate

std::size_t std::hash<xdpgate::IpPrefix>::operator()(
    const xdpgate::IpPrefix &p) const noexcept {
  // The address as two words, each multiplied by an odd constant, with the
  // family and length, then mixed (SplitMix64's finaliser): a handful of
  // instructions where a byte-at-a-time hash took 18 dependent multiplies,
  // and a start with a million entries hashes each range several times.
  // Prefixes are canonical, so equal means equal.
  std::uint64_t low = 0;
  std::uint64_t high = 0;
  std::memcpy(&low, p.addr.data(), sizeof low);
  std::memcpy(&high, p.addr.data() + sizeof low, sizeof high);
  std::uint64_t h = low * 0x9e3779b97f4a7c15ULL ^
                    std::rotl(high * 0xc2b2ae3d27d4eb4fULL, 31) ^
                    (static_cast<std::uint64_t>(p.family) << 8 | p.length);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<std::size_t>(h);
}
