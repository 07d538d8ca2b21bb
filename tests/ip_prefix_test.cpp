// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "net/ip_prefix.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace xdpgate {
namespace {

std::string canonical(std::string_view text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.error().message;
  return parsed.ok() ? parsed->to_string() : "";
}

std::string parse_error(std::string_view text) {
  auto parsed = IpPrefix::parse(text);
  EXPECT_FALSE(parsed.ok()) << text << " parsed as " << parsed->to_string();
  return parsed.ok() ? "" : parsed.error().message;
}

IpPrefix prefix(std::string_view text) { return IpPrefix::parse(text).value(); }

TEST(IpPrefixParse, SingleIpv4AddressIsShownWithoutLength) {
  EXPECT_EQ(canonical("198.18.0.1"), "198.18.0.1");
  EXPECT_EQ(canonical("198.18.0.1/32"), "198.18.0.1");
  auto parsed = prefix("198.18.0.1/32");
  EXPECT_EQ(parsed.family, Family::V4);
  EXPECT_EQ(parsed.length, 32);
  EXPECT_TRUE(parsed.is_single_address());
}

TEST(IpPrefixParse, Ipv4PrefixKeepsItsLength) {
  EXPECT_EQ(canonical("192.0.2.0/24"), "192.0.2.0/24");
  EXPECT_EQ(canonical("10.0.0.0/8"), "10.0.0.0/8");
  EXPECT_EQ(canonical("255.255.255.254/31"), "255.255.255.254/31");
  auto parsed = prefix("192.0.2.0/24");
  EXPECT_EQ(parsed.length, 24);
  EXPECT_EQ(parsed.addr[0], 192);
  EXPECT_EQ(parsed.addr[2], 2);
}

TEST(IpPrefixParse, ZeroLengthPrefixesCoverEverything) {
  EXPECT_EQ(canonical("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(canonical("::/0"), "::/0");
}

TEST(IpPrefixParse, RejectsHostBitsAndSuggestsCanonicalPrefix) {
  auto parsed = IpPrefix::parse("192.168.1.5/24");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, ErrorCode::InvalidIpRange);
  EXPECT_EQ(parsed.error().field, "ip_range");
  EXPECT_EQ(parsed.error().message, "ip_range \"192.168.1.5/24\" has host bits "
                                    "set; did you mean \"192.168.1.0/24\"?");
  EXPECT_NE(parse_error("1.2.3.4/0").find("did you mean \"0.0.0.0/0\"?"),
            std::string::npos);
  EXPECT_NE(
      parse_error("2001:db8::1/32").find("did you mean \"2001:db8::/32\""),
      std::string::npos);
  EXPECT_NE(parse_error("10.0.0.1/31").find("\"10.0.0.0/31\""),
            std::string::npos);
}

TEST(IpPrefixParse, RejectsTooLongPrefixPerFamily) {
  EXPECT_EQ(parse_error("10.0.0.0/33"),
            "ip_range \"10.0.0.0/33\": prefix length must be 0-32 for IPv4");
  EXPECT_EQ(parse_error("::ffff:1.2.3.4/200"),
            "ip_range \"::ffff:1.2.3.4/200\": prefix length must be 0-128 for "
            "IPv6");
  EXPECT_EQ(canonical("2001:db8::1/128"), "2001:db8::1");
}

TEST(IpPrefixParse, ErrorsCarryTheGivenFieldName) {
  auto parsed = IpPrefix::parse("1.2.3", "ip_address");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().field, "ip_address");
  EXPECT_EQ(parsed.error().code, ErrorCode::InvalidIpRange);
  EXPECT_EQ(parsed.error().message.rfind("ip_address \"1.2.3\": ", 0), 0u);
}

TEST(IpPrefixParse, ErrorsShowInvisibleCharactersAndCutLongInput) {
  EXPECT_EQ(parse_error("1.2.3.4\t"),
            "ip_range \"1.2.3.4\\x09\": whitespace is not allowed");
  std::string huge(1000, '1');
  EXPECT_LT(parse_error(huge).size(), 200u);
}

struct BadInput {
  std::string text;
  std::string reason; // a part of the expected message
};

TEST(IpPrefixParse, RejectsGarbageWithAReason) {
  const std::vector<BadInput> table = {
      {"", "must not be empty"},
      {" 1.2.3.4", "whitespace"},
      {"1.2.3.4 ", "whitespace"},
      {"1.2.3.4/ 24", "whitespace"},
      {"1.2.3.4\n", "whitespace"},
      {"1.2.3", "four dot-separated"},
      {"1.2.3.4.5", "four dot-separated"},
      {"1..2.3", "four dot-separated"},
      {"1.2.3.", "four dot-separated"},
      {".1.2.3", "four dot-separated"},
      {"256.1.1.1", "greater than 255"},
      {"1.2.3.1000", "greater than 255"},
      {"010.1.1.1", "leading zero"},
      {"1.2.3.00", "leading zero"},
      {"0x1.2.3.4", "unexpected character \"x\""},
      {"1.2.3.a", "not a decimal number"},
      {"16909060", "four dot-separated"},
      {"10.0.0.0/024", "leading zero"},
      {"10.0.0.0/00", "leading zero"},
      {"10.0.0.0/", "missing"},
      {"10.0.0.0/33", "0-32"},
      {"10.0.0.0/99999999999", "0-32"},
      {"10.0.0.0/-1", "unexpected character \"-\""},
      {"10.0.0.0/+8", "unexpected character \"+\""},
      {"+1.2.3.4", "unexpected character \"+\""},
      {"-1.2.3.4", "unexpected character \"-\""},
      {"10.0.0.0/8/8", "only one \"/\""},
      {"10.0.0.0//8", "only one \"/\""},
      {"/8", "four dot-separated"},
      {"10.0.0.0/1a", "not a decimal number"},
      {"fe80::1%eth0", "zone ids"},
      {"fe80::1%1/64", "zone ids"},
      {"::ffff:1.2.3.4/200", "0-128"},
      {"::/129", "0-128"},
      {"1::2::3", "not a valid IPv6"},
      {":::", "not a valid IPv6"},
      {"1:2:3:4:5:6:7:8:9", "not a valid IPv6"},
      {"1:2:3:4:5:6:7", "not a valid IPv6"},
      {"12345::", "not a valid IPv6"},
      {"g::1", "unexpected character \"g\""},
      {"::ffff:1.2.3", "four dot-separated"},
      {"::ffff:01.2.3.4", "leading zero"},
      {"::ffff:1.2.3.256", "greater than 255"},
      {"1.2.3.4::", "not a valid IPv6"},
      {"1.2.3.4:80", "not a valid IPv6"},
      {"[::1]", "unexpected character \"[\""},
      {"localhost", "unexpected character \"l\""},
      {std::string("1.2.3.4\0", 8), "unexpected character \"\\x00\""},
      {"1.2.3.4\xc2\xa0", "unexpected character \"\\xc2\""},
  };
  for (const auto &bad : table) {
    auto parsed = IpPrefix::parse(bad.text);
    ASSERT_FALSE(parsed.ok()) << "accepted: " << bad.text;
    EXPECT_EQ(parsed.error().code, ErrorCode::InvalidIpRange);
    EXPECT_NE(parsed.error().message.find(bad.reason), std::string::npos)
        << bad.text << " -> " << parsed.error().message;
  }
}

TEST(IpPrefixParse, Ipv6IsPrintedPerRfc5952) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"2001:DB8::1", "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    // first longest run
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},          // longest run wins
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, // no "::" for one 0
      {"2001:db8::0:1", "2001:db8::1"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"fe80::/10", "fe80::/10"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
      {"ff02::1:ff00:0/104", "ff02::1:ff00:0/104"},
      {"::1.2.3.4", "::102:304"}, // deprecated IPv4-compatible: plain hex
      {"64:ff9b::c000:221", "64:ff9b::c000:221"},
      {"::ff00:1.2.3.4", "::ff00:102:304"}, // not mapped: no dotted tail
      {"::fe:ffff:1.2.3.4", "::fe:ffff:102:304"},
  };
  for (const auto &[input, expected] : table) {
    EXPECT_EQ(canonical(input), expected) << input;
    EXPECT_EQ(prefix(input).family, Family::V6) << input;
  }
}

TEST(IpPrefixParse, Ipv4MappedAddressIsIpv6WithDottedTail) {
  auto mapped = prefix("::ffff:1.2.3.4");
  EXPECT_EQ(mapped.family, Family::V6);
  EXPECT_EQ(mapped.length, 128);
  EXPECT_EQ(mapped.to_string(), "::ffff:1.2.3.4");
  EXPECT_EQ(canonical("::FFFF:102:304"), "::ffff:1.2.3.4");
  EXPECT_EQ(canonical("0:0:0:0:0:ffff:1.2.3.4"), "::ffff:1.2.3.4");
  EXPECT_EQ(canonical("::ffff:0.0.0.0/96"), "::ffff:0.0.0.0/96");
  EXPECT_EQ(canonical("::ffff:10.0.0.0/104"), "::ffff:10.0.0.0/104");
  EXPECT_NE(prefix("::ffff:1.2.3.4"), prefix("1.2.3.4"));
}

TEST(IpPrefixParseAddress, AcceptsSingleAddressesOnly) {
  auto v4 = IpPrefix::parse_address("192.0.2.7");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->to_string(), "192.0.2.7");
  EXPECT_EQ(v4->length, 32);
  ASSERT_TRUE(IpPrefix::parse_address("2001:db8::7").ok());
  EXPECT_EQ(IpPrefix::parse_address("2001:db8::7")->length, 128);

  auto cidr = IpPrefix::parse_address("192.0.2.0/24");
  ASSERT_FALSE(cidr.ok());
  EXPECT_EQ(cidr.error().code, ErrorCode::InvalidIpAddress);
  EXPECT_EQ(cidr.error().field, "ip_address");
  EXPECT_NE(cidr.error().message.find("single address"), std::string::npos);
  for (auto bad : {"", "1.2.3", "010.1.1.1", " ::1", "fe80::1%eth0"}) {
    auto parsed = IpPrefix::parse_address(bad, "source");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::InvalidIpAddress);
    EXPECT_EQ(parsed.error().field, "source");
  }
}

TEST(IpPrefixUnmapped, AnIpv4MappedAddressIsTheIpv4AddressOnTheWire) {
  EXPECT_EQ(prefix("::ffff:198.18.0.3").unmapped(), prefix("198.18.0.3"));
  EXPECT_EQ(prefix("198.18.0.3").unmapped(), prefix("198.18.0.3"));
  EXPECT_EQ(prefix("2001:db8::ffff:1").unmapped(), prefix("2001:db8::ffff:1"));
  EXPECT_EQ(prefix("::ffff:0:0/96").unmapped(), prefix("::ffff:0:0/96"))
      << "a range stays a range";
}

TEST(IpPrefixContains, PrefixContainsItsAddressesAndNarrowerPrefixes) {
  auto net = prefix("10.0.0.0/8");
  EXPECT_TRUE(net.contains(prefix("10.1.2.3")));
  EXPECT_TRUE(net.contains(prefix("10.255.0.0/16")));
  EXPECT_TRUE(net.contains(net));
  EXPECT_FALSE(net.contains(prefix("11.0.0.0")));
  EXPECT_FALSE(net.contains(prefix("0.0.0.0/0")));
  EXPECT_FALSE(prefix("10.1.0.0/16").contains(net));
  EXPECT_FALSE(prefix("10.0.0.0/16").contains(net)); // same start, wider
  EXPECT_TRUE(prefix("0.0.0.0/0").contains(prefix("255.255.255.255")));
  EXPECT_TRUE(prefix("10.0.0.128/25").contains(prefix("10.0.0.200")));
  EXPECT_FALSE(prefix("10.0.0.128/25").contains(prefix("10.0.0.127")));
}

TEST(IpPrefixContains, Ipv6AndFamiliesDoNotMix) {
  EXPECT_TRUE(prefix("2001:db8::/32").contains(prefix("2001:db8:ffff::1")));
  EXPECT_FALSE(prefix("2001:db8::/32").contains(prefix("2001:db9::1")));
  EXPECT_TRUE(prefix("::/0").contains(prefix("::ffff:1.2.3.4")));
  EXPECT_FALSE(prefix("::/0").contains(prefix("1.2.3.4")));
  EXPECT_FALSE(prefix("0.0.0.0/0").contains(prefix("::1")));
  EXPECT_FALSE(prefix("1.2.3.0/24").contains(prefix("::ffff:1.2.3.4")));
}

TEST(IpPrefixHash, EqualPrefixesHashEquallyAndDistinctOnesAreKeptApart) {
  std::unordered_set<IpPrefix> set;
  for (auto text : {"10.0.0.0/8", "10.0.0.0/16", "10.0.0.0", "::", "::/0",
                    "0.0.0.0/0", "::ffff:10.0.0.0/104"})
    set.insert(prefix(text));
  EXPECT_EQ(set.size(), 7u);
  EXPECT_EQ(std::hash<IpPrefix>{}(prefix("10.0.0.0/32")),
            std::hash<IpPrefix>{}(prefix("10.0.0.0")));
  EXPECT_TRUE(set.contains(prefix("10.0.0.0/32")));
}

// Lists are runs of neighbours: sequential hosts, and IPv6 prefixes that
// differ in one byte of any position. None may crowd a hash table's bucket.
TEST(IpPrefixHash, RunsOfNeighbouringRangesSpreadOverTheBuckets) {
  std::unordered_set<IpPrefix> set;
  set.reserve(5 * 65536);
  for (std::uint32_t i = 0; i < 65536; ++i) {
    IpPrefix host = prefix("10.0.0.0");
    host.addr[2] = static_cast<std::uint8_t>(i >> 8);
    host.addr[3] = static_cast<std::uint8_t>(i);
    set.insert(host);
    host.length = 31;
    host.addr[3] &= 0xfe;
    set.insert(host);
    for (int byte : {5, 7, 15}) {
      IpPrefix v6 = prefix("2001:db8::/128");
      v6.addr[byte - 1] = static_cast<std::uint8_t>(i >> 8);
      v6.addr[byte] = static_cast<std::uint8_t>(i);
      set.insert(v6);
    }
  }
  std::size_t fullest = 0;
  for (std::size_t b = 0; b < set.bucket_count(); ++b)
    fullest = std::max(fullest, set.bucket_size(b));
  EXPECT_LE(fullest, 12u) << set.size() << " ranges in " << set.bucket_count()
                          << " buckets";
}

} // namespace
} // namespace xdpgate
