// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "datapath/lpm_key.hpp"
#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

constexpr std::uint32_t kOuterSlot = 0;

Status swap_in(int outer_fd, int inner_fd) {
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &inner_fd, BPF_ANY) != 0)
    return system_error("kernel_update_failed",
                        "swapping in the new allow-list table failed");
  return {};
}

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

Result<AllowListMaps> AllowListMaps::open(AllowOuterMaps v4, AllowOuterMaps v6,
                                          int stats_fd,
                                          std::uint32_t capacity) {
  AllowListMaps maps(stats_fd, capacity);
  maps.v4_.outer = v4;
  maps.v6_.outer = v6;
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

Result<Fd> create_host_table(Family family, std::uint32_t capacity) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const char *name = family == Family::V4 ? "xdpgate_hosts4" : "xdpgate_hosts6";
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, name, host_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, &opts);
  if (fd < 0)
    return system_error("kernel_update_failed",
                        "creating an allow-list host table failed");
  return Fd(fd);
}

// The table an outer slot holds, or a new empty one put there.
Result<Fd> AllowListMaps::adopt_table(
    int outer_fd, Result<Fd> (*create)(Family, std::uint32_t), Family family) {
  std::uint32_t inner_id = 0;
  if (bpf_map_lookup_elem(outer_fd, &kOuterSlot, &inner_id) == 0) {
    int fd = bpf_map_get_fd_by_id(inner_id);
    if (fd < 0)
      return system_error("kernel_read_failed",
                          "opening a pinned allow-list table failed");
    return Fd(fd);
  }
  Result<Fd> fresh = create(family, capacity_);
  if (!fresh)
    return fresh;
  int fd = fresh->get();
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &fd, BPF_ANY) != 0)
    return system_error("kernel_update_failed",
                        "installing an allow-list table failed");
  return fresh;
}

Status AllowListMaps::adopt(Trie &trie) {
  Result<Fd> inner = adopt_table(trie.outer.trie, create_lpm_trie, trie.family);
  if (!inner)
    return inner.error();
  Result<Fd> hosts =
      adopt_table(trie.outer.hosts, create_host_table, trie.family);
  if (!hosts)
    return hosts.error();
  trie.inner = std::move(inner.value());
  trie.hosts = std::move(hosts.value());
  // The trie holds every entry: it alone tells which slot each one owns.
  LpmKey key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(trie.inner.get(), prev, next.bytes.data()) == 0) {
    key = next;
    prev = key.bytes.data();
    xdpgate_allow_value value{};
    if (bpf_map_lookup_elem(trie.inner.get(), key.bytes.data(), &value) == 0)
      trie.slots.emplace(prefix_from_lpm_key(trie.family, key), value.slot);
  }
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
  // Host table and trie agree on every full-length entry; in between the two
  // updates a packet still gets the verdict of the list before or after.
  // A daemon killed in between leaves a host in the trie only; removing it
  // later must still work, so a host already gone from the table is fine.
  if (!removed.empty()) {
    const IpPrefix &gone = removed.front();
    if (gone.is_single_address() &&
        bpf_map_delete_elem(trie.hosts.get(), gone.addr.data()) != 0 &&
        errno != ENOENT)
      return system_error("kernel_update_failed",
                          "removing " + gone.to_string() +
                              " from the kernel host table failed");
    LpmKey key = lpm_key(gone);
    if (bpf_map_delete_elem(trie.inner.get(), key.bytes.data()) != 0)
      return system_error("kernel_update_failed",
                          "removing " + gone.to_string() +
                              " from the kernel allow list failed");
    free_slots_.push_back(trie.slots.at(gone));
    trie.slots.erase(gone);
    return {};
  }
  const IpPrefix &fresh = added.front();
  Result<std::uint32_t> slot = take_slot();
  if (!slot)
    return slot.error();
  auto give_back = [&](Status failed) {
    free_slots_.push_front(*slot);
    return failed;
  };
  if (Status s = clear_stats({*slot}); !s)
    return give_back(s);
  LpmKey key = lpm_key(fresh);
  xdpgate_allow_value value{*slot};
  if (bpf_map_update_elem(trie.inner.get(), key.bytes.data(), &value,
                          BPF_NOEXIST) != 0)
    return give_back(system_error("kernel_update_failed",
                                  "adding " + fresh.to_string() +
                                      " to the kernel allow list failed"));
  if (fresh.is_single_address() &&
      bpf_map_update_elem(trie.hosts.get(), fresh.addr.data(), &value,
                          BPF_NOEXIST) != 0) {
    Status failed = system_error("kernel_update_failed",
                                 "adding " + fresh.to_string() +
                                     " to the kernel host table failed");
    bpf_map_delete_elem(trie.inner.get(), key.bytes.data());
    return give_back(failed);
  }
  trie.slots.emplace(fresh, *slot);
  return {};
}

Status AllowListMaps::rebuild(Trie &trie, const std::vector<IpPrefix> &desired,
                              const std::vector<IpPrefix> &removed) {
  Result<Fd> fresh = create_lpm_trie(trie.family, capacity_);
  if (!fresh)
    return fresh.error();
  Result<Fd> fresh_hosts = create_host_table(trie.family, capacity_);
  if (!fresh_hosts)
    return fresh_hosts.error();

  // Entries that stay keep their slot, and with it their counters.
  std::unordered_map<IpPrefix, std::uint32_t> slots;
  slots.reserve(desired.size());
  std::vector<std::uint32_t> new_slots;
  auto give_back = [&](Status failed) {
    for (auto it = new_slots.rbegin(); it != new_slots.rend(); ++it)
      free_slots_.push_front(*it);
    return failed;
  };
  std::size_t key_size = lpm_key_size(trie.family);
  std::size_t host_size = host_key_size(trie.family);
  std::vector<std::uint8_t> keys(desired.size() * key_size);
  std::vector<xdpgate_allow_value> values(desired.size());
  std::vector<std::uint8_t> host_keys;
  std::vector<xdpgate_allow_value> host_values;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    auto kept = trie.slots.find(desired[i]);
    std::uint32_t slot;
    if (kept != trie.slots.end()) {
      slot = kept->second;
    } else {
      Result<std::uint32_t> taken = take_slot();
      if (!taken)
        return give_back(taken.error());
      slot = *taken;
      new_slots.push_back(slot);
    }
    slots.emplace(desired[i], slot);
    LpmKey key = lpm_key(desired[i]);
    std::memcpy(&keys[i * key_size], key.bytes.data(), key_size);
    values[i].slot = slot;
    if (desired[i].is_single_address()) {
      host_keys.insert(host_keys.end(), desired[i].addr.begin(),
                       desired[i].addr.begin() + host_size);
      host_values.push_back({slot});
    }
  }

  Status filled = clear_stats(new_slots);
  if (filled)
    filled = batch_update(fresh->get(), keys.data(), values.data(),
                          static_cast<std::uint32_t>(desired.size()),
                          "filling the new allow-list trie failed");
  if (filled)
    filled =
        batch_update(fresh_hosts->get(), host_keys.data(), host_values.data(),
                     static_cast<std::uint32_t>(host_values.size()),
                     "filling the new allow-list host table failed");
  if (!filled)
    return give_back(filled);
  if (Status s = swap_in(trie.outer.trie, fresh->get()); !s)
    return give_back(s);
  if (Status s = swap_in(trie.outer.hosts, fresh_hosts->get()); !s) {
    // Never leave a host table that disagrees with the trie.
    (void)swap_in(trie.outer.trie, trie.inner.get());
    return give_back(s);
  }

  for (const IpPrefix &gone : removed)
    free_slots_.push_back(trie.slots.at(gone));
  trie.inner = std::move(fresh.value());
  trie.hosts = std::move(fresh_hosts.value());
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
