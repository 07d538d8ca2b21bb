// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/prefix_mix.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace xdpgate::bench {

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

namespace {

// A random unicast address: IPv4 first octet 1-223, IPv6 inside 2000::/3.
IpPrefix random_address(Family family, Rng &rng) {
  IpPrefix a;
  a.family = family;
  a.length = a.max_length();
  if (family == Family::V4) {
    std::uint64_t bits = rng.next();
    a.addr[0] = static_cast<std::uint8_t>(1 + rng.below(223));
    for (int i = 1; i < 4; ++i)
      a.addr[i] = static_cast<std::uint8_t>(bits >> (8 * i));
    return a;
  }
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = rng.next();
    for (int i = 0; i < 8; ++i)
      a.addr[half * 8 + i] = static_cast<std::uint8_t>(bits >> (8 * i));
  }
  a.addr[0] = static_cast<std::uint8_t>(0x20 | (a.addr[0] & 0x1F));
  return a;
}

// Length of the "rest" class: IPv4 /8-/31 weighted 2^((len-8)/2), IPv6
// /16-/127 uniform.
std::uint8_t rest_length(Family family, Rng &rng) {
  if (family == Family::V6)
    return static_cast<std::uint8_t>(16 + rng.below(112));
  static const std::vector<double> cumulative = [] {
    std::vector<double> c;
    double sum = 0;
    for (int len = 8; len <= 31; ++len)
      c.push_back(sum += std::pow(2.0, (len - 8) / 2.0));
    for (double &x : c)
      x /= sum;
    return c;
  }();
  double u = static_cast<double>(rng.next() >> 11) / 9007199254740992.0;
  auto it = std::lower_bound(cumulative.begin(), cumulative.end(), u);
  return static_cast<std::uint8_t>(
      8 + std::min<std::ptrdiff_t>(it - cumulative.begin(), 23));
}

} // namespace

IpPrefix generate_host(Family family, Rng &rng) {
  return random_address(family, rng);
}

IpPrefix generate_network(Family family, Rng &rng) {
  return random_address(family, rng).widened_to(family == Family::V4 ? 24 : 64);
}

std::vector<IpPrefix> generate_list(Family family, std::size_t size,
                                    std::uint64_t seed) {
  Rng rng(seed);
  std::unordered_set<IpPrefix> seen;
  std::vector<IpPrefix> list;
  seen.reserve(size);
  list.reserve(size);
  while (list.size() < size) {
    std::uint64_t kind = rng.below(10); // 0-3 host, 4-7 network, 8-9 rest
    IpPrefix p =
        kind < 4 ? generate_host(family, rng)
        : kind < 8
            ? generate_network(family, rng)
            : random_address(family, rng).widened_to(rest_length(family, rng));
    if (seen.insert(p).second)
      list.push_back(p);
  }
  return list;
}

PrefixIndex::PrefixIndex(const std::vector<IpPrefix> &list) {
  std::set<std::uint8_t, std::greater<>> lengths;
  entries_.reserve(list.size());
  for (const IpPrefix &p : list) {
    entries_.insert(p);
    lengths.insert(p.length);
  }
  lengths_.assign(lengths.begin(), lengths.end());
}

std::optional<IpPrefix>
PrefixIndex::longest_match(const IpPrefix &address) const {
  for (std::uint8_t len : lengths_) {
    IpPrefix candidate = address.widened_to(len);
    if (entries_.count(candidate))
      return candidate;
  }
  return std::nullopt;
}

Sources pick_sources(const std::vector<IpPrefix> &list,
                     const PrefixIndex &index, std::size_t count,
                     std::uint64_t seed) {
  Rng rng(seed);
  Sources s;
  std::vector<const IpPrefix *> hosts, networks;
  for (const IpPrefix &p : list)
    (p.is_single_address() ? hosts : networks).push_back(&p);
  if (list.empty())
    throw std::invalid_argument("pick_sources: empty list");
  Family family = list.front().family;

  // Hosts: list order is already random.
  for (std::size_t i = 0; i < hosts.size() && i < count; ++i)
    s.host_hits.push_back(*hosts[i]);

  // Prefix hits: a random address inside a random shorter entry, kept when
  // its longest match is not a host entry.
  std::unordered_set<IpPrefix> taken;
  std::size_t tries = 0;
  while (!networks.empty() && s.prefix_hits.size() < count &&
         tries++ < 20 * count + 1000) {
    const IpPrefix &net = *networks[rng.below(networks.size())];
    IpPrefix a = random_address(family, rng);
    for (std::size_t byte = 0; byte < a.addr.size(); ++byte) {
      int bits = static_cast<int>(net.length) - static_cast<int>(byte * 8);
      std::uint8_t keep = bits >= 8 ? 0xFF
                          : bits <= 0
                              ? 0
                              : static_cast<std::uint8_t>(0xFF << (8 - bits));
      a.addr[byte] = static_cast<std::uint8_t>((net.addr[byte] & keep) |
                                               (a.addr[byte] & ~keep));
    }
    std::optional<IpPrefix> match = index.longest_match(a);
    if (match && !match->is_single_address() && taken.insert(a).second)
      s.prefix_hits.push_back(a);
  }

  tries = 0;
  while (s.misses.size() < count && tries++ < 100 * count + 1000) {
    IpPrefix a = random_address(family, rng);
    if (!index.longest_match(a) && taken.insert(a).second)
      s.misses.push_back(a);
  }

  // Near misses: the first 20 bits of a random entry of /20 or longer (a
  // shorter entry covers its whole blocks), random bits after them.
  std::vector<const IpPrefix *> in_one_block;
  for (const IpPrefix &p : list)
    if (p.length >= 20)
      in_one_block.push_back(&p);
  tries = 0;
  while (!in_one_block.empty() && s.near_misses.size() < count &&
         tries++ < 100 * count + 1000) {
    const IpPrefix &entry = *in_one_block[rng.below(in_one_block.size())];
    IpPrefix a = random_address(family, rng);
    a.addr[0] = entry.addr[0];
    a.addr[1] = entry.addr[1];
    a.addr[2] =
        static_cast<std::uint8_t>((entry.addr[2] & 0xF0) | (a.addr[2] & 0x0F));
    if (!index.longest_match(a) && taken.insert(a).second)
      s.near_misses.push_back(a);
  }
  return s;
}

} // namespace xdpgate::bench
