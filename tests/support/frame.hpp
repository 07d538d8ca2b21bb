// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A small builder of Ethernet frames for verdict tests:
//   Frame::ipv4("203.0.113.7").vlan(10).tcp(10943).bytes()
// Checksums are left zero: XDP judges frames before anything verifies them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xdpgate::test {

class Frame {
public:
  static Frame ipv4(const std::string &source,
                    const std::string &dest = "198.18.0.1");
  static Frame ipv6(const std::string &source,
                    const std::string &dest = "2001:db8::1");
  // A non-IP frame with the given ethertype and a short payload.
  static Frame ethertype(std::uint16_t type);
  static Frame arp() { return ethertype(0x0806); }

  Frame &vlan(std::uint16_t id, std::uint16_t tpid = 0x8100); // outer first
  Frame &tcp(std::uint16_t dest_port, std::uint16_t source_port = 40000);
  Frame &udp(std::uint16_t dest_port, std::uint16_t source_port = 40000);
  Frame &icmp(std::uint8_t type = 8); // ICMPv4; 8: echo request, 0: reply
  // The identifier of an echo request or reply (ICMP or ICMPv6).
  Frame &echo_id(std::uint16_t id);
  Frame &icmpv6(std::uint8_t type);
  Frame &l4_protocol(std::uint8_t protocol); // any other protocol, raw payload
  Frame &ipv4_options(std::uint8_t bytes);   // multiple of 4, at most 40
  // IPv4: fragment offset (in 8-byte units) and more-fragments flag.
  // IPv6: appends a fragment extension header with these fields.
  Frame &fragment(std::uint16_t offset_units, bool more_fragments);
  // IPv6 hop-by-hop (0), routing (43) or destination options (60) header of
  // (8 + 8 * extra_units) bytes.
  Frame &ipv6_extension(std::uint8_t type, std::uint8_t extra_units = 0);
  Frame &ip_version(std::uint8_t version);    // lie in the version field
  Frame &ipv4_header_words(std::uint8_t ihl); // lie in the IHL field
  Frame &payload(std::size_t bytes);
  Frame &drop_tail(std::size_t bytes); // cut the finished frame short

  std::vector<std::uint8_t> bytes() const;

private:
  std::vector<std::uint8_t> build() const;

  struct Extension {
    std::uint8_t type;
    std::uint8_t extra_units;
    std::uint16_t frag_offset;
    bool more;
  };

  bool is_ipv6_ = false;
  bool is_ip_ = true;
  std::uint16_t ethertype_ = 0;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> tags_; // tpid, id
  std::uint8_t source_[16] = {};
  std::uint8_t dest_[16] = {};
  std::uint8_t protocol_ = 17;
  std::uint16_t source_port_ = 40000;
  std::uint16_t dest_port_ = 9;
  std::uint8_t icmp_type_ = 8;
  std::uint16_t echo_id_ = 0;
  std::uint8_t options_ = 0;
  std::uint16_t frag_offset_ = 0;
  bool more_fragments_ = false;
  std::vector<Extension> extensions_;
  std::uint8_t version_override_ = 0;
  std::uint8_t ihl_override_ = 0;
  std::size_t payload_ = 18;
  std::size_t drop_tail_ = 0;
};

} // namespace xdpgate::test
