// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The two bitmaps in front of the allow-list lookups (include/xdpgate/abi.h),
// mirrored in userspace with a count per bit, so that a bit clears only when
// the last entry that needs it leaves:
//   - the host filter: one bit per hash of a listed full-length entry's
//     address, read before an exact-host table is probed (a clear bit skips
//     it, and IPv4 hosts are nowhere else).
//   - the block filter: the bits of every /20 block a listed entry
//     intersects. It decides: a clear bit is a miss without any lookup.
// Callers set an entry's bits before the entry enters a kernel table and
// clear them after it has left.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

class PresenceFilter {
public:
  enum class Kind { Hosts, Blocks };

  // Borrows the fd of the filter's array map.
  PresenceFilter(Kind kind, int fd);

  // The host filter bit of a full-length address, as the XDP program
  // computes it.
  static std::uint32_t host_bit(const IpPrefix &host);
  // The bits an entry needs: [first, first + count); count 0 when this
  // filter does not hold the entry (a host filter holds hosts only).
  struct Bits {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
  };
  Bits bits_of(const IpPrefix &entry) const;

  // Makes the kernel's bits exactly those of `entries` (on start: whatever a
  // previous process left is replaced).
  Status reset(const std::vector<IpPrefix> &entries);
  // Counts the entries in and sets the bits that were clear.
  Status add(const std::vector<IpPrefix> &entries);
  // Counts the entries out and clears the bits no entry needs any more.
  Status remove(const std::vector<IpPrefix> &entries);

private:
  // Counts the entries in; returns the words whose bits turned on.
  std::vector<std::uint32_t> add_counts(const std::vector<IpPrefix> &entries);
  Status write_words(const std::vector<std::uint32_t> &changed);

  Kind kind_;
  int fd_ = -1;
  // Entries per bit. A count that reaches the maximum stays there: its bit
  // is then never cleared, which costs a lookup, never a verdict.
  std::vector<std::uint16_t> counts_;
  std::vector<std::uint64_t> words_; // the bits, as written to the kernel
};

} // namespace xdpgate
