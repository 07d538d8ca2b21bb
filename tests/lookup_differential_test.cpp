// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The XDP program against the kernel's own LPM trie, the reference
// semantics: a random list of IPv4 and IPv6 ranges (1k, 100k or 1M of each),
// nested at every length, goes into the data path and into a plain LPM trie
// made here. Every probe (each range's first and last address, the
// addresses just outside, one inside, and random ones) must get the same
// verdict from the program (through BPF_PROG_TEST_RUN) as from the trie, and
// the data path must name the same entry, after the list is written, after
// churn (covering and covered ranges leaving, nested and covering ones
// arriving, entries disabled and enabled again), and after a replace.
#include <gtest/gtest.h>

#include <algorithm>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <random>
#include <set>
#include <string>

#include "datapath/lpm_key.hpp"
#include "support/frame.hpp"
#include "support/loaded_program.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

// The ranges of each family, and random probes (IPv6 gets a quarter).
struct Scale {
  const char *name;
  std::size_t ranges;
  std::size_t random_probes;
  // The 100k case takes minutes under the sanitizers, where the 1k case
  // runs the same code.
  bool under_sanitizers;
};

// The kernel's LPM trie holding the same list: value = the range's index.
class ReferenceTrie {
public:
  ReferenceTrie(Family family, std::uint32_t capacity) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
    fd_ = Fd(bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "xdpgate_ref",
                            lpm_key_size(family), sizeof(std::uint32_t),
                            capacity, &opts));
    if (!fd_.valid())
      throw std::runtime_error("creating the reference trie failed");
  }
  void add(const IpPrefix &range) {
    LpmKey key = lpm_key(range);
    std::uint32_t index = static_cast<std::uint32_t>(ranges_.size());
    if (bpf_map_update_elem(fd_.get(), key.bytes.data(), &index, BPF_NOEXIST))
      throw std::runtime_error("reference add " + range.to_string());
    ranges_.push_back(range);
  }
  void remove(const IpPrefix &range) {
    LpmKey key = lpm_key(range);
    if (bpf_map_delete_elem(fd_.get(), key.bytes.data()))
      throw std::runtime_error("reference remove " + range.to_string());
  }
  std::optional<IpPrefix> lookup(const IpPrefix &address) const {
    LpmKey key = lpm_key(address);
    std::uint32_t index = 0;
    if (bpf_map_lookup_elem(fd_.get(), key.bytes.data(), &index) != 0)
      return std::nullopt;
    return ranges_[index];
  }

private:
  Fd fd_;
  std::vector<IpPrefix> ranges_; // every range ever added, by index
};

IpPrefix random_address(std::mt19937_64 &rng, Family family) {
  IpPrefix p;
  p.family = family;
  p.length = p.max_length();
  for (std::size_t i = 0; i < (family == Family::V4 ? 4u : 16u); ++i)
    p.addr[i] = static_cast<std::uint8_t>(rng());
  return p;
}

// Ranges of every length around clusters of addresses, so that they cover,
// split and sit inside each other; IPv4 mostly /16 to /32, IPv6 inside
// 2000::/3 mostly /32 to /64, as real lists have them. A list of more than
// 100k ranges gets more clusters, each as dense as a 100k list's, and no
// more very wide IPv4 ranges (/6 to /15) than a 100k list has.
class ListMaker {
public:
  ListMaker(std::uint64_t seed, Family family, std::size_t ranges)
      : rng_(seed), family_(family),
        scale_(std::max<std::size_t>(1, ranges / 100000)) {
    for (std::size_t i = 0; i < 500 * scale_; ++i)
      clusters_.push_back(random_address(rng_, family));
  }
  IpPrefix next() {
    IpPrefix base = clusters_[rng_() % clusters_.size()];
    IpPrefix noise = random_address(rng_, family_);
    // Keep the cluster's first bits, vary the rest.
    int keep = static_cast<int>(rng_() % base.max_length());
    for (int bit = keep; bit < base.max_length(); ++bit)
      if (noise.addr[bit / 8] & (0x80 >> (bit % 8)))
        base.addr[bit / 8] ^= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    int length;
    if (family_ == Family::V4) {
      // Mostly /16 to /32; a few wide ones, which cover many others.
      length = rng_() % (2000 * scale_) ? 16 + static_cast<int>(rng_() % 17)
                                        : 6 + static_cast<int>(rng_() % 10);
    } else {
      base.addr[0] = static_cast<std::uint8_t>(0x20 | (base.addr[0] & 0x1f));
      length = rng_() % 4 ? 32 + static_cast<int>(rng_() % 33)
                          : 3 + static_cast<int>(rng_() % 126);
    }
    return base.widened_to(static_cast<std::uint8_t>(length));
  }
  std::mt19937_64 &rng() { return rng_; }

private:
  std::mt19937_64 rng_;
  Family family_;
  std::size_t scale_;
  std::vector<IpPrefix> clusters_;
};

// An address `delta` away from `a` (wrapping), in the same family.
IpPrefix step(IpPrefix a, int delta) {
  int last = a.family == Family::V4 ? 3 : 15;
  for (int i = last; i >= 0 && delta != 0; --i) {
    int v = a.addr[i] + delta;
    a.addr[i] = static_cast<std::uint8_t>(v);
    delta = v < 0 ? -1 : v > 255 ? 1 : 0;
  }
  return a;
}

IpPrefix last_address(const IpPrefix &range) {
  IpPrefix a = range;
  for (int bit = range.length; bit < range.max_length(); ++bit)
    a.addr[bit / 8] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
  a.length = a.max_length();
  return a;
}

IpPrefix inside(const IpPrefix &range, std::mt19937_64 &rng) {
  IpPrefix a = random_address(rng, range.family);
  for (int bit = 0; bit < range.length; ++bit) {
    auto m = static_cast<std::uint8_t>(0x80 >> (bit % 8));
    a.addr[bit / 8] = static_cast<std::uint8_t>((a.addr[bit / 8] & ~m) |
                                                (range.addr[bit / 8] & m));
  }
  return a;
}

class LookupDifferential : public LoadedProgramTest,
                           public ::testing::WithParamInterface<Scale> {
protected:
  LookupDifferential() : LoadedProgramTest("xdpgate-lpmdiff-") {}

  void SetUp() override {
#if defined(XDPGATE_SANITIZED)
    if (!GetParam().under_sanitizers)
      GTEST_SKIP() << "the " << GetParam().name
                   << " case runs in `make test`, not under the sanitizers";
#endif
    LoadedProgramTest::SetUp();
    if (IsSkipped())
      return;
    // Room for the list, its churn and a replace's new entries.
    options_.capacity = static_cast<std::uint32_t>(2 * GetParam().ranges);
    path_.reset();
    std::filesystem::remove_all(pins_);
    path_.emplace(load_data_path(options_));
    ref4_.emplace(Family::V4, 4 * GetParam().ranges);
    ref6_.emplace(Family::V6, 4 * GetParam().ranges);
    v4_frame_ = Frame::ipv4("192.0.2.1").tcp(443).bytes();
    v6_frame_ = Frame::ipv6("2001:db8::2").tcp(443).bytes();
  }

  // `count` ranges not listed yet, listed from now on.
  std::vector<IpPrefix> grow(ListMaker &maker, std::size_t count) {
    std::vector<IpPrefix> out;
    while (out.size() < count) {
      IpPrefix r = maker.next();
      if (listed_.insert(r).second)
        out.push_back(r);
    }
    return out;
  }

  ReferenceTrie &reference(const IpPrefix &r) {
    return r.family == Family::V4 ? *ref4_ : *ref6_;
  }

  std::vector<IpPrefix> probes(const std::vector<IpPrefix> &ranges,
                               std::mt19937_64 &rng, Family family) {
    std::vector<IpPrefix> out;
    for (const IpPrefix &r : ranges) {
      IpPrefix first = r;
      first.length = r.max_length();
      IpPrefix last = last_address(r);
      for (const IpPrefix &a :
           {first, last, step(first, -1), step(last, 1), inside(r, rng)})
        out.push_back(a);
    }
    const std::size_t random = GetParam().random_probes;
    for (std::size_t i = 0; i < random / (family == Family::V4 ? 1 : 4); ++i)
      out.push_back(random_address(rng, family));
    return out;
  }

  // Every probe: the program's verdict and the data path's entry against
  // the reference trie's.
  void expect_agreement(const std::vector<IpPrefix> &addresses,
                        const char *when) {
    std::size_t wrong = 0, allowed = 0;
    for (const IpPrefix &a : addresses) {
      std::vector<std::uint8_t> &frame =
          a.family == Family::V4 ? v4_frame_ : v6_frame_;
      // The source address sits 12 bytes (IPv4) or 8 (IPv6) into the IP
      // header, after the 14-byte Ethernet header.
      std::copy_n(a.addr.begin(), a.family == Family::V4 ? 4 : 16,
                  frame.begin() + (a.family == Family::V4 ? 26 : 22));
      std::optional<IpPrefix> expected = reference(a).lookup(a);
      int action = run_action(*path_, frame);
      std::optional<IpPrefix> named = path_->lookup(a);
      allowed += expected.has_value();
      if ((action == XDP_PASS) != expected.has_value() || named != expected) {
        if (++wrong <= 5)
          ADD_FAILURE() << when << ": " << a.to_string() << " got "
                        << action_name(action) << " and entry "
                        << (named ? named->to_string() : "none")
                        << ", the kernel LPM trie says "
                        << (expected ? expected->to_string() : "none");
      }
    }
    EXPECT_EQ(wrong, 0u) << when << ": of " << addresses.size() << " probes ("
                         << allowed << " allowed)";
    // A test whose probes all miss, or all hit, would prove little: a tenth
    // of each, or 100k. (A million IPv4 ranges cover most of the address
    // space, as the routing table's million do: few probes then miss.)
    const std::size_t enough =
        std::min<std::size_t>(addresses.size() / 10, 100000);
    EXPECT_GT(allowed, enough) << when;
    EXPECT_GT(addresses.size() - allowed, enough) << when;
  }

  std::set<IpPrefix> listed_;
  std::vector<std::uint8_t> v4_frame_, v6_frame_;
  std::optional<ReferenceTrie> ref4_, ref6_;
};

TEST_P(LookupDifferential,
       EveryVerdictAsTheKernelLpmTrieThroughChurnAndReplace) {
  const std::size_t ranges = GetParam().ranges;
  ListMaker v4(20261204, Family::V4, ranges), v6(20261205, Family::V6, ranges);
  std::vector<IpPrefix> list = grow(v4, ranges);
  std::vector<IpPrefix> list6 = grow(v6, ranges);
  list.insert(list.end(), list6.begin(), list6.end());
  for (const IpPrefix &r : list)
    reference(r).add(r);
  ASSERT_TRUE(path_->sync({enforcing(), {}, list}));

  auto all_probes = [&](const std::vector<IpPrefix> &ranges) {
    std::vector<IpPrefix> v4_ranges, v6_ranges;
    for (const IpPrefix &r : ranges)
      (r.family == Family::V4 ? v4_ranges : v6_ranges).push_back(r);
    std::vector<IpPrefix> out = probes(v4_ranges, v4.rng(), Family::V4);
    std::vector<IpPrefix> more = probes(v6_ranges, v6.rng(), Family::V6);
    out.insert(out.end(), more.begin(), more.end());
    return out;
  };
  std::vector<IpPrefix> addresses = all_probes(list);
  expect_agreement(addresses, "after the list is written");

  // Churn in small changes, as the API makes them: a fifth of the list
  // leaves (covering and covered ranges alike) while new ranges arrive
  // (nested in and covering the ones there), then half of those that left
  // come back (entries disabled, then enabled).
  std::mt19937_64 &rng = v4.rng();
  std::vector<IpPrefix> leaving(list.begin(), list.end());
  std::shuffle(leaving.begin(), leaving.end(), rng);
  leaving.resize(leaving.size() / 5);
  std::vector<IpPrefix> arrivals = grow(v4, ranges / 10);
  std::vector<IpPrefix> more6 = grow(v6, ranges / 10);
  arrivals.insert(arrivals.end(), more6.begin(), more6.end());
  std::shuffle(arrivals.begin(), arrivals.end(), rng);
  const std::size_t batches = leaving.size() / 50;
  for (std::size_t b = 0; b < batches; ++b) {
    AllowListChange change;
    for (std::size_t k = b; k < leaving.size(); k += batches)
      change.removed.push_back(leaving[k]);
    for (std::size_t k = b; k < arrivals.size(); k += batches)
      change.added.push_back(arrivals[k]);
    ASSERT_TRUE(path_->apply(enforcing(), {}, change));
    for (const IpPrefix &r : change.removed) {
      reference(r).remove(r);
      listed_.erase(r);
    }
    for (const IpPrefix &r : change.added)
      reference(r).add(r);
  }
  for (std::size_t i = 0; i < leaving.size() / 2; i += 25) {
    AllowListChange change;
    for (std::size_t k = i; k < std::min(i + 25, leaving.size() / 2); ++k) {
      change.added.push_back(leaving[k]);
      reference(leaving[k]).add(leaving[k]);
      listed_.insert(leaving[k]);
    }
    ASSERT_TRUE(path_->apply(enforcing(), {}, change));
  }
  std::vector<IpPrefix> churned = all_probes(arrivals);
  addresses.insert(addresses.end(), churned.begin(), churned.end());
  expect_agreement(addresses, "after the churn");

  // A replace: half the list stays, the rest is new.
  std::vector<IpPrefix> now(listed_.begin(), listed_.end());
  std::shuffle(now.begin(), now.end(), rng);
  std::vector<IpPrefix> replacement(now.begin(), now.begin() + now.size() / 2);
  for (auto it = now.begin() + static_cast<std::ptrdiff_t>(now.size() / 2);
       it != now.end(); ++it) {
    reference(*it).remove(*it);
    listed_.erase(*it);
  }
  std::vector<IpPrefix> fresh = grow(v4, ranges / 4);
  std::vector<IpPrefix> fresh6 = grow(v6, ranges / 4);
  fresh.insert(fresh.end(), fresh6.begin(), fresh6.end());
  for (const IpPrefix &r : fresh)
    reference(r).add(r);
  replacement.insert(replacement.end(), fresh.begin(), fresh.end());
  ASSERT_TRUE(path_->sync({enforcing(), {}, replacement}));
  std::vector<IpPrefix> replaced = all_probes(fresh);
  addresses.insert(addresses.end(), replaced.begin(), replaced.end());
  expect_agreement(addresses, "after the replace");
}

std::string scale_name(const ::testing::TestParamInfo<Scale> &info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Scales, LookupDifferential,
                         ::testing::Values(Scale{"1k", 1000, 20000, true},
                                           Scale{"100k", 100000, 100000,
                                                 false}),
                         scale_name);

// A million ranges of each family take about 16 minutes: `make test-long`
// runs them (gtest leaves DISABLED_ suites out of every other run).
INSTANTIATE_TEST_SUITE_P(DISABLED_Long, LookupDifferential,
                         ::testing::Values(Scale{"1M", 1000000, 1000000,
                                                 false}),
                         scale_name);

} // namespace
} // namespace xdpgate::test
