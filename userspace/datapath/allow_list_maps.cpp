// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>
#include <unordered_set>

#include "datapath/lpm_key.hpp"
#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

constexpr std::uint32_t kOuterSlot = 0;

Status batch_update(int fd, const void *keys, const void *values,
                    std::uint32_t count, const char *what) {
  if (count == 0)
    return {};
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  std::uint32_t done = count;
  if (bpf_map_update_batch(fd, keys, values, &done, &opts) != 0)
    return system_error("kernel_update_failed", what);
  return {};
}

} // namespace

AllowListMaps::AllowListMaps(int stats_fd, std::uint32_t capacity)
    : stats_fd_(stats_fd), capacity_(capacity) {}

Result<AllowListMaps> AllowListMaps::open(int outer_v4_fd, int outer_v6_fd,
                                          int stats_fd,
                                          std::uint32_t capacity) {
  AllowListMaps maps(stats_fd, capacity);
  maps.v4_.outer_fd = outer_v4_fd;
  maps.v6_.outer_fd = outer_v6_fd;
  for (Trie *trie : {&maps.v4_, &maps.v6_})
    if (Status s = maps.adopt(*trie); !s)
      return s.error();

  std::unordered_set<std::uint32_t> used;
  for (const Trie *trie : {&maps.v4_, &maps.v6_})
    for (const auto &[prefix, slot] : trie->slots)
      used.insert(slot);
  for (std::uint32_t slot = 0; slot < 2 * capacity; ++slot)
    if (!used.count(slot))
      maps.free_slots_.push_back(slot);
  return maps;
}

Result<Fd> create_lpm_trie(Family family, std::uint32_t capacity) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const char *name = family == Family::V4 ? "xdpgate_allow4" : "xdpgate_allow6";
  int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, lpm_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, &opts);
  if (fd < 0)
    return system_error("kernel_update_failed",
                        "creating an allow-list trie failed (is the memlock "
                        "limit or the kernel memory too small?)");
  return Fd(fd);
}

// Takes over the trie the outer slot holds, or puts a new empty one there.
Status AllowListMaps::adopt(Trie &trie) {
  std::uint32_t inner_id = 0;
  if (bpf_map_lookup_elem(trie.outer_fd, &kOuterSlot, &inner_id) == 0) {
    int fd = bpf_map_get_fd_by_id(inner_id);
    if (fd < 0)
      return system_error("kernel_read_failed",
                          "opening the pinned allow-list trie failed");
    trie.inner.reset(fd);
    LpmKey key{}, next{};
    const void *prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next.bytes.data()) == 0) {
      key = next;
      prev = key.bytes.data();
      xdpgate_allow_value value{};
      if (bpf_map_lookup_elem(fd, key.bytes.data(), &value) == 0)
        trie.slots.emplace(prefix_from_lpm_key(trie.family, key), value.slot);
    }
    return {};
  }
  Result<Fd> fresh = create_lpm_trie(trie.family, capacity_);
  if (!fresh)
    return fresh.error();
  int fd = fresh->get();
  if (bpf_map_update_elem(trie.outer_fd, &kOuterSlot, &fd, BPF_ANY) != 0)
    return system_error("kernel_update_failed",
                        "installing the allow-list trie failed");
  trie.inner = std::move(fresh.value());
  return {};
}

Status AllowListMaps::sync(const std::vector<IpPrefix> &desired) {
  std::vector<IpPrefix> want_v4, want_v6;
  for (const IpPrefix &p : desired)
    (p.family == Family::V4 ? want_v4 : want_v6).push_back(p);
  for (auto *want : {&want_v4, &want_v6}) {
    std::sort(want->begin(), want->end());
    want->erase(std::unique(want->begin(), want->end()), want->end());
    if (want->size() > capacity_)
      return Error{"capacity_exceeded",
                   "the allow list would hold " + std::to_string(want->size()) +
                       (want == &want_v4 ? " IPv4" : " IPv6") +
                       " ranges, more than the capacity of " +
                       std::to_string(capacity_) +
                       "; raise `capacity` in the configuration"};
  }
  if (Status s = sync_family(v4_, want_v4); !s)
    return s;
  return sync_family(v6_, want_v6);
}

Status AllowListMaps::sync_family(Trie &trie,
                                  const std::vector<IpPrefix> &desired) {
  std::vector<IpPrefix> added, removed;
  for (const IpPrefix &p : desired)
    if (!trie.slots.count(p))
      added.push_back(p);
  if (trie.slots.size() + added.size() != desired.size()) {
    std::unordered_set<IpPrefix> keep(desired.begin(), desired.end());
    for (const auto &[prefix, slot] : trie.slots)
      if (!keep.count(prefix))
        removed.push_back(prefix);
  }
  std::size_t changes = added.size() + removed.size();
  if (changes == 0)
    return {};
  if (changes == 1)
    return apply_in_place(trie, added, removed);
  return rebuild(trie, desired, removed);
}

Result<std::uint32_t> AllowListMaps::take_slot() {
  if (free_slots_.empty())
    return Error{"capacity_exceeded", "no free entry slot is left; raise "
                                      "`capacity` in the configuration"};
  std::uint32_t slot = free_slots_.front();
  free_slots_.pop_front();
  return slot;
}

Status AllowListMaps::clear_stats(const std::vector<std::uint32_t> &slots) {
  std::vector<xdpgate_entry_stats> zeros(slots.size() * possible_cpus());
  return batch_update(stats_fd_, slots.data(), zeros.data(),
                      static_cast<std::uint32_t>(slots.size()),
                      "clearing entry statistics failed");
}

Status AllowListMaps::apply_in_place(Trie &trie,
                                     const std::vector<IpPrefix> &added,
                                     const std::vector<IpPrefix> &removed) {
  if (!removed.empty()) {
    LpmKey key = lpm_key(removed.front());
    if (bpf_map_delete_elem(trie.inner.get(), key.bytes.data()) != 0)
      return system_error("kernel_update_failed",
                          "removing " + removed.front().to_string() +
                              " from the kernel allow list failed");
    free_slots_.push_back(trie.slots.at(removed.front()));
    trie.slots.erase(removed.front());
    return {};
  }
  Result<std::uint32_t> slot = take_slot();
  if (!slot)
    return slot.error();
  if (Status s = clear_stats({*slot}); !s) {
    free_slots_.push_front(*slot);
    return s;
  }
  LpmKey key = lpm_key(added.front());
  xdpgate_allow_value value{*slot};
  if (bpf_map_update_elem(trie.inner.get(), key.bytes.data(), &value,
                          BPF_NOEXIST) != 0) {
    free_slots_.push_front(*slot);
    return system_error("kernel_update_failed",
                        "adding " + added.front().to_string() +
                            " to the kernel allow list failed");
  }
  trie.slots.emplace(added.front(), *slot);
  return {};
}

Status AllowListMaps::rebuild(Trie &trie, const std::vector<IpPrefix> &desired,
                              const std::vector<IpPrefix> &removed) {
  Result<Fd> fresh = create_lpm_trie(trie.family, capacity_);
  if (!fresh)
    return fresh.error();

  // Entries that stay keep their slot, and with it their counters.
  std::unordered_map<IpPrefix, std::uint32_t> slots;
  slots.reserve(desired.size());
  std::vector<std::uint32_t> new_slots;
  auto give_back = [&] {
    for (auto it = new_slots.rbegin(); it != new_slots.rend(); ++it)
      free_slots_.push_front(*it);
  };
  std::size_t key_size = lpm_key_size(trie.family);
  std::vector<std::uint8_t> keys(desired.size() * key_size);
  std::vector<xdpgate_allow_value> values(desired.size());
  for (std::size_t i = 0; i < desired.size(); ++i) {
    auto kept = trie.slots.find(desired[i]);
    std::uint32_t slot;
    if (kept != trie.slots.end()) {
      slot = kept->second;
    } else {
      Result<std::uint32_t> taken = take_slot();
      if (!taken) {
        give_back();
        return taken.error();
      }
      slot = *taken;
      new_slots.push_back(slot);
    }
    slots.emplace(desired[i], slot);
    LpmKey key = lpm_key(desired[i]);
    std::memcpy(&keys[i * key_size], key.bytes.data(), key_size);
    values[i].slot = slot;
  }

  Status filled = clear_stats(new_slots);
  if (filled)
    filled = batch_update(fresh->get(), keys.data(), values.data(),
                          static_cast<std::uint32_t>(desired.size()),
                          "filling the new allow-list trie failed");
  int fd = fresh->get();
  if (filled &&
      bpf_map_update_elem(trie.outer_fd, &kOuterSlot, &fd, BPF_ANY) != 0)
    filled = system_error("kernel_update_failed",
                          "swapping in the new allow-list trie failed");
  if (!filled) {
    give_back();
    return filled;
  }

  for (const IpPrefix &gone : removed)
    free_slots_.push_back(trie.slots.at(gone));
  trie.inner = std::move(fresh.value());
  trie.slots = std::move(slots);
  return {};
}

std::vector<IpPrefix> AllowListMaps::prefixes() const {
  std::vector<IpPrefix> out;
  out.reserve(v4_.slots.size() + v6_.slots.size());
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[prefix, slot] : trie->slots)
      out.push_back(prefix);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<IpPrefix> AllowListMaps::lookup(const IpPrefix &address) const {
  const Trie &trie = address.family == Family::V4 ? v4_ : v6_;
  IpPrefix probe = address;
  probe.length = address.max_length();
  LpmKey key = lpm_key(probe);
  xdpgate_allow_value value{};
  if (bpf_map_lookup_elem(trie.inner.get(), key.bytes.data(), &value) != 0)
    return std::nullopt;
  // The kernel names the slot; find which of our prefixes owns it.
  for (int len = probe.max_length(); len >= 0; --len) {
    IpPrefix candidate = mask_prefix(probe, static_cast<std::uint8_t>(len));
    auto it = trie.slots.find(candidate);
    if (it != trie.slots.end() && it->second == value.slot)
      return candidate;
  }
  return std::nullopt;
}

std::optional<EntryHits> AllowListMaps::hits(const IpPrefix &range) const {
  const Trie &trie = range.family == Family::V4 ? v4_ : v6_;
  auto it = trie.slots.find(range);
  if (it == trie.slots.end())
    return std::nullopt;
  std::vector<xdpgate_entry_stats> per_cpu(possible_cpus());
  if (bpf_map_lookup_elem(stats_fd_, &it->second, per_cpu.data()) != 0)
    return std::nullopt;
  EntryHits hits;
  for (const xdpgate_entry_stats &s : per_cpu) {
    hits.packets += s.packets;
    hits.last_hit_ns = std::max<std::uint64_t>(hits.last_hit_ns, s.last_hit_ns);
  }
  return hits;
}

} // namespace xdpgate
