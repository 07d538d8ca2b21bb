// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/presence_filter.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <cstring>
#include <limits>

#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

constexpr std::uint32_t kHostBits = std::uint32_t{1}
                                    << XDPGATE_HOST_FILTER_BITS_LOG2;
constexpr std::uint16_t kStuck = std::numeric_limits<std::uint16_t>::max();

std::uint32_t bits_in(PresenceFilter::Kind kind) {
  return kind == PresenceFilter::Kind::Hosts ? kHostBits
                                             : XDPGATE_BLOCK_FILTER_BITS;
}

} // namespace

PresenceFilter::PresenceFilter(Kind kind, int fd)
    : kind_(kind), fd_(fd), counts_(bits_in(kind), 0),
      words_(bits_in(kind) / 64, 0) {}

std::uint32_t PresenceFilter::host_bit(const IpPrefix &host) {
  if (host.family == Family::V4) {
    __u32 addr;
    std::memcpy(&addr, host.addr.data(), sizeof(addr));
    return xdpgate_host_filter_bit_v4(addr);
  }
  __u64 low, high;
  std::memcpy(&low, host.addr.data(), sizeof(low));
  std::memcpy(&high, host.addr.data() + 8, sizeof(high));
  return xdpgate_host_filter_bit_v6(low, high);
}

PresenceFilter::Bits PresenceFilter::bits_of(const IpPrefix &entry) const {
  if (kind_ == Kind::Hosts)
    return entry.is_single_address() ? Bits{host_bit(entry), 1} : Bits{};
  const std::uint32_t first =
      xdpgate_block_filter_bit(entry.addr.data(), entry.family == Family::V6);
  // A prefix longer than the block length lies in one block; a shorter one
  // spans whole blocks, from the first of its own.
  if (entry.length >= XDPGATE_BLOCK_FILTER_PREFIX)
    return {first, 1};
  const std::uint32_t count = std::uint32_t{1}
                              << (XDPGATE_BLOCK_FILTER_PREFIX - entry.length);
  return {first & ~(count - 1), count};
}

Status PresenceFilter::write_words(const std::vector<std::uint32_t> &changed) {
  // Each changed word once: a mark per word of the filter (32k at most),
  // where sorting the changes took 40 ms for a million ranges.
  std::vector<bool> is_changed(words_.size());
  for (std::uint32_t w : changed)
    is_changed[w] = true;
  std::vector<std::uint32_t> words;
  std::vector<std::uint64_t> values;
  for (std::uint32_t w = 0; w < words_.size(); ++w)
    if (is_changed[w]) {
      words.push_back(w);
      values.push_back(words_[w]);
    }
  if (words.empty())
    return {};
  auto count = static_cast<std::uint32_t>(words.size());
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch(fd_, words.data(), values.data(), &count, &opts) !=
      0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        kind_ == Kind::Hosts
                            ? "writing the host presence filter failed"
                            : "writing the block filter failed");
  return {};
}

Status PresenceFilter::reset(const std::vector<IpPrefix> &entries) {
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(words_.begin(), words_.end(), 0);
  (void)add_counts(entries);
  std::vector<std::uint32_t> every(words_.size());
  for (std::uint32_t w = 0; w < every.size(); ++w)
    every[w] = w;
  return write_words(every);
}

std::vector<std::uint32_t>
PresenceFilter::add_counts(const std::vector<IpPrefix> &entries) {
  std::vector<std::uint32_t> changed;
  for (const IpPrefix &entry : entries) {
    Bits b = bits_of(entry);
    for (std::uint32_t bit = b.first; bit < b.first + b.count; ++bit) {
      std::uint16_t &n = counts_[bit];
      if (n == kStuck)
        continue;
      if (n++ != 0)
        continue;
      words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
      changed.push_back(bit / 64);
    }
  }
  return changed;
}

Status PresenceFilter::add(const std::vector<IpPrefix> &entries) {
  return write_words(add_counts(entries));
}

Status PresenceFilter::remove(const std::vector<IpPrefix> &entries) {
  std::vector<std::uint32_t> changed;
  for (const IpPrefix &entry : entries) {
    Bits b = bits_of(entry);
    for (std::uint32_t bit = b.first; bit < b.first + b.count; ++bit) {
      std::uint16_t &n = counts_[bit];
      if (n == 0 || n == kStuck || --n != 0)
        continue;
      words_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
      changed.push_back(bit / 64);
    }
  }
  return write_words(changed);
}

} // namespace xdpgate
