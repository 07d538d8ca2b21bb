// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "fuzz/verdict_model.hpp"

#include <linux/bpf.h>

#include <optional>

namespace xdpgate::fuzz {
namespace {

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86DD;
constexpr std::uint16_t kEth8021Q = 0x8100;
constexpr std::uint16_t kEth8021AD = 0x88A8;
constexpr std::uint8_t kTcp = 6;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kDestOptions = 60;

// What parsing found.
struct Parsed {
  enum class Kind { Malformed, NonIp, Ndp, Ip } kind = Kind::Malformed;
  Family family = Family::V4;
  std::array<std::uint8_t, 16> source{};
  std::uint8_t protocol = 0;
  std::optional<std::uint16_t> dest_port; // TCP/UDP with its header found
};

// Bounds-checked reads; `end` is the end of what the current layer may use.
class Cursor {
public:
  Cursor(std::span<const std::uint8_t> frame, ModelTrace *trace)
      : frame_(frame), trace_(trace) {}
  bool fits(std::size_t at, std::size_t bytes, std::size_t end) const {
    return at <= end && bytes <= end - at && end <= frame_.size();
  }
  std::uint8_t u8(std::size_t at) const { return frame_[at]; }
  std::uint16_t be16(std::size_t at) const {
    return static_cast<std::uint16_t>(frame_[at] << 8 | frame_[at + 1]);
  }
  std::size_t size() const { return frame_.size(); }
  void note(const std::string &step) const {
    if (trace_)
      trace_->steps += step + "; ";
  }

private:
  std::span<const std::uint8_t> frame_;
  ModelTrace *trace_;
};

Parsed malformed(const Cursor &c, const std::string &why) {
  c.note("malformed: " + why);
  return {};
}

Parsed source_only(Parsed p, const Cursor &c, const std::string &why) {
  c.note("judged by source: " + why);
  p.kind = Parsed::Kind::Ip;
  p.dest_port.reset();
  return p;
}

// The L4 header at `at`, inside the datagram ending at `end`.
Parsed parse_l4(Parsed p, const Cursor &c, std::size_t at, std::size_t end) {
  p.kind = Parsed::Kind::Ip;
  switch (p.protocol) {
  case kTcp:
    if (!c.fits(at, 20, end))
      return malformed(c, "TCP header short");
    p.dest_port = c.be16(at + 2);
    break;
  case kUdp:
    if (!c.fits(at, 8, end))
      return malformed(c, "UDP header short");
    p.dest_port = c.be16(at + 2);
    break;
  case kIcmpv6:
    if (p.family != Family::V6)
      break;
    if (!c.fits(at, 4, end))
      return malformed(c, "ICMPv6 header short");
    if (c.u8(at) >= 133 && c.u8(at) <= 137) {
      c.note("ndp type " + std::to_string(c.u8(at)));
      p.kind = Parsed::Kind::Ndp;
    }
    break;
  default:
    break;
  }
  c.note("protocol " + std::to_string(p.protocol) +
         (p.dest_port ? " port " + std::to_string(*p.dest_port) : ""));
  return p;
}

Parsed parse_ipv4(const Cursor &c, std::size_t at) {
  Parsed p;
  p.family = Family::V4;
  if (!c.fits(at, 20, c.size()))
    return malformed(c, "IPv4 header short");
  std::uint8_t version = c.u8(at) >> 4;
  std::size_t header = (c.u8(at) & 0x0F) * 4u;
  if (version != 4)
    return malformed(c, "IPv4 version " + std::to_string(version));
  if (header < 20)
    return malformed(c, "IHL below 5");
  if (!c.fits(at, header, c.size()))
    return malformed(c, "IPv4 options past the frame");
  std::size_t total = c.be16(at + 2);
  if (total < header)
    return malformed(c, "total length below the header");
  if (!c.fits(at, total, c.size()))
    return malformed(c, "total length past the frame");
  for (int i = 0; i < 4; ++i)
    p.source[i] = c.u8(at + 12 + i);
  p.protocol = c.u8(at + 9);
  if ((c.be16(at + 6) & 0x1FFF) != 0)
    return source_only(p, c, "non-first IPv4 fragment");
  return parse_l4(p, c, at + header, at + total);
}

Parsed parse_ipv6(const Cursor &c, std::size_t at) {
  Parsed p;
  p.family = Family::V6;
  if (!c.fits(at, 40, c.size()))
    return malformed(c, "IPv6 header short");
  std::uint8_t version = c.u8(at) >> 4;
  if (version != 6)
    return malformed(c, "IPv6 version " + std::to_string(version));
  std::size_t end = at + 40 + c.be16(at + 4);
  if (end > c.size())
    return malformed(c, "payload length past the frame");
  for (int i = 0; i < 16; ++i)
    p.source[i] = c.u8(at + 8 + i);
  std::uint8_t next = c.u8(at + 6);
  std::size_t cursor = at + 40;
  for (int walked = 0;; ++walked) {
    bool extension = next == kHopByHop || next == kRouting ||
                     next == kDestOptions || next == kFragment;
    if (!extension)
      break;
    if (walked == XDPGATE_MAX_IPV6_EXT_HEADERS)
      return source_only(p, c, "past the extension header bound");
    if (!c.fits(cursor, 8, end))
      return malformed(c,
                       "extension header " + std::to_string(next) + " short");
    std::size_t length = next == kFragment ? 8 : (c.u8(cursor + 1) + 1u) * 8;
    if (!c.fits(cursor, length, end))
      return malformed(c, "extension header " + std::to_string(next) +
                              " past the payload");
    if (next == kFragment && (c.be16(cursor + 2) >> 3) != 0)
      return source_only(p, c, "non-first IPv6 fragment");
    c.note("extension " + std::to_string(next));
    next = c.u8(cursor);
    cursor += length;
  }
  p.protocol = next;
  return parse_l4(p, c, cursor, end);
}

Parsed parse_frame(const Cursor &c) {
  if (!c.fits(0, 14, c.size()))
    return malformed(c, "Ethernet header short");
  std::uint16_t type = c.be16(12);
  std::size_t at = 14;
  for (int tags = 0; type == kEth8021Q || type == kEth8021AD; ++tags) {
    if (tags == XDPGATE_MAX_VLAN_TAGS)
      return malformed(c, "too many VLAN tags");
    if (!c.fits(at, 4, c.size()))
      return malformed(c, "VLAN tag short");
    type = c.be16(at + 2);
    at += 4;
  }
  if (type == kEthIpv4)
    return parse_ipv4(c, at);
  if (type == kEthIpv6)
    return parse_ipv6(c, at);
  c.note("ethertype " + std::to_string(type));
  Parsed p;
  p.kind = Parsed::Kind::NonIp;
  return p;
}

bool matches(const std::vector<IpPrefix> &set, const Parsed &p) {
  for (const IpPrefix &prefix : set) {
    if (prefix.family != p.family)
      continue;
    bool inside = true;
    for (unsigned bit = 0; bit < prefix.length && inside; ++bit) {
      unsigned mask = 0x80u >> (bit % 8);
      inside = (prefix.addr[bit / 8] & mask) == (p.source[bit / 8] & mask);
    }
    if (inside)
      return true;
  }
  return false;
}

} // namespace

ModelOutcome model_verdict(const ModelConfig &config,
                           std::span<const std::uint8_t> frame,
                           ModelTrace *trace) {
  Cursor c(frame, trace);
  Parsed p = parse_frame(c);
  bool enforcing = config.mode == XDPGATE_MODE_ENFORCE;
  auto pass = [](int verdict) { return ModelOutcome{XDP_PASS, verdict}; };
  switch (p.kind) {
  case Parsed::Kind::Malformed:
    return {enforcing ? XDP_DROP : XDP_PASS, XDPGATE_VERDICT_MALFORMED};
  case Parsed::Kind::NonIp:
    return pass(XDPGATE_VERDICT_NON_IP);
  case Parsed::Kind::Ndp:
    return pass(XDPGATE_VERDICT_NDP);
  case Parsed::Kind::Ip:
    break;
  }
  if (matches(config.exempt_sources, p))
    return pass(XDPGATE_VERDICT_EXEMPT_SOURCE);
  if (p.dest_port) {
    bool tcp = p.protocol == kTcp;
    const auto &exempt =
        tcp ? config.exempt_tcp_ports : config.exempt_udp_ports;
    if (exempt.contains(*p.dest_port))
      return pass(XDPGATE_VERDICT_EXEMPT_PORT);
    const auto &scope =
        tcp ? config.protected_tcp_ports : config.protected_udp_ports;
    if (!scope.empty() && !scope.contains(*p.dest_port))
      return pass(XDPGATE_VERDICT_OUT_OF_SCOPE);
  }
  if (matches(config.allow, p))
    return pass(XDPGATE_VERDICT_ALLOWED);
  if (enforcing)
    return {XDP_DROP, XDPGATE_VERDICT_DROPPED};
  return pass(XDPGATE_VERDICT_WOULD_DROP);
}

} // namespace xdpgate::fuzz
