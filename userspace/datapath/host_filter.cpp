// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/host_filter.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <cstring>

#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

constexpr std::uint32_t kBits = std::uint32_t{1}
                                << XDPGATE_HOST_FILTER_BITS_LOG2;

} // namespace

HostFilter::HostFilter(int fd)
    : fd_(fd), counts_(kBits, 0), words_(XDPGATE_HOST_FILTER_WORDS, 0) {}

std::uint32_t HostFilter::bit_of(const IpPrefix &host) {
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

Status HostFilter::write_words(const std::vector<std::uint32_t> &words) {
  if (words.empty())
    return {};
  std::vector<std::uint64_t> values;
  values.reserve(words.size());
  for (std::uint32_t w : words)
    values.push_back(words_[w]);
  auto count = static_cast<std::uint32_t>(words.size());
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_update_batch(fd_, words.data(), values.data(), &count, &opts) !=
      0)
    return system_error("kernel_update_failed",
                        "writing the host presence filter failed");
  return {};
}

Status HostFilter::reset(const std::vector<IpPrefix> &hosts) {
  std::fill(counts_.begin(), counts_.end(), 0);
  std::fill(words_.begin(), words_.end(), 0);
  for (const IpPrefix &host : hosts) {
    std::uint32_t bit = bit_of(host);
    ++counts_[bit];
    words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
  }
  std::vector<std::uint32_t> every(XDPGATE_HOST_FILTER_WORDS);
  for (std::uint32_t w = 0; w < every.size(); ++w)
    every[w] = w;
  return write_words(every);
}

Status HostFilter::add(const std::vector<IpPrefix> &hosts) {
  std::vector<std::uint32_t> changed;
  for (const IpPrefix &host : hosts) {
    std::uint32_t bit = bit_of(host);
    if (counts_[bit]++ != 0)
      continue;
    words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
    changed.push_back(bit / 64);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  return write_words(changed);
}

Status HostFilter::remove(const std::vector<IpPrefix> &hosts) {
  std::vector<std::uint32_t> changed;
  for (const IpPrefix &host : hosts) {
    std::uint32_t bit = bit_of(host);
    if (counts_[bit] == 0 || --counts_[bit] != 0)
      continue;
    words_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
    changed.push_back(bit / 64);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  return write_words(changed);
}

bool HostFilter::covers(const IpPrefix &host) const {
  std::uint32_t bit = bit_of(host);
  return (words_[bit / 64] >> (bit % 64)) & 1;
}

} // namespace xdpgate
