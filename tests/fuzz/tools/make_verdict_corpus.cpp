// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Writes verdict_fuzz's seeds: the frame shapes of the verdict suite (one of
// each kind: VLANs, options, fragments, extension chains, NDP, cut headers),
// each prefixed with the configuration byte verdict_fuzz reads (bits 0-1
// mode, bit 2 scoped). Usage: make_verdict_corpus DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/frame.hpp"

namespace {

using xdpgate::test::Frame;

struct Seed {
  const char *name;
  std::uint8_t config; // 0 off, 1 monitor, 2 enforce, +4 scoped
  Frame frame;
};

std::vector<Seed> seeds() {
  using F = Frame;
  // clang-format off
  return {
      {"v4-allowed-udp", 2, F::ipv4("10.1.2.3").udp(53)},
      {"v4-denied-tcp", 2, F::ipv4("198.51.100.9").tcp(22)},
      {"v4-denied-icmp-monitor", 1, F::ipv4("198.51.100.9").icmp()},
      {"v4-gre-off", 0, F::ipv4("10.9.9.9").l4_protocol(47)},
      {"v4-exempt-source", 2, F::ipv4("192.0.2.10").tcp(22)},
      {"v4-exempt-port", 2, F::ipv4("198.51.100.9").tcp(10943)},
      {"v4-options-exempt-port", 2, F::ipv4("198.51.100.9").ipv4_options(40).tcp(10943)},
      {"v4-first-fragment", 2, F::ipv4("198.51.100.9").tcp(10943).fragment(0, true)},
      {"v4-later-fragment", 2, F::ipv4("198.51.100.9").udp(3784).fragment(185, false)},
      {"v4-scoped-out", 6, F::ipv4("198.51.100.9").tcp(80)},
      {"v4-ihl-4", 2, F::ipv4("10.1.2.3").ipv4_header_words(4).tcp(22)},
      {"v4-tcp-cut", 2, F::ipv4("198.51.100.9").tcp(10943).payload(0).drop_tail(4)},
      {"qinq-v4", 2, F::ipv4("10.1.2.3").vlan(100, 0x88A8).vlan(10).tcp(22)},
      {"three-tags", 2, F::ipv4("10.1.2.3").vlan(1).vlan(2).vlan(3).tcp(22)},
      {"arp-tagged", 2, F::arp().vlan(10)},
      {"lldp", 2, F::ethertype(0x88CC)},
      {"v6-allowed-tcp", 2, F::ipv6("2001:db8:a:b::1").tcp(22)},
      {"v6-denied-udp-scoped", 6, F::ipv6("2001:db8:bad::1").udp(123)},
      {"v6-ndp-hbh", 2, F::ipv6("fe80::1").ipv6_extension(0).icmpv6(135)},
      {"v6-icmp-echo", 1, F::ipv6("2001:db8:bad::1").icmpv6(128)},
      {"v6-ext-chain", 2, F::ipv6("2001:db8:bad::1").ipv6_extension(0, 1).ipv6_extension(43).ipv6_extension(60, 2).fragment(0, true).udp(3784)},
      {"v6-six-ext", 2, F::ipv6("2001:db8:bad::1").ipv6_extension(0).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(43).fragment(0, false).tcp(10943)},
      {"v6-seven-ext", 2, F::ipv6("2001:db8:a::1").ipv6_extension(0).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(60).tcp(22)},
      {"v6-later-fragment", 2, F::ipv6("2001:db8:a::1").fragment(100, true).udp(53)},
      {"v6-exempt-source-vlan", 2, F::ipv6("2001:db8:ee::7").vlan(7).tcp(22)},
      {"v6-icmp-cut", 2, F::ipv6("fe80::1").icmpv6(135).payload(0).drop_tail(6)},
  };
  // clang-format on
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (const Seed &seed : seeds()) {
    std::vector<std::uint8_t> frame = seed.frame.bytes();
    std::ofstream out(dir / seed.name, std::ios::binary | std::ios::trunc);
    out.put(static_cast<char>(seed.config));
    out.write(reinterpret_cast<const char *>(frame.data()),
              static_cast<std::streamsize>(frame.size()));
    if (!out) {
      std::perror(seed.name);
      return 1;
    }
  }
  return 0;
}
