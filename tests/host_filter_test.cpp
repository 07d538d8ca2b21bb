// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The host presence filter in front of the exact-host tables: after every
// kind of change its kernel bits are exactly those of the listed hosts, a
// bit clears only with the last host that maps to it, the program reads the
// bit userspace computes, and a restart rebuilds the bits from the list.
// (That a missing or excess bit changes no verdict: verdict_test.cpp.)
#include <algorithm>
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <set>

#include "common/fd.hpp"
#include "datapath/host_filter.hpp"
#include "datapath/lpm_key.hpp"
#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

std::vector<std::uint8_t> from(const IpPrefix &source) {
  Frame f = source.family == Family::V4 ? Frame::ipv4(source.to_string())
                                        : Frame::ipv6(source.to_string());
  return f.tcp(22).bytes();
}

std::set<std::uint32_t> bits_of(const std::vector<IpPrefix> &ranges) {
  std::set<std::uint32_t> bits;
  for (const IpPrefix &r : ranges)
    if (r.is_single_address())
      bits.insert(HostFilter::bit_of(r));
  return bits;
}

// Another IPv4 host whose filter bit is that of `host`.
IpPrefix colliding_v4_host(const IpPrefix &host) {
  std::uint32_t want = HostFilter::bit_of(host);
  IpPrefix other = host;
  for (std::uint32_t i = 1; i < (1u << 24); ++i) {
    other.addr = {11, static_cast<std::uint8_t>(i >> 16),
                  static_cast<std::uint8_t>(i >> 8),
                  static_cast<std::uint8_t>(i)};
    if (HostFilter::bit_of(other) == want)
      return other;
  }
  throw std::runtime_error("no colliding host in 11.0.0.0/8");
}

class HostFilterTest : public LoadedProgramTest {
protected:
  HostFilterTest() : LoadedProgramTest("xdpgate-filter-test-") {}

  // The bits set in the kernel's filter.
  std::set<std::uint32_t> kernel_bits() const {
    Fd filter = pinned("host_filter");
    std::set<std::uint32_t> bits;
    for (std::uint32_t w = 0; w < XDPGATE_HOST_FILTER_WORDS; ++w) {
      std::uint64_t word = 0;
      EXPECT_EQ(bpf_map_lookup_elem(filter.get(), &w, &word), 0);
      for (std::uint32_t b = 0; b < 64; ++b)
        if ((word >> b) & 1)
          bits.insert(w * 64 + b);
    }
    return bits;
  }

  void set_kernel_word(std::uint32_t word, std::uint64_t value) const {
    Fd filter = pinned("host_filter");
    ASSERT_EQ(bpf_map_update_elem(filter.get(), &word, &value, BPF_ANY), 0);
  }

  // Deletes `host` from its family's live trie behind the data path's back:
  // from then on only the host table can allow it.
  void drop_from_trie(const IpPrefix &host) const {
    Fd inner(bpf_map_get_fd_by_id(
        live_table(host.family == Family::V4 ? "allow_v4" : "allow_v6")));
    ASSERT_TRUE(inner.valid());
    LpmKey key = lpm_key(host);
    ASSERT_EQ(bpf_map_delete_elem(inner.get(), key.bytes.data()), 0);
  }
};

TEST_F(HostFilterTest, ItsBitsAreThoseOfTheListedHostsAfterEveryChange) {
  EXPECT_TRUE(kernel_bits().empty());
  std::vector<IpPrefix> first =
      prefixes({"10.0.0.0/8", "198.51.100.1", "198.51.100.2", "2001:db8::1",
                "2001:db8:a::/48", "2001:db8::2"});
  ASSERT_TRUE(apply({first, {}, false}));
  EXPECT_EQ(kernel_bits(), bits_of(first)) << "after an add in place";

  // An atomic replace: a new table swapped in, old hosts leave, new enter.
  std::vector<IpPrefix> second =
      prefixes({"198.51.100.2", "203.0.113.9", "2001:db8::3", "192.0.2.0/24"});
  std::vector<IpPrefix> leaving =
      prefixes({"10.0.0.0/8", "198.51.100.1", "2001:db8::1", "2001:db8:a::/48",
                "2001:db8::2"});
  ASSERT_TRUE(apply({prefixes({"203.0.113.9", "2001:db8::3", "192.0.2.0/24"}),
                     leaving, true}));
  EXPECT_EQ(kernel_bits(), bits_of(second)) << "after an atomic replace";

  ASSERT_TRUE(apply({{}, prefixes({"198.51.100.2", "2001:db8::3"}), false}));
  EXPECT_EQ(kernel_bits(), bits_of(prefixes({"203.0.113.9"})))
      << "after a removal in place";

  // A whole-list sync (what a start or a reload does).
  std::vector<IpPrefix> third = prefixes({"100.64.0.1", "2001:db8::7"});
  DesiredState desired;
  desired.config = enforcing();
  desired.allow = third;
  ASSERT_TRUE(path_->sync(desired));
  EXPECT_EQ(kernel_bits(), bits_of(third)) << "after a sync";
}

TEST_F(HostFilterTest, ABitClearsOnlyWithTheLastHostThatMapsToIt) {
  IpPrefix host = prefix("203.0.113.7");
  IpPrefix twin = colliding_v4_host(host);
  std::uint32_t bit = HostFilter::bit_of(host);
  ASSERT_NE(host, twin);
  ASSERT_TRUE(apply({{host, twin}, {}, false}));
  EXPECT_EQ(kernel_bits(), std::set<std::uint32_t>{bit});

  ASSERT_TRUE(apply({{}, {host}, false}));
  EXPECT_EQ(kernel_bits(), std::set<std::uint32_t>{bit})
      << twin.to_string() << " still maps to the bit";
  EXPECT_EQ(run_action(*path_, from(twin)), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from(host)), XDP_DROP);

  ASSERT_TRUE(apply({{host}, {twin}, true})); // atomic, two ranges: swapped
  EXPECT_EQ(kernel_bits(), std::set<std::uint32_t>{bit});
  ASSERT_TRUE(apply({{}, {host}, false}));
  EXPECT_TRUE(kernel_bits().empty()) << "the last host of the bit left";
}

// Only the host table allows a host the trie has lost; the program finds it
// there exactly while the bit userspace computed for it is set.
TEST_F(HostFilterTest, TheProgramReadsTheBitUserspaceComputes) {
  for (const char *text : {"203.0.113.7", "2001:db8:77::5"}) {
    SCOPED_TRACE(text);
    IpPrefix host = prefix(text);
    ASSERT_TRUE(apply({{host}, {}, false}));
    drop_from_trie(host);
    EXPECT_EQ(run_action(*path_, from(host)), XDP_PASS)
        << "the bit is set: the host table is probed";
    std::uint32_t bit = HostFilter::bit_of(host);
    set_kernel_word(bit / 64, ~(std::uint64_t{1} << (bit % 64)));
    EXPECT_EQ(run_action(*path_, from(host)), XDP_DROP)
        << "only its bit is clear: the host table is skipped";
  }
}

TEST_F(HostFilterTest, ARestartRebuildsTheBitsFromTheList) {
  std::vector<IpPrefix> list =
      prefixes({"198.51.100.1", "198.51.100.2", "2001:db8::1", "10.0.0.0/8"});
  ASSERT_TRUE(apply({list, {}, false}));
  // What the last process may have left: stale bits set, a listed one clear.
  std::uint32_t listed = HostFilter::bit_of(list[0]);
  set_kernel_word(listed / 64, 0);
  std::uint32_t stale = HostFilter::bit_of(prefix("192.0.2.55"));
  set_kernel_word(stale / 64, ~std::uint64_t{0});
  ASSERT_NE(kernel_bits(), bits_of(list));

  path_.reset();
  path_.emplace(load_data_path(options_));
  EXPECT_EQ(kernel_bits(), bits_of(list));
  for (const char *text : {"198.51.100.1", "2001:db8::1", "10.9.8.7"})
    EXPECT_EQ(run_action(*path_, from(prefix(text))), XDP_PASS) << text;
}

} // namespace
} // namespace xdpgate::test
