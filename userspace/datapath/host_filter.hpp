// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The host presence filter (include/xdpgate/abi.h): one bit per hash of a
// listed full-length entry's address, which the XDP program reads before it
// probes an exact-host table. It is only a hint, since the tries hold every
// host too: a missing bit costs a trie lookup, never a verdict.
//
// A count per bit says how many listed hosts map to it, so a bit clears only
// when its last host leaves. Callers set a host's bit before the host enters
// a host table and clear it after the host has left.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

class HostFilter {
public:
  // Borrows the fd of the filter's array map.
  explicit HostFilter(int fd);

  // The filter bit of a full-length address, as the XDP program computes it.
  static std::uint32_t bit_of(const IpPrefix &host);

  // Makes the kernel's bits exactly those of `hosts` (on start: whatever a
  // previous process left is replaced).
  Status reset(const std::vector<IpPrefix> &hosts);
  // Counts the hosts in and sets the bits that were clear.
  Status add(const std::vector<IpPrefix> &hosts);
  // Counts the hosts out and clears the bits no host maps to any more.
  Status remove(const std::vector<IpPrefix> &hosts);

  // Whether the bit of `host` is set, as this process last wrote it.
  bool covers(const IpPrefix &host) const;

private:
  Status write_words(const std::vector<std::uint32_t> &words);

  int fd_ = -1;
  std::vector<std::uint32_t> counts_; // listed hosts per bit
  std::vector<std::uint64_t> words_;  // the bits, as written to the kernel
};

} // namespace xdpgate
