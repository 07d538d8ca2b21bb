// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Which entry slot each listed range of a family owns. Every write into the
// kernel looks ranges up here, a million at a start, so the ranges and their
// slots sit in one flat array (open addressing, linear probing): a node-based
// std::unordered_map spent a third of writing a million ranges on allocating
// its nodes and chasing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/huge_page_allocator.hpp"
#include "datapath/prefix_table.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

class SlotIndex {
public:
  SlotIndex() = default;
  // Holds `entries`, each range once.
  explicit SlotIndex(std::span<const PrefixSlot> entries);

  std::optional<std::uint32_t> find(const IpPrefix &range) const;
  // False, changing nothing, if `range` is listed already.
  bool insert(const IpPrefix &range, std::uint32_t slot);
  // False if `range` is not listed.
  bool erase(const IpPrefix &range);
  // Starts loading the bucket where `range` would be. A loop over many
  // ranges that asks for the one some steps ahead meets its buckets in the
  // cache: each is a cache miss in a table of a million (about 150 ns on our
  // VMs), and misses that wait on nothing overlap.
  void prefetch(const IpPrefix &range) const {
    if (!buckets_.empty())
      __builtin_prefetch(&buckets_[home_of(range)]);
  }
  // How far ahead such a loop asks.
  static constexpr std::size_t kPrefetchAhead = 16;
  // Room for `count` ranges without growing.
  void reserve(std::size_t count);
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Every listed range and its slot, in no particular order.
  class Iterator {
  public:
    Iterator(const PrefixSlot *at, const PrefixSlot *end) : at_(at), end_(end) {
      skip_free();
    }
    const PrefixSlot &operator*() const { return *at_; }
    Iterator &operator++() {
      ++at_;
      skip_free();
      return *this;
    }
    bool operator==(const Iterator &other) const { return at_ == other.at_; }

  private:
    void skip_free() {
      while (at_ != end_ && at_->slot == kFree)
        ++at_;
    }
    const PrefixSlot *at_;
    const PrefixSlot *end_;
  };
  Iterator begin() const {
    return {buckets_.data(), buckets_.data() + buckets_.size()};
  }
  Iterator end() const {
    const PrefixSlot *last = buckets_.data() + buckets_.size();
    return {last, last};
  }

private:
  static constexpr std::uint32_t kFree = UINT32_MAX; // no slot is this high
  std::size_t home_of(const IpPrefix &range) const;
  // The bucket that holds `range`, if it is listed.
  std::optional<std::size_t> bucket_of(const IpPrefix &range) const;
  std::size_t next(std::size_t bucket) const {
    return (bucket + 1) & (buckets_.size() - 1);
  }
  void grow_to(std::size_t buckets);

  ListVector<PrefixSlot> buckets_; // a power of two, at most half full
  std::size_t size_ = 0;
};

} // namespace xdpgate
