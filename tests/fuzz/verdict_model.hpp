// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A userspace reference model of the data path's contract (SPEC §1), written
// from the SPEC and the ABI header's constants, not from bpf/: given a frame
// and a configuration it says which action and which verdict counter the
// XDP program must produce. verdict_fuzz runs both and compares.
//
// What the model holds the program to (the SPEC plus the contract's
// deliberate details):
// - Ethernet, then at most XDPGATE_MAX_VLAN_TAGS 802.1Q/802.1ad tags; more
//   is malformed. Other ethertypes are non_ip.
// - IPv4: a full 20-byte header, version 4, IHL >= 5, the header inside the
//   frame, total length >= header length and inside the frame. IPv6: a full
//   40-byte header, version 6, payload length inside the frame. Extension
//   and L4 headers must lie inside the datagram the IP header declares
//   (bytes past it are Ethernet padding; a payload length of 0 declares an
//   empty datagram, since no Ethernet frame can carry a jumbogram).
// - Non-first fragments carry no L4 header: judged by source.
// - IPv6 hop-by-hop, routing, destination options and fragment headers are
//   walked, at most XDPGATE_MAX_IPV6_EXT_HEADERS of them; an extension
//   header cut short is malformed; past the bound, judged by source.
// - TCP needs 20 bytes, UDP 8, ICMPv6 4; else malformed. ICMPv6 types
//   133-137 are ndp.
// - Then: exempt source, exempt port (TCP/UDP destination), scope, allow
//   list, (reply tracking is not modelled), and finally dropped while
//   enforcing or would_drop otherwise. Malformed frames are dropped only
//   while enforcing.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate::fuzz {

struct ModelConfig {
  xdpgate_mode mode = XDPGATE_MODE_ENFORCE;
  std::vector<IpPrefix> allow;
  std::vector<IpPrefix> exempt_sources;
  std::set<std::uint16_t> exempt_tcp_ports;
  std::set<std::uint16_t> exempt_udp_ports;
  std::set<std::uint16_t> protected_tcp_ports; // empty: every port
  std::set<std::uint16_t> protected_udp_ports;
};

struct ModelOutcome {
  int action;  // XDP_PASS or XDP_DROP
  int verdict; // enum xdpgate_verdict
};

// What the frame looked like to the model, for failure reports.
struct ModelTrace {
  std::string steps;
};

ModelOutcome model_verdict(const ModelConfig &config,
                           std::span<const std::uint8_t> frame,
                           ModelTrace *trace = nullptr);

} // namespace xdpgate::fuzz
