// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The verdicts of SPEC §1 as data: each row is a frame, the configuration it
// meets, and the action and counter the XDP program must produce. Adding a
// case is adding a row.
#include <atomic>
#include <functional>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <thread>

#include "support/frame.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

// The list every row meets, unless its setup says otherwise: nested IPv4
// prefixes, nested IPv6 prefixes, and ranges that exist only when enabled.
const std::vector<std::string> kAllowList = {
    "10.0.0.0/8",        "10.1.0.0/16",       "10.1.2.0/24",
    "10.1.2.3",          "203.0.113.0/25",    "172.16.5.4",
    "2001:db8:a::/48",   "2001:db8:a:b::/64", "2001:db8:a:b::1",
    "2001:db8:ff00::/40"};
const std::vector<std::string> kExemptSources = {"192.0.2.0/24",
                                                 "2001:db8:ee::/48"};

enum class ListSetup {
  Standard,     // enforce, kAllowList, exemptions, every port protected
  Monitor,      // same list, mode monitor
  Off,          // same list, restriction inactive
  Scoped,       // enforce, only TCP 22/443 and UDP 53 protected
  DefaultRoute, // enforce, list is 0.0.0.0/0 and ::/0 only
  EmptyList,    // enforce, nothing listed (only exemptions pass)
  HostOnly,     // enforce, list is 10.1.2.3/32 and 2001:db8:a:b::1/128
};

struct Row {
  const char *description;
  Frame frame;
  ListSetup setup;
  int action;
  xdpgate_verdict verdict;
  const char *matched_entry = nullptr; // its hit counter must move
};

DesiredState desired_for(ListSetup setup) {
  DesiredState d;
  d.config.mode = Mode::Enforce;
  d.config.exempt_tcp_ports = {10943, 8443};
  d.config.exempt_udp_ports = {3784};
  d.exempt_sources = prefixes(kExemptSources);
  d.allow = prefixes(kAllowList);
  switch (setup) {
  case ListSetup::Standard:
    break;
  case ListSetup::Monitor:
    d.config.mode = Mode::Monitor;
    break;
  case ListSetup::Off:
    d.config.mode = Mode::Off;
    break;
  case ListSetup::Scoped:
    d.config.protected_tcp_ports = {22, 443};
    d.config.protected_udp_ports = {53};
    break;
  case ListSetup::DefaultRoute:
    d.allow = prefixes({"0.0.0.0/0", "::/0"});
    break;
  case ListSetup::EmptyList:
    d.allow.clear();
    break;
  case ListSetup::HostOnly:
    d.allow = prefixes({"10.1.2.3", "2001:db8:a:b::1"});
    break;
  }
  return d;
}

constexpr int PASS = XDP_PASS;
constexpr int DROP = XDP_DROP;
constexpr auto S = ListSetup::Standard;

// One row per line reads as a table, hence clang-format off.
std::vector<Row> rows() {
  using F = Frame;
  // clang-format off
  return {
      // --- IPv4 allow list: longest prefix wins ---------------------------
      {"IPv4 /32 host entry inside nested prefixes", F::ipv4("10.1.2.3").udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"IPv4 neighbour of the /32 matches the /24", F::ipv4("10.1.2.4").udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.0/24"},
      {"IPv4 outside the /24 matches the /16", F::ipv4("10.1.3.1").tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.0.0/16"},
      {"IPv4 outside the /16 matches the /8", F::ipv4("10.200.0.1").tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.0.0.0/8"},
      {"IPv4 first address of the /8", F::ipv4("10.0.0.0").icmp(), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.0.0.0/8"},
      {"IPv4 last address of the /8", F::ipv4("10.255.255.255").icmp(), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.0.0.0/8"},
      {"IPv4 just past the /8", F::ipv4("11.0.0.0").icmp(), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 just before the /8", F::ipv4("9.255.255.255").icmp(), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 inside a /25", F::ipv4("203.0.113.127").tcp(443), S, PASS, XDPGATE_VERDICT_ALLOWED, "203.0.113.0/25"},
      {"IPv4 just past a /25", F::ipv4("203.0.113.128").tcp(443), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 lone /32 host", F::ipv4("172.16.5.4").tcp(443), S, PASS, XDPGATE_VERDICT_ALLOWED, "172.16.5.4"},
      {"IPv4 neighbour of a lone /32", F::ipv4("172.16.5.5").tcp(443), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 unlisted source, TCP", F::ipv4("198.51.100.9").tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 unlisted source, UDP", F::ipv4("198.51.100.9").udp(53), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 unlisted source, ICMP", F::ipv4("198.51.100.9").icmp(), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 unlisted source, GRE", F::ipv4("198.51.100.9").l4_protocol(47), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 allowed source, GRE", F::ipv4("10.9.9.9").l4_protocol(47), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.0.0.0/8"},
      {"IPv4 /0 entry allows any source", F::ipv4("198.51.100.9").tcp(22), ListSetup::DefaultRoute, PASS, XDPGATE_VERDICT_ALLOWED, "0.0.0.0/0"},
      {"IPv4 /0 entry allows 255.255.255.255", F::ipv4("255.255.255.255").udp(9), ListSetup::DefaultRoute, PASS, XDPGATE_VERDICT_ALLOWED, "0.0.0.0/0"},
      {"IPv4 /32-only list: the host passes", F::ipv4("10.1.2.3").tcp(22), ListSetup::HostOnly, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"IPv4 /32-only list: its neighbour is dropped", F::ipv4("10.1.2.2").tcp(22), ListSetup::HostOnly, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 empty list drops a former member", F::ipv4("10.1.2.3").tcp(22), ListSetup::EmptyList, DROP, XDPGATE_VERDICT_DROPPED},

      // --- IPv6 allow list -------------------------------------------------
      {"IPv6 /128 host entry inside nested prefixes", F::ipv6("2001:db8:a:b::1").tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a:b::1"},
      {"IPv6 neighbour of the /128 matches the /64", F::ipv6("2001:db8:a:b::2").tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a:b::/64"},
      {"IPv6 outside the /64 matches the /48", F::ipv6("2001:db8:a:c::1").udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a::/48"},
      {"IPv6 inside a /40", F::ipv6("2001:db8:ffff::9").udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:ff00::/40"},
      {"IPv6 just before a /40", F::ipv6("2001:db8:feff:ffff::1").udp(53), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv6 unlisted source, TCP", F::ipv6("2001:db8:bad::1").tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv6 unlisted source, UDP", F::ipv6("2001:db8:bad::1").udp(53), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv6 unlisted source, ICMPv6 echo", F::ipv6("2001:db8:bad::1").icmpv6(128), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv6 allowed source, ICMPv6 echo", F::ipv6("2001:db8:a::5").icmpv6(128), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a::/48"},
      {"IPv6 ::/0 entry allows any source", F::ipv6("2001:db8:bad::1").tcp(22), ListSetup::DefaultRoute, PASS, XDPGATE_VERDICT_ALLOWED, "::/0"},
      {"IPv6 /128-only list: its neighbour is dropped", F::ipv6("2001:db8:a:b::2").tcp(22), ListSetup::HostOnly, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4-mapped IPv6 source is not the IPv4 entry", F::ipv6("::ffff:10.1.2.3").tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv4 source is not matched by IPv6 entries", F::ipv4("32.1.13.184").tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},

      // --- VLAN tags ---------------------------------------------------------
      {"one 802.1Q tag, allowed source", F::ipv4("10.1.2.3").vlan(10).tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"one 802.1Q tag, denied source", F::ipv4("198.51.100.9").vlan(10).tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"802.1ad outer and 802.1Q inner tag, allowed", F::ipv4("10.1.2.3").vlan(100, 0x88A8).vlan(10).tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"two tags, denied source", F::ipv4("198.51.100.9").vlan(100, 0x88A8).vlan(10).tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"two tags, IPv6 allowed source", F::ipv6("2001:db8:a:b::1").vlan(100, 0x88A8).vlan(10).udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a:b::1"},
      {"one tag, IPv6 denied source", F::ipv6("2001:db8:bad::1").vlan(7).udp(53), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"three tags hide the protocol: malformed", F::ipv4("10.1.2.3").vlan(1).vlan(2).vlan(3).tcp(22), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"tagged ARP passes", F::arp().vlan(10), S, PASS, XDPGATE_VERDICT_NON_IP},
      {"tagged exempt port passes", F::ipv4("198.51.100.9").vlan(10).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},

      // --- Non-IP and neighbour discovery -------------------------------
      {"ARP passes", F::arp(), S, PASS, XDPGATE_VERDICT_NON_IP},
      {"LLDP passes", F::ethertype(0x88CC), S, PASS, XDPGATE_VERDICT_NON_IP},
      {"ARP passes with an empty list", F::arp(), ListSetup::EmptyList, PASS, XDPGATE_VERDICT_NON_IP},
      {"NDP router solicitation (133) passes", F::ipv6("fe80::1", "ff02::2").icmpv6(133), S, PASS, XDPGATE_VERDICT_NDP},
      {"NDP router advertisement (134) passes", F::ipv6("fe80::1", "ff02::1").icmpv6(134), S, PASS, XDPGATE_VERDICT_NDP},
      {"NDP neighbour solicitation (135) passes", F::ipv6("fe80::1", "ff02::1:ff00:1").icmpv6(135), S, PASS, XDPGATE_VERDICT_NDP},
      {"NDP neighbour advertisement (136) passes", F::ipv6("fe80::1").icmpv6(136), S, PASS, XDPGATE_VERDICT_NDP},
      {"NDP redirect (137) passes", F::ipv6("fe80::1").icmpv6(137), S, PASS, XDPGATE_VERDICT_NDP},
      {"ICMPv6 type 132 is not NDP", F::ipv6("fe80::1").icmpv6(132), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"ICMPv6 type 138 is not NDP", F::ipv6("fe80::1").icmpv6(138), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"NDP passes with an empty list", F::ipv6("fe80::1").icmpv6(135), ListSetup::EmptyList, PASS, XDPGATE_VERDICT_NDP},
      {"NDP behind a hop-by-hop header passes", F::ipv6("fe80::1").ipv6_extension(0).icmpv6(135), S, PASS, XDPGATE_VERDICT_NDP},
      {"ICMPv4 type 133 is not NDP", F::ipv4("198.51.100.9").icmp(), S, DROP, XDPGATE_VERDICT_DROPPED},

      // --- Exempt sources --------------------------------------------------
      {"IPv4 exempt source passes any port", F::ipv4("192.0.2.10").tcp(22), S, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},
      {"IPv4 exempt source passes ICMP", F::ipv4("192.0.2.255").icmp(), S, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},
      {"IPv4 exempt source with an empty list", F::ipv4("192.0.2.1").udp(53), ListSetup::EmptyList, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},
      {"IPv4 just outside the exempt range", F::ipv4("192.0.3.1").udp(53), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"IPv6 exempt source passes", F::ipv6("2001:db8:ee::7").tcp(22), S, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},
      {"IPv6 just outside the exempt range", F::ipv6("2001:db8:ef::7").tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"exempt source wins over an allow-list entry", F::ipv4("192.0.2.10").tcp(22), ListSetup::DefaultRoute, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},
      {"exempt non-first fragment passes", F::ipv4("192.0.2.10").udp(53).fragment(100, false), S, PASS, XDPGATE_VERDICT_EXEMPT_SOURCE},

      // --- Exempt destination ports ----------------------------------------
      {"polling tentacle 10943/tcp from anywhere", F::ipv4("198.51.100.9").tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"polling tentacle 10943/tcp over IPv6", F::ipv6("2001:db8:bad::1").tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"10943/udp is not exempt", F::ipv4("198.51.100.9").udp(10943), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"health-check port 8443/tcp passes", F::ipv4("198.51.100.9").tcp(8443), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"3784/udp passes", F::ipv4("198.51.100.9").udp(3784), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"3784/tcp is not exempt", F::ipv4("198.51.100.9").tcp(3784), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"exempt port as source port does not count", F::ipv4("198.51.100.9").tcp(22, 10943), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"port 10944/tcp is not exempt", F::ipv4("198.51.100.9").tcp(10944), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"exempt port on a first fragment passes", F::ipv4("198.51.100.9").tcp(10943).fragment(0, true), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"non-first IPv4 fragment is judged by source: denied", F::ipv4("198.51.100.9").tcp(10943).fragment(185, false), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"non-first IPv4 fragment is judged by source: allowed", F::ipv4("10.1.2.3").udp(53).fragment(185, true), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"exempt port behind IPv4 options", F::ipv4("198.51.100.9").ipv4_options(8).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"exempt port behind 40 bytes of IPv4 options", F::ipv4("198.51.100.9").ipv4_options(40).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"denied port behind IPv4 options", F::ipv4("198.51.100.9").ipv4_options(12).tcp(22), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"allowed source behind IPv4 options", F::ipv4("10.1.2.3").ipv4_options(4).tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},

      // --- IPv6 extension header chains --------------------------------
      {"exempt port behind hop-by-hop", F::ipv6("2001:db8:bad::1").ipv6_extension(0).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"exempt port behind routing", F::ipv6("2001:db8:bad::1").ipv6_extension(43, 2).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"exempt port behind destination options", F::ipv6("2001:db8:bad::1").ipv6_extension(60, 1).udp(3784), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"exempt port behind a first fragment header", F::ipv6("2001:db8:bad::1").fragment(0, true).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"exempt port behind hop-by-hop, routing, dest-opts and fragment", F::ipv6("2001:db8:bad::1").ipv6_extension(0).ipv6_extension(43).ipv6_extension(60).fragment(0, true).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"non-first IPv6 fragment is judged by source: denied", F::ipv6("2001:db8:bad::1").fragment(100, false).tcp(10943), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"non-first IPv6 fragment is judged by source: allowed", F::ipv6("2001:db8:a::1").fragment(100, true).udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a::/48"},
      {"six extension headers are walked", F::ipv6("2001:db8:bad::1").ipv6_extension(0).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(43).fragment(0, false).tcp(10943), S, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"past the bound the port is ignored: denied", F::ipv6("2001:db8:bad::1").ipv6_extension(0).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(60).tcp(10943), S, DROP, XDPGATE_VERDICT_DROPPED},
      {"past the bound an allowed source still passes", F::ipv6("2001:db8:a::1").ipv6_extension(0).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(43).ipv6_extension(60).ipv6_extension(60).tcp(22), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a::/48"},
      {"allowed source behind a long destination option", F::ipv6("2001:db8:a:b::1").ipv6_extension(60, 30).udp(53), S, PASS, XDPGATE_VERDICT_ALLOWED, "2001:db8:a:b::1"},

      // --- Protected-port scope --------------------------------------------
      {"scoped: TCP to an unprotected port passes", F::ipv4("198.51.100.9").tcp(80), ListSetup::Scoped, PASS, XDPGATE_VERDICT_OUT_OF_SCOPE},
      {"scoped: TCP to a protected port is judged", F::ipv4("198.51.100.9").tcp(22), ListSetup::Scoped, DROP, XDPGATE_VERDICT_DROPPED},
      {"scoped: allowed source on a protected port", F::ipv4("10.1.2.3").tcp(443), ListSetup::Scoped, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"scoped: UDP to an unprotected port passes", F::ipv6("2001:db8:bad::1").udp(123), ListSetup::Scoped, PASS, XDPGATE_VERDICT_OUT_OF_SCOPE},
      {"scoped: UDP to a protected port is judged", F::ipv6("2001:db8:bad::1").udp(53), ListSetup::Scoped, DROP, XDPGATE_VERDICT_DROPPED},
      {"scoped: ICMP has no port and is judged", F::ipv4("198.51.100.9").icmp(), ListSetup::Scoped, DROP, XDPGATE_VERDICT_DROPPED},
      {"scoped: non-first fragment is judged by source", F::ipv4("198.51.100.9").tcp(80).fragment(10, false), ListSetup::Scoped, DROP, XDPGATE_VERDICT_DROPPED},
      {"scoped: exempt port still wins", F::ipv4("198.51.100.9").tcp(10943), ListSetup::Scoped, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"unscoped: every TCP port is protected", F::ipv4("198.51.100.9").tcp(80), S, DROP, XDPGATE_VERDICT_DROPPED},

      // --- Modes ------------------------------------------------------------
      {"monitor: denied source passes and counts would_drop", F::ipv4("198.51.100.9").tcp(22), ListSetup::Monitor, PASS, XDPGATE_VERDICT_WOULD_DROP},
      {"monitor: allowed source counts allowed", F::ipv4("10.1.2.3").tcp(22), ListSetup::Monitor, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"monitor: IPv6 denied source counts would_drop", F::ipv6("2001:db8:bad::1").udp(53), ListSetup::Monitor, PASS, XDPGATE_VERDICT_WOULD_DROP},
      {"monitor: malformed frame passes, counted", F::ipv4("198.51.100.9").ipv4_header_words(4), ListSetup::Monitor, PASS, XDPGATE_VERDICT_MALFORMED},
      {"off: denied source passes and counts would_drop", F::ipv4("198.51.100.9").tcp(22), ListSetup::Off, PASS, XDPGATE_VERDICT_WOULD_DROP},
      {"off: allowed source counts allowed", F::ipv4("10.1.2.3").tcp(22), ListSetup::Off, PASS, XDPGATE_VERDICT_ALLOWED, "10.1.2.3"},
      {"off: exempt port counts exempt_port", F::ipv4("198.51.100.9").tcp(10943), ListSetup::Off, PASS, XDPGATE_VERDICT_EXEMPT_PORT},
      {"off: malformed frame passes, counted", F::ipv6("2001:db8:bad::1").ip_version(4), ListSetup::Off, PASS, XDPGATE_VERDICT_MALFORMED},

      // --- Malformed ---------------------------------------------------------
      {"IPv4 header length below 5 words", F::ipv4("10.1.2.3").ipv4_header_words(4).tcp(22), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"IPv4 ethertype with version 6", F::ipv4("10.1.2.3").ip_version(6).tcp(22), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"IPv6 ethertype with version 4", F::ipv6("2001:db8:a::1").ip_version(4).tcp(22), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"IPv4 options longer than the frame", F::ipv4("10.1.2.3").ipv4_header_words(15).l4_protocol(47).payload(4), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"UDP header cut short", F::ipv6("2001:db8:bad::1").udp(3784).payload(0).drop_tail(2), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"ICMPv6 header cut short", F::ipv6("fe80::1").icmpv6(135).payload(0).drop_tail(6), S, DROP, XDPGATE_VERDICT_MALFORMED},
      {"TCP header cut short", F::ipv4("198.51.100.9").tcp(10943).payload(0).drop_tail(4), S, DROP, XDPGATE_VERDICT_MALFORMED},
  };
  // clang-format on
}

class VerdictTable : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
  }
};

// Runs every row; `after_sync` may tamper with the kernel after each list
// setup is written.
void check_every_row(const std::function<void(DataPath &)> &after_sync) {
  DataPath path = load_data_path();
  std::vector<Row> table = rows();
  ASSERT_GE(table.size(), 80u);
  std::optional<ListSetup> current;
  for (const Row &row : table) {
    SCOPED_TRACE(row.description);
    if (current != row.setup) {
      ASSERT_TRUE(path.sync(desired_for(row.setup)));
      after_sync(path);
      current = row.setup;
    }
    std::optional<EntryHits> before;
    if (row.matched_entry)
      before = path.entry_hits(prefix(row.matched_entry));
    Outcome outcome = run_frame(path, row.frame.bytes());
    EXPECT_EQ(action_name(outcome.action), action_name(row.action));
    EXPECT_EQ(verdict_name(outcome.verdict), verdict_name(row.verdict));
    if (row.matched_entry) {
      ASSERT_TRUE(before.has_value()) << row.matched_entry << " is not listed";
      std::optional<EntryHits> after =
          path.entry_hits(prefix(row.matched_entry));
      ASSERT_TRUE(after.has_value());
      EXPECT_EQ(after->packets, before->packets + 1)
          << "the hit must count on " << row.matched_entry;
      EXPECT_GT(after->last_hit_ns, 0u);
    }
  }
}

TEST_F(VerdictTable, EveryRowGetsItsActionAndCounter) {
  check_every_row([](DataPath &) {});
}

// A bit set in excess in the host presence filter costs a hash probe and
// nothing else: with every bit set every source probes the host tables,
// which must change no action, verdict or hit counter. (A bit missing
// would hide its IPv4 hosts, which only the host table holds: bits are set
// before their hosts enter it; tests/presence_filter_test.cpp.)
TEST_F(VerdictTable, AFullHostFilterChangesNoVerdict) {
  check_every_row([](DataPath &path) { fill_host_filter(path, ~0ull); });
}

// With every block bit set, every source goes through every lookup: the
// verdicts must be those the filter reaches with its clear bits.
TEST_F(VerdictTable, AFullBlockFilterChangesNoVerdict) {
  check_every_row([](DataPath &path) { fill_block_filter(path, ~0ull); });
}

// Found by the differential fuzzer: headers after the datagram's declared
// end are not part of it, so they can neither exempt nor scope a packet.
TEST_F(VerdictTable, HeadersBeyondTheDeclaredDatagramAreMalformed) {
  DataPath path = load_data_path();
  ASSERT_TRUE(path.sync(desired_for(ListSetup::Standard)));
  std::vector<std::uint8_t> v4 =
      Frame::ipv4("198.51.100.9").tcp(10943).payload(0).bytes();
  v4[14 + 2] = 0; // IPv4 total length: the 20-byte header alone
  v4[14 + 3] = 20;
  Outcome outcome = run_frame(path, v4);
  EXPECT_EQ(verdict_name(outcome.verdict), "malformed");
  EXPECT_EQ(action_name(outcome.action), "XDP_DROP");

  std::vector<std::uint8_t> v6 =
      Frame::ipv6("2001:db8:bad::1").tcp(10943).payload(0).bytes();
  v6[14 + 4] = 0; // IPv6 payload length 0
  v6[14 + 5] = 0;
  outcome = run_frame(path, v6);
  EXPECT_EQ(verdict_name(outcome.verdict), "malformed");
  EXPECT_EQ(action_name(outcome.action), "XDP_DROP");
}

TEST_F(VerdictTable, RemovedEntryNoLongerMatches) {
  DataPath path = load_data_path();
  DesiredState d = desired_for(ListSetup::Standard);
  ASSERT_TRUE(path.sync(d));
  Frame lone = Frame::ipv4("172.16.5.4").tcp(22);
  EXPECT_EQ(run_frame(path, lone.bytes()).verdict, XDPGATE_VERDICT_ALLOWED);
  std::erase(d.allow, prefix("172.16.5.4"));
  ASSERT_TRUE(path.sync(d));
  EXPECT_EQ(run_frame(path, lone.bytes()).verdict, XDPGATE_VERDICT_DROPPED);
}

TEST_F(VerdictTable, HitCountersSurviveAReplaceForEntriesThatStay) {
  DataPath path = load_data_path();
  DesiredState d = desired_for(ListSetup::Standard);
  ASSERT_TRUE(path.sync(d));
  for (int i = 0; i < 3; ++i)
    run_frame(path, Frame::ipv4("10.1.2.3").tcp(22).bytes());
  d.allow = prefixes({"10.1.2.3", "198.51.100.0/24", "2001:db8:c::/48"});
  ASSERT_TRUE(path.sync(d));
  EXPECT_EQ(path.entry_hits(prefix("10.1.2.3"))->packets, 3u);
  EXPECT_EQ(path.entry_hits(prefix("198.51.100.0/24"))->packets, 0u);
  EXPECT_FALSE(path.entry_hits(prefix("10.0.0.0/8")).has_value());
}

// One counter per entry is shared by every CPU: packets counted on two CPUs
// at the same instant must all be counted, none lost between two writes.
TEST_F(VerdictTable, HitsCountedOnTwoCpusAtOnceAreAllCounted) {
  cpu_set_t online;
  ASSERT_EQ(sched_getaffinity(0, sizeof online, &online), 0);
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c)
    if (CPU_ISSET(c, &online))
      cpus.push_back(c);
  if (cpus.size() < 2)
    GTEST_SKIP() << "needs two CPUs to count on at once";
  DataPath path = load_data_path();
  ASSERT_TRUE(path.sync(desired_for(ListSetup::Standard)));
  const std::vector<std::uint8_t> frame =
      Frame::ipv4("10.1.2.3").tcp(22).bytes();
  constexpr std::uint32_t kRuns = 20, kRepeat = 50'000;
  std::vector<std::thread> senders;
  std::atomic<int> failed_runs = 0;
  for (int cpu : cpus)
    senders.emplace_back([&, cpu] {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) {
        ++failed_runs;
        return;
      }
      for (std::uint32_t run = 0; run < kRuns; ++run)
        if (run_action(path, frame, kRepeat) != XDP_PASS)
          ++failed_runs;
    });
  for (std::thread &sender : senders)
    sender.join();
  ASSERT_EQ(failed_runs, 0);
  EXPECT_EQ(path.entry_hits(prefix("10.1.2.3"))->packets,
            std::uint64_t{2} * kRuns * kRepeat)
      << "on CPUs " << cpus[0] << " and " << cpus[1];
}

// With the daemon's default sample rate: a few packets are counted exactly
// (tests/denied_sample_test.cpp has the rest of the sample's rules).
TEST_F(VerdictTable, DeniedSourcesAreInTheSample) {
  DataPath path = load_data_path();
  ASSERT_TRUE(path.sync(desired_for(ListSetup::Standard)));
  for (int i = 0; i < 5; ++i)
    run_frame(path, Frame::ipv4("198.51.100.77").tcp(22).bytes());
  run_frame(path, Frame::ipv6("2001:db8:bad::5").tcp(22).bytes());
  run_frame(path, Frame::ipv4("10.1.2.3").tcp(22).bytes()); // allowed
  auto sources = path.denied_sources();
  ASSERT_TRUE(sources);
  std::map<std::string, std::uint64_t> seen;
  for (const DeniedSource &s : *sources) {
    seen[s.address.to_string()] = s.packets;
    EXPECT_FALSE(s.estimated) << s.address.to_string();
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["198.51.100.77"], 5u);
  EXPECT_EQ(seen["2001:db8:bad::5"], 1u);
}

TEST_F(VerdictTable, CheckLookupMatchesTheKernelTrie) {
  DataPath path = load_data_path();
  ASSERT_TRUE(path.sync(desired_for(ListSetup::Standard)));
  EXPECT_EQ(path.lookup(prefix("10.1.2.3")), prefix("10.1.2.3"));
  EXPECT_EQ(path.lookup(prefix("10.1.2.9")), prefix("10.1.2.0/24"));
  EXPECT_EQ(path.lookup(prefix("10.77.0.1")), prefix("10.0.0.0/8"));
  EXPECT_EQ(path.lookup(prefix("2001:db8:a:b::7")),
            prefix("2001:db8:a:b::/64"));
  EXPECT_EQ(path.lookup(prefix("198.51.100.1")), std::nullopt);
}

} // namespace
} // namespace xdpgate::test
