// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The two filters in front of the allow-list lookups. The host filter (in
// front of the exact-host tables): after every kind of change its kernel
// bits are exactly those of the listed hosts, a bit clears only with the last
// host that maps to it, the program reads the bit userspace computes, and a
// restart rebuilds the bits from the list. The block filter (in front of
// everything): the same, for the /20 blocks the listed entries intersect,
// plus: a short prefix sets every block it spans, and a clear bit is a miss.
// (That a missing host bit or an excess bit of either changes no verdict:
// verdict_test.cpp.)
#include <algorithm>
#include <bpf/bpf.h>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <set>
#include <sys/mman.h>

#include "common/fd.hpp"
#include "datapath/presence_filter.hpp"
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
      bits.insert(PresenceFilter::host_bit(r));
  return bits;
}

// Another IPv4 host whose filter bit is that of `host`.
IpPrefix colliding_v4_host(const IpPrefix &host) {
  std::uint32_t want = PresenceFilter::host_bit(host);
  IpPrefix other = host;
  for (std::uint32_t i = 1; i < (1u << 24); ++i) {
    other.addr = {11, static_cast<std::uint8_t>(i >> 16),
                  static_cast<std::uint8_t>(i >> 8),
                  static_cast<std::uint8_t>(i)};
    if (PresenceFilter::host_bit(other) == want)
      return other;
  }
  throw std::runtime_error("no colliding host in 11.0.0.0/8");
}

// The block bits of `ranges`, from the definition: the first 20 bits of
// every address a range holds, IPv6 blocks after the 2^20 IPv4 ones.
std::set<std::uint32_t> blocks_of(const std::vector<IpPrefix> &ranges) {
  std::set<std::uint32_t> bits;
  for (const IpPrefix &r : ranges) {
    std::uint32_t base = r.family == Family::V6 ? 1u << 20 : 0;
    std::uint32_t top = (std::uint32_t{r.addr[0]} << 12) |
                        (std::uint32_t{r.addr[1]} << 4) | (r.addr[2] >> 4);
    std::uint32_t span = r.length >= 20 ? 1 : 1u << (20 - r.length);
    for (std::uint32_t i = 0; i < span; ++i)
      bits.insert(base + (top & ~(span - 1)) + i);
  }
  return bits;
}

class FilterTest : public LoadedProgramTest {
protected:
  // `expected` gives the bits a list must set, from the filter's definition.
  using BitsOf = std::set<std::uint32_t> (*)(const std::vector<IpPrefix> &);
  FilterTest(const char *map, std::uint32_t words, BitsOf expected)
      : LoadedProgramTest("xdpgate-filter-test-"), expected_(expected),
        map_(map), words_(words) {}

  // The bits set in the kernel's filter.
  std::set<std::uint32_t> kernel_bits() const {
    Fd filter = pinned(map_);
    std::set<std::uint32_t> bits;
    for (std::uint32_t w = 0; w < words_; ++w) {
      std::uint64_t word = 0;
      EXPECT_EQ(bpf_map_lookup_elem(filter.get(), &w, &word), 0);
      for (std::uint32_t b = 0; b < 64; ++b)
        if ((word >> b) & 1)
          bits.insert(w * 64 + b);
    }
    return bits;
  }

  void set_kernel_word(std::uint32_t word, std::uint64_t value) const {
    Fd filter = pinned(map_);
    ASSERT_EQ(bpf_map_update_elem(filter.get(), &word, &value, BPF_ANY), 0);
  }

  // Loads the program again on the same pins, as a restarted daemon does.
  void restart() {
    path_.reset();
    path_.emplace(load_data_path(options_));
  }

  // After an add in place, an atomic replace, a removal in place and a
  // whole-list sync, the kernel's bits are exactly those of the list.
  void expect_bits_follow_every_change() {
    EXPECT_TRUE(kernel_bits().empty());
    std::vector<IpPrefix> first = prefixes(
        {"10.0.0.0/8", "198.51.100.1", "198.51.100.0/24", "198.51.100.2",
         "2001:db8::1", "2001:db8:a::/48", "2001:db8::2", "2400::/12"});
    ASSERT_TRUE(apply({first, {}, false}));
    EXPECT_EQ(kernel_bits(), expected_(first)) << "after an add in place";

    // An atomic replace: new tables swapped in, old entries leave, new enter.
    std::vector<IpPrefix> second = prefixes(
        {"198.51.100.2", "203.0.113.9", "2001:db8::3", "192.0.2.0/24"});
    std::vector<IpPrefix> leaving = prefixes(
        {"10.0.0.0/8", "198.51.100.1", "198.51.100.0/24", "2001:db8::1",
         "2001:db8:a::/48", "2001:db8::2", "2400::/12"});
    ASSERT_TRUE(apply({prefixes({"203.0.113.9", "2001:db8::3", "192.0.2.0/24"}),
                       leaving, true}));
    EXPECT_EQ(kernel_bits(), expected_(second)) << "after an atomic replace";

    ASSERT_TRUE(apply({{}, prefixes({"198.51.100.2", "2001:db8::3"}), false}));
    EXPECT_EQ(kernel_bits(),
              expected_(prefixes({"203.0.113.9", "192.0.2.0/24"})))
        << "after a removal in place";

    // A whole-list sync (what a start or a reload does).
    std::vector<IpPrefix> third =
        prefixes({"100.64.0.1", "100.64.0.0/10", "2001:db8::7"});
    DesiredState desired;
    desired.config = enforcing();
    desired.allow = third;
    ASSERT_TRUE(path_->sync(desired));
    EXPECT_EQ(kernel_bits(), expected_(third)) << "after a sync";
  }

  // What the last process may have left, a listed bit clear and a stale one
  // set, is rebuilt from the list on a restart.
  void expect_restart_rebuilds_bits() {
    std::vector<IpPrefix> list =
        prefixes({"198.51.100.1", "198.51.100.2", "2001:db8::1", "10.0.0.0/8"});
    ASSERT_TRUE(apply({list, {}, false}));
    std::uint32_t listed = *expected_({list[0]}).begin();
    set_kernel_word(listed / 64, 0);
    std::uint32_t stale = *expected_({prefix("192.0.2.55")}).begin();
    set_kernel_word(stale / 64, ~std::uint64_t{0});
    ASSERT_NE(kernel_bits(), expected_(list));

    restart();
    EXPECT_EQ(kernel_bits(), expected_(list));
    for (const char *text : {"198.51.100.1", "2001:db8::1", "10.9.8.7"})
      EXPECT_EQ(run_action(*path_, from(prefix(text))), XDP_PASS) << text;
    EXPECT_EQ(run_action(*path_, from(prefix("192.0.2.55"))), XDP_DROP);
  }

private:
  BitsOf expected_;
  const char *map_;
  std::uint32_t words_;
};

class HostFilterTest : public FilterTest {
protected:
  HostFilterTest()
      : FilterTest("host_filter", XDPGATE_HOST_FILTER_WORDS, bits_of) {}

  // Takes every range out of what the program looks up after the host
  // table, behind the data path's back: the family's lookup table loses its
  // rows but the header. From then on only the host table can allow `host`.
  void drop_from_lookup(const IpPrefix &host) const {
    Fd inner(bpf_map_get_fd_by_id(live_table(
        host.family == Family::V4 ? "allow_v4_table" : "allow_v6_table")));
    ASSERT_TRUE(inner.valid());
    bpf_map_info info{};
    std::uint32_t length = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(inner.get(), &info, &length), 0);
    std::size_t bytes = std::size_t{info.max_entries} * info.value_size;
    void *rows = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
                        inner.get(), 0);
    ASSERT_NE(rows, MAP_FAILED);
    std::memset(static_cast<char *>(rows) + info.value_size, 0,
                bytes - info.value_size);
    ::munmap(rows, bytes);
  }
};

TEST_F(HostFilterTest, ItsBitsAreThoseOfTheListedHostsAfterEveryChange) {
  expect_bits_follow_every_change();
}

TEST_F(HostFilterTest, ABitClearsOnlyWithTheLastHostThatMapsToIt) {
  IpPrefix host = prefix("203.0.113.7");
  IpPrefix twin = colliding_v4_host(host);
  std::uint32_t bit = PresenceFilter::host_bit(host);
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

// Only the host table allows a host the lookup has lost; the program finds it
// there exactly while the bit userspace computed for it is set.
TEST_F(HostFilterTest, TheProgramReadsTheBitUserspaceComputes) {
  for (const char *text : {"203.0.113.7", "2001:db8:77::5"}) {
    SCOPED_TRACE(text);
    IpPrefix host = prefix(text);
    ASSERT_TRUE(apply({{host}, {}, false}));
    drop_from_lookup(host);
    EXPECT_EQ(run_action(*path_, from(host)), XDP_PASS)
        << "the bit is set: the host table is probed";
    std::uint32_t bit = PresenceFilter::host_bit(host);
    set_kernel_word(bit / 64, ~(std::uint64_t{1} << (bit % 64)));
    EXPECT_EQ(run_action(*path_, from(host)), XDP_DROP)
        << "only its bit is clear: the host table is skipped";
  }
}

TEST_F(HostFilterTest, ARestartRebuildsTheBitsFromTheList) {
  expect_restart_rebuilds_bits();
}

class BlockFilterTest : public FilterTest {
protected:
  BlockFilterTest()
      : FilterTest("block_filter", XDPGATE_BLOCK_FILTER_WORDS, blocks_of) {}
};

TEST_F(BlockFilterTest, ItsBitsAreThoseOfTheListedEntriesAfterEveryChange) {
  expect_bits_follow_every_change();
}

TEST_F(BlockFilterTest, ABitClearsOnlyWithTheLastEntryInItsBlock) {
  IpPrefix host = prefix("198.51.100.7");
  IpPrefix block = prefix("198.51.96.0/20"); // the host's own block
  ASSERT_EQ(blocks_of({host}), blocks_of({block}));
  ASSERT_TRUE(apply({{host, block}, {}, false}));

  ASSERT_TRUE(apply({{}, {block}, false}));
  EXPECT_EQ(kernel_bits(), blocks_of({host})) << host.to_string() << " stays";
  EXPECT_EQ(run_action(*path_, from(host)), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from(prefix("198.51.97.1"))), XDP_DROP);

  ASSERT_TRUE(apply({{}, {host}, false}));
  EXPECT_TRUE(kernel_bits().empty()) << "the last entry of the block left";
  EXPECT_EQ(run_action(*path_, from(host)), XDP_DROP);
}

TEST_F(BlockFilterTest, AShortPrefixSetsEveryBlockItSpans) {
  ASSERT_TRUE(apply({prefixes({"10.16.0.0/12"}), {}, false}));
  EXPECT_EQ(kernel_bits().size(), 256u);
  EXPECT_EQ(run_action(*path_, from(prefix("10.31.255.255"))), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from(prefix("10.32.0.0"))), XDP_DROP);

  ASSERT_TRUE(apply({prefixes({"0.0.0.0/0"}), {}, false}));
  std::set<std::uint32_t> bits = kernel_bits();
  EXPECT_EQ(bits.size(), 1u << 20) << "every IPv4 block";
  EXPECT_LT(*bits.rbegin(), 1u << 20) << "and no IPv6 block";
  EXPECT_EQ(run_action(*path_, from(prefix("223.1.2.3"))), XDP_PASS);
  EXPECT_EQ(run_action(*path_, from(prefix("2001:db8::1"))), XDP_DROP);

  ASSERT_TRUE(apply({prefixes({"::/0"}), {}, false}));
  EXPECT_EQ(kernel_bits().size(), 2u << 20) << "every block of both";
  EXPECT_EQ(run_action(*path_, from(prefix("2001:db8::1"))), XDP_PASS);

  ASSERT_TRUE(apply({{}, prefixes({"0.0.0.0/0", "::/0"}), false}));
  EXPECT_EQ(kernel_bits(), blocks_of(prefixes({"10.16.0.0/12"})));
  EXPECT_EQ(run_action(*path_, from(prefix("223.1.2.3"))), XDP_DROP);
}

// The filter decides: with only its block's bit clear, a listed source is a
// miss, though every table still holds it.
TEST_F(BlockFilterTest, AClearBitIsAMissWithoutALookup) {
  for (const char *text : {"203.0.113.7", "203.0.112.0/24", "2001:db8:77::5",
                           "2001:db8:78::/48"}) {
    SCOPED_TRACE(text);
    IpPrefix entry = prefix(text);
    IpPrefix source = entry; // its first address
    source.length = source.max_length();
    ASSERT_TRUE(apply({{entry}, {}, false}));
    EXPECT_EQ(run_action(*path_, from(source)), XDP_PASS);
    std::uint32_t bit = *blocks_of({entry}).begin();
    set_kernel_word(bit / 64, ~(std::uint64_t{1} << (bit % 64)));
    EXPECT_EQ(run_action(*path_, from(source)), XDP_DROP);
    ASSERT_TRUE(apply({{}, {entry}, false}));
  }
}

TEST_F(BlockFilterTest, ARestartRebuildsTheBitsFromTheList) {
  expect_restart_rebuilds_bits();
}

} // namespace
} // namespace xdpgate::test
