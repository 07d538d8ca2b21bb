// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Deterministic allow lists of a realistic mix for the benchmarks, and the
// source addresses that hit or miss them. The same (family, size, seed)
// always gives the same list, so runs on different days compare.
//
// IPv4: 40% /32 hosts, 40% /24 networks, 20% of length /8-/31 with weight
// 2^((len-8)/2), so each shorter length is 1/sqrt(2) as likely as the next:
// uniform lengths would put ~8,000 /8s into a 1M list and cover the whole
// address space, which no real allow list does. First octet 1-223.
// IPv6: 40% /128 hosts, 40% /64 networks, 20% of length /16-/127 uniform,
// all inside 2000::/3. Entries may overlap; there are no duplicates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

#include "net/ip_prefix.hpp"

namespace xdpgate::bench {

// splitmix64: tiny, fast, and the same everywhere.
class Rng {
public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  // Uniform in [0, bound).
  std::uint64_t below(std::uint64_t bound) { return next() % bound; }

private:
  std::uint64_t state_;
};

std::vector<IpPrefix> generate_list(Family family, std::size_t size,
                                    std::uint64_t seed);

// One prefix of the mix's "network" class (/24 or /64) and one host.
IpPrefix generate_network(Family family, Rng &rng);
IpPrefix generate_host(Family family, Rng &rng);

// Longest-prefix match over a list, in userspace: picks the benchmark's
// sources and tells what the kernel should answer for them.
class PrefixIndex {
public:
  explicit PrefixIndex(const std::vector<IpPrefix> &list);
  // The longest entry containing `address` (a full-length prefix).
  std::optional<IpPrefix> longest_match(const IpPrefix &address) const;

private:
  std::vector<std::uint8_t> lengths_; // present in the list, longest first
  std::unordered_set<IpPrefix> entries_;
};

// Source addresses (full-length prefixes) for one kind of lookup.
struct Sources {
  std::vector<IpPrefix> host_hits;   // /32 or /128 entries of the list
  std::vector<IpPrefix> prefix_hits; // longest match is a shorter entry
  std::vector<IpPrefix> misses;      // no entry contains them
  // Misses from a /20 block where an entry lies (the block filter's bit is
  // set, so they take every lookup).
  std::vector<IpPrefix> near_misses;
};

// Up to `count` distinct sources of each kind; host and prefix hits are
// fewer when the list has fewer entries of that kind.
Sources pick_sources(const std::vector<IpPrefix> &list,
                     const PrefixIndex &index, std::size_t count,
                     std::uint64_t seed);

} // namespace xdpgate::bench
