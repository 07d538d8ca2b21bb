// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The truncation sweep: every valid frame from a denied source, cut to every
// length from the Ethernet header up, in every mode. A cut frame is never
// passed while enforcing, and is only ever counted as malformed or denied.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include "support/frame.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

struct Shape {
  const char *description;
  Frame frame;
};

// Denied sources only; some aim at exempt ports, which a cut header must not
// reach.
std::vector<Shape> shapes() {
  using F = Frame;
  // clang-format off
  return {
      {"IPv4 TCP", F::ipv4("198.51.100.9").tcp(22)},
      {"IPv4 TCP to the exempt port", F::ipv4("198.51.100.9").tcp(10943)},
      {"IPv4 UDP to the exempt port", F::ipv4("198.51.100.9").udp(3784)},
      {"IPv4 ICMP", F::ipv4("198.51.100.9").icmp()},
      {"IPv4 with 40 bytes of options", F::ipv4("198.51.100.9").ipv4_options(40).tcp(10943)},
      {"IPv4 first fragment", F::ipv4("198.51.100.9").tcp(10943).fragment(0, true)},
      {"IPv4 non-first fragment", F::ipv4("198.51.100.9").udp(3784).fragment(10, true)},
      {"802.1Q IPv4", F::ipv4("198.51.100.9").vlan(5).tcp(10943)},
      {"802.1ad + 802.1Q IPv4", F::ipv4("198.51.100.9").vlan(5, 0x88A8).vlan(6).tcp(10943)},
      {"IPv6 TCP", F::ipv6("2001:db8:bad::1").tcp(22)},
      {"IPv6 TCP to the exempt port", F::ipv6("2001:db8:bad::1").tcp(10943)},
      {"IPv6 hop-by-hop, routing, dest-opts, fragment", F::ipv6("2001:db8:bad::1").ipv6_extension(0, 1).ipv6_extension(43).ipv6_extension(60, 2).fragment(0, true).udp(3784)},
      {"IPv6 ICMPv6 echo", F::ipv6("2001:db8:bad::1").icmpv6(128)},
      {"802.1Q IPv6", F::ipv6("2001:db8:bad::1").vlan(9).tcp(10943)},
  };
  // clang-format on
}

class TruncationSweep : public ::testing::TestWithParam<Mode> {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
  }
};

TEST_P(TruncationSweep, CutFramesFromDeniedSourcesAreNeverPassedAsAllowed) {
  DataPath path = load_data_path();
  DesiredState desired;
  desired.config.mode = GetParam();
  desired.config.exempt_tcp_ports = {10943};
  desired.config.exempt_udp_ports = {3784};
  desired.allow = prefixes({"10.0.0.0/8", "2001:db8:a::/48"});
  desired.exempt_sources = prefixes({"192.0.2.0/24"});
  ASSERT_TRUE(path.sync(desired));
  bool enforcing = GetParam() == Mode::Enforce;
  int denied = enforcing ? XDPGATE_VERDICT_DROPPED : XDPGATE_VERDICT_WOULD_DROP;

  std::size_t cuts = 0;
  for (const Shape &shape : shapes()) {
    std::vector<std::uint8_t> full = shape.frame.bytes();
    for (std::size_t length = 14; length < full.size(); ++length, ++cuts) {
      SCOPED_TRACE(std::string(shape.description) + " cut to " +
                   std::to_string(length) + " of " +
                   std::to_string(full.size()) + " bytes");
      std::vector<std::uint8_t> cut(full.begin(), full.begin() + length);
      Outcome outcome = run_frame(path, cut);
      EXPECT_EQ(action_name(outcome.action),
                action_name(enforcing ? XDP_DROP : XDP_PASS));
      EXPECT_TRUE(outcome.verdict == XDPGATE_VERDICT_MALFORMED ||
                  outcome.verdict == denied)
          << "verdict " << verdict_name(outcome.verdict);
    }
  }
  EXPECT_GT(cuts, 500u);
}

INSTANTIATE_TEST_SUITE_P(EveryMode, TruncationSweep,
                         ::testing::Values(Mode::Off, Mode::Monitor,
                                           Mode::Enforce),
                         [](const auto &info) {
                           switch (info.param) {
                           case Mode::Off:
                             return std::string("Off");
                           case Mode::Monitor:
                             return std::string("Monitor");
                           default:
                             return std::string("Enforce");
                           }
                         });

} // namespace
} // namespace xdpgate::test
