// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/allow_list_maps.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>
#include <unordered_set>

#include "datapath/skeleton.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

namespace {

constexpr std::uint32_t kOuterSlot = 0;

Status swap_in(int outer_fd, int inner_fd) {
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &inner_fd, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "swapping in the new allow-list table failed");
  return {};
}

// `done`, if given, gets how many rows the kernel took, even on failure.
Status batch_update(int fd, const void *keys, const void *values,
                    std::uint32_t count, const char *what,
                    std::uint32_t *done = nullptr) {
  std::uint32_t taken = count;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err =
      count == 0 ? 0 : bpf_map_update_batch(fd, keys, values, &taken, &opts);
  if (done)
    *done = taken;
  if (err != 0)
    return system_error(ErrorCode::KernelUpdateFailed, what);
  return {};
}

// Rows for one family's trie and host table, in the kernel's layouts.
struct TableRows {
  explicit TableRows(Family family)
      : key_size(lpm_key_size(family)), host_size(host_key_size(family)) {}

  void add(const IpPrefix &range, std::uint32_t slot) {
    LpmKey key = lpm_key(range);
    keys.insert(keys.end(), key.bytes.begin(), key.bytes.begin() + key_size);
    values.push_back({slot});
    if (range.is_single_address())
      add_host(range, slot);
  }

  void add_host(const IpPrefix &address, std::uint32_t slot) {
    host_keys.insert(host_keys.end(), address.addr.begin(),
                     address.addr.begin() + host_size);
    host_values.push_back({slot});
  }

  std::size_t key_size, host_size;
  std::vector<std::uint8_t> keys;
  std::vector<xdpgate_allow_value> values;
  std::vector<std::uint8_t> host_keys;
  std::vector<xdpgate_allow_value> host_values;
};

// Host tables are sized to what they hold (twice over, 1024 at least), not
// to the capacity: a lookup reads one bucket, and in a table of a million
// buckets that read is a cache miss for every new source address.
std::uint32_t host_table_size(std::size_t hosts, std::uint32_t capacity) {
  std::uint64_t size = 1024;
  while (size < 2 * static_cast<std::uint64_t>(hosts))
    size *= 2;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, capacity));
}

Result<std::uint32_t> max_entries(int fd) {
  bpf_map_info info{};
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading an allow-list table's size failed");
  return info.max_entries;
}

} // namespace

AllowListMaps::AllowListMaps(int stats_fd, int host_filter_fd,
                             int block_filter_fd, std::uint32_t capacity)
    : stats_(stats_fd), capacity_(capacity),
      host_filter_(PresenceFilter::Kind::Hosts, host_filter_fd),
      block_filter_(PresenceFilter::Kind::Blocks, block_filter_fd) {}

Result<AllowListMaps> AllowListMaps::open(AllowOuterMaps v4, AllowOuterMaps v6,
                                          int stats_fd, int host_filter_fd,
                                          int block_filter_fd,
                                          std::uint32_t capacity) {
  AllowListMaps maps(stats_fd, host_filter_fd, block_filter_fd, capacity);
  maps.v4_.outer = v4;
  maps.v6_.outer = v6;
  for (Trie *trie : {&maps.v4_, &maps.v6_})
    if (Status s = maps.adopt(*trie); !s)
      return s.error();

  std::vector<bool> used(2 * static_cast<std::size_t>(capacity));
  std::vector<IpPrefix> listed;
  listed.reserve(maps.v4_.slots.size() + maps.v6_.slots.size());
  for (const Trie *trie : {&maps.v4_, &maps.v6_})
    for (const auto &[prefix, slot] : trie->slots) {
      if (slot < used.size())
        used[slot] = true;
      listed.push_back(prefix);
    }
  // Whatever bits a previous process left, they now follow the tries (which
  // the program reads already, with the previous process's bits set).
  for (PresenceFilter *filter : {&maps.host_filter_, &maps.block_filter_})
    if (Status s = filter->reset(listed); !s)
      return s.error();
  for (std::uint32_t slot = 0; slot < 2 * capacity; ++slot)
    if (!used[slot])
      maps.free_slots_.push_back(slot);
  return maps;
}

Result<Fd> create_lpm_trie(Family family, std::uint32_t capacity) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
  const char *name = family == Family::V4 ? "xdpgate_allow4" : "xdpgate_allow6";
  int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, name, lpm_key_size(family),
                          sizeof(xdpgate_allow_value), capacity, &opts);
  if (fd < 0)
    return system_error(ErrorCode::KernelUpdateFailed,
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
    return system_error(ErrorCode::KernelUpdateFailed,
                        "creating an allow-list host table failed");
  return Fd(fd);
}

// The table an outer slot holds, or a new empty one put there.
Result<Fd> AllowListMaps::adopt_table(int outer_fd,
                                      Result<Fd> (*create)(Family,
                                                           std::uint32_t),
                                      Family family, std::uint32_t size) {
  std::uint32_t inner_id = 0;
  if (bpf_map_lookup_elem(outer_fd, &kOuterSlot, &inner_id) == 0) {
    int fd = bpf_map_get_fd_by_id(inner_id);
    if (fd < 0)
      return system_error(ErrorCode::KernelReadFailed,
                          "opening a pinned allow-list table failed");
    return Fd(fd);
  }
  Result<Fd> fresh = create(family, size);
  if (!fresh)
    return fresh;
  int fd = fresh->get();
  if (bpf_map_update_elem(outer_fd, &kOuterSlot, &fd, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "installing an allow-list table failed");
  return fresh;
}

Status AllowListMaps::adopt(Trie &trie) {
  Result<Fd> inner =
      adopt_table(trie.outer.trie, create_lpm_trie, trie.family, capacity_);
  if (!inner)
    return inner.error();
  Result<Fd> hosts = adopt_table(trie.outer.hosts, create_host_table,
                                 trie.family, host_table_size(0, capacity_));
  if (!hosts)
    return hosts.error();
  Result<std::uint32_t> host_capacity = max_entries(hosts->get());
  if (!host_capacity)
    return host_capacity.error();
  trie.inner = std::move(inner.value());
  trie.hosts = std::move(hosts.value());
  trie.host_capacity = *host_capacity;
  // The trie holds every entry: it alone tells which slot each one owns.
  if (Status s = read_slots(trie); !s)
    return s;
  // A table from an older xdpgate may be too small for what it now holds.
  if (trie.host_count > trie.host_capacity)
    return grow_host_table(trie);
  return {};
}

// Reads the trie's entries in batches (a system call per few thousand: a
// million-entry trie is read in a fraction of a second, not seconds), or one
// by one where the kernel has no batches for tries.
Status AllowListMaps::read_slots(Trie &trie) {
  constexpr std::uint32_t kBatch = 4096;
  const std::size_t key_size = lpm_key_size(trie.family);
  std::vector<std::uint8_t> keys(kBatch * key_size);
  std::vector<xdpgate_allow_value> values(kBatch);
  LpmKey in{}, out{};
  for (bool first = true;; first = false) {
    std::uint32_t got = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(
        trie.inner.get(), first ? nullptr : in.bytes.data(), out.bytes.data(),
        keys.data(), values.data(), &got, &opts);
    if (err != 0 && first &&
        (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP))
      return read_slots_one_by_one(trie);
    // ENOENT marks the last batch, which may still carry entries.
    if (err != 0 && errno != ENOENT)
      return system_error(ErrorCode::KernelReadFailed,
                          "reading a pinned allow-list trie failed");
    for (std::uint32_t k = 0; k < got; ++k) {
      LpmKey key{};
      std::copy_n(keys.begin() + static_cast<std::ptrdiff_t>(k * key_size),
                  key_size, key.bytes.begin());
      record(trie, key, values[k]);
    }
    if (err != 0 || got == 0)
      return {};
    in = out;
  }
}

Status AllowListMaps::read_slots_one_by_one(Trie &trie) {
  LpmKey key{}, next{};
  const void *prev = nullptr;
  while (bpf_map_get_next_key(trie.inner.get(), prev, next.bytes.data()) == 0) {
    key = next;
    prev = key.bytes.data();
    xdpgate_allow_value value{};
    if (bpf_map_lookup_elem(trie.inner.get(), key.bytes.data(), &value) == 0)
      record(trie, key, value);
  }
  return {};
}

void AllowListMaps::record(Trie &trie, const LpmKey &key,
                           const xdpgate_allow_value &value) {
  IpPrefix range = prefix_from_lpm_key(trie.family, key);
  trie.host_count += range.is_single_address();
  trie.slots.emplace(range, value.slot);
}

AllowListChange
AllowListMaps::change_to(const std::vector<IpPrefix> &desired) const {
  // Marks the slots of the listed ranges that stay: the others leave. (A
  // bit per slot, not a set of a million ranges: a start on a 1M list
  // finds nothing to change in a fraction of the time.)
  std::vector<bool> kept(2 * static_cast<std::size_t>(capacity_));
  AllowListChange change;
  change.atomic = true;
  for (const IpPrefix &p : desired) {
    const auto &slots = (p.family == Family::V4 ? v4_ : v6_).slots;
    if (auto owned = slots.find(p); owned != slots.end()) {
      if (owned->second >= kept.size()) // left by a larger capacity
        kept.resize(owned->second + 1);
      kept[owned->second] = true;
    } else
      change.added.push_back(p); // plan() drops repeats
  }
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[prefix, slot] : trie->slots)
      if (slot >= kept.size() || !kept[slot])
        change.removed.push_back(prefix);
  return change;
}

Status AllowListMaps::sync(const std::vector<IpPrefix> &desired) {
  return apply(change_to(desired));
}

Result<AllowListMaps::Plan>
AllowListMaps::plan(const AllowListChange &change) const {
  // Per family, each range once, and only what changes the kernel.
  Plan plan;
  auto part_of = [&](const IpPrefix &p) -> Plan::Part & {
    return plan.parts[p.family == Family::V4 ? 0 : 1];
  };
  auto trie_of = [&](const IpPrefix &p) -> const Trie & {
    return p.family == Family::V4 ? v4_ : v6_;
  };
  std::unordered_set<IpPrefix> leaving(change.removed.begin(),
                                       change.removed.end());
  for (const IpPrefix &p : change.added) {
    leaving.erase(p); // it leaves and enters again: it stays
    if (!trie_of(p).slots.count(p))
      part_of(p).added.push_back(p);
  }
  for (const IpPrefix &p : leaving)
    if (trie_of(p).slots.count(p))
      part_of(p).removed.push_back(p);
  const Trie *tries[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i) {
    Plan::Part &part = plan.parts[i];
    std::sort(part.added.begin(), part.added.end());
    part.added.erase(std::unique(part.added.begin(), part.added.end()),
                     part.added.end());
    std::size_t after =
        tries[i]->slots.size() + part.added.size() - part.removed.size();
    if (after > capacity_)
      return Error{ErrorCode::CapacityExceeded,
                   "the allow list would hold " + std::to_string(after) +
                       (i == 0 ? " IPv4" : " IPv6") +
                       " ranges, more than the capacity of " +
                       std::to_string(capacity_) +
                       "; raise `capacity` in the configuration"};
  }
  return plan;
}

Status AllowListMaps::admits(const AllowListChange &change) const {
  Result<Plan> planned = plan(change);
  if (!planned)
    return planned.error();
  return {};
}

Status AllowListMaps::apply(const AllowListChange &change) {
  Result<Plan> planned = plan(change);
  if (!planned)
    return planned.error();
  Trie *tries[] = {&v4_, &v6_};
  for (int i = 0; i < 2; ++i)
    if (Status s = apply_to(*tries[i], planned->parts[i].added,
                            planned->parts[i].removed, change.atomic);
        !s)
      return s;
  return {};
}

Status AllowListMaps::apply_to(Trie &trie, const std::vector<IpPrefix> &added,
                               const std::vector<IpPrefix> &removed,
                               bool atomic) {
  if (atomic && added.size() + removed.size() > 1)
    return rebuild(trie, added, removed);
  // Removals first: they free the slots the additions may need.
  if (Status s = remove_in_place(trie, removed); !s)
    return s;
  return add_in_place(trie, added);
}

Result<std::vector<std::uint32_t>>
AllowListMaps::take_slots(std::size_t count) {
  if (free_slots_.size() < count)
    return Error{ErrorCode::CapacityExceeded,
                 "no free entry slot is left; raise "
                 "`capacity` in the configuration"};
  std::vector<std::uint32_t> taken(free_slots_.begin(),
                                   free_slots_.begin() + count);
  free_slots_.erase(free_slots_.begin(), free_slots_.begin() + count);
  return taken;
}

void AllowListMaps::give_back(const std::vector<std::uint32_t> &slots) {
  free_slots_.insert(free_slots_.begin(), slots.begin(), slots.end());
}

Status AllowListMaps::remove_in_place(Trie &trie,
                                      const std::vector<IpPrefix> &removed) {
  // Filter bits clear only after their entries have left the tables.
  std::vector<IpPrefix> gone;
  Status s = remove_each(trie, removed, gone);
  Status hosts_cleared = host_filter_.remove(gone);
  Status blocks_cleared = block_filter_.remove(gone);
  if (!s)
    return s;
  return hosts_cleared ? blocks_cleared : hosts_cleared;
}

Status AllowListMaps::remove_each(Trie &trie,
                                  const std::vector<IpPrefix> &removed,
                                  std::vector<IpPrefix> &gone) {
  for (const IpPrefix &leaving : removed) {
    // The host table first: until the trie loses the range too, it still
    // allows the address, as the list did before the change.
    if (leaving.is_single_address() &&
        bpf_map_delete_elem(trie.hosts.get(), leaving.addr.data()) != 0 &&
        errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing " + leaving.to_string() +
                              " from the kernel host table failed");
    LpmKey key = lpm_key(leaving);
    if (bpf_map_delete_elem(trie.inner.get(), key.bytes.data()) != 0 &&
        errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing " + leaving.to_string() +
                              " from the kernel allow list failed");
    auto owned = trie.slots.find(leaving);
    free_slots_.push_back(owned->second);
    trie.slots.erase(owned);
    trie.host_count -= leaving.is_single_address();
    gone.push_back(leaving);
  }
  return {};
}

Status AllowListMaps::add_in_place(Trie &trie,
                                   const std::vector<IpPrefix> &added) {
  if (added.empty())
    return {};
  Result<std::vector<std::uint32_t>> slots = take_slots(added.size());
  if (!slots)
    return slots.error();
  if (Status s = stats_.clear(*slots); !s) {
    give_back(*slots);
    return s;
  }
  // Filter bits are set before their entries enter the tables.
  auto unfiltered = [&](Status s, std::size_t from) {
    std::vector<IpPrefix> left(added.begin() + from, added.end());
    (void)host_filter_.remove(left);
    (void)block_filter_.remove(left);
    return s;
  };
  if (Status s = host_filter_.add(added); !s) {
    give_back(*slots);
    (void)host_filter_.remove(added);
    return s;
  }
  if (Status s = block_filter_.add(added); !s) {
    give_back(*slots);
    return unfiltered(s, 0);
  }
  TableRows rows(trie.family);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*slots)[i]);
  // The trie first: until the host table has an address, the trie already
  // allows it. `slots` records exactly what the kernel took, even on failure.
  std::uint32_t done = 0;
  Status filled =
      batch_update(trie.inner.get(), rows.keys.data(), rows.values.data(),
                   static_cast<std::uint32_t>(added.size()),
                   "adding ranges to the kernel allow list failed", &done);
  for (std::uint32_t i = 0; i < done; ++i) {
    trie.slots.emplace(added[i], (*slots)[i]);
    trie.host_count += added[i].is_single_address();
  }
  if (!filled) {
    give_back({slots->begin() + done, slots->end()});
    return unfiltered(filled, done);
  }
  if (trie.host_count > trie.host_capacity)
    return grow_host_table(trie);
  return batch_update(trie.hosts.get(), rows.host_keys.data(),
                      rows.host_values.data(),
                      static_cast<std::uint32_t>(rows.host_values.size()),
                      "adding addresses to the kernel host table failed");
}

// A bigger table with every full-length entry, swapped in: until then the
// trie already allows the addresses the old table has no room for.
Status AllowListMaps::grow_host_table(Trie &trie) {
  std::uint32_t size = host_table_size(trie.host_count, capacity_);
  Result<Fd> fresh = create_host_table(trie.family, size);
  if (!fresh)
    return fresh.error();
  TableRows rows(trie.family);
  for (const auto &[prefix, slot] : trie.slots)
    if (prefix.is_single_address())
      rows.add_host(prefix, slot);
  if (Status s = batch_update(
          fresh->get(), rows.host_keys.data(), rows.host_values.data(),
          static_cast<std::uint32_t>(rows.host_values.size()),
          "filling a larger allow-list host table failed");
      !s)
    return s;
  if (Status s = swap_in(trie.outer.hosts, fresh->get()); !s)
    return s;
  trie.hosts = std::move(fresh.value());
  trie.host_capacity = size;
  return {};
}

Status AllowListMaps::rebuild(Trie &trie, const std::vector<IpPrefix> &added,
                              const std::vector<IpPrefix> &removed) {
  Result<Fd> fresh = create_lpm_trie(trie.family, capacity_);
  if (!fresh)
    return fresh.error();
  Result<std::vector<std::uint32_t>> new_slots = take_slots(added.size());
  if (!new_slots)
    return new_slots.error();
  auto failed = [&](Status s) {
    give_back(*new_slots);
    return s;
  };

  // Entries that stay keep their slot, and with it their counters.
  std::unordered_set<IpPrefix> leaving(removed.begin(), removed.end());
  TableRows rows(trie.family);
  for (const auto &[prefix, slot] : trie.slots)
    if (!leaving.count(prefix))
      rows.add(prefix, slot);
  for (std::size_t i = 0; i < added.size(); ++i)
    rows.add(added[i], (*new_slots)[i]);
  std::uint32_t host_capacity =
      host_table_size(rows.host_values.size(), capacity_);
  Result<Fd> fresh_hosts = create_host_table(trie.family, host_capacity);
  if (!fresh_hosts)
    return failed(fresh_hosts.error());

  Status filled = stats_.clear(*new_slots);
  if (filled)
    filled = batch_update(fresh->get(), rows.keys.data(), rows.values.data(),
                          static_cast<std::uint32_t>(rows.values.size()),
                          "filling the new allow-list trie failed");
  if (filled)
    filled = batch_update(fresh_hosts->get(), rows.host_keys.data(),
                          rows.host_values.data(),
                          static_cast<std::uint32_t>(rows.host_values.size()),
                          "filling the new allow-list host table failed");
  if (!filled)
    return failed(filled);
  // The filters cover both lists across the swaps: the new entries' bits are
  // set first, the bits only leaving entries held are trimmed after.
  auto unfiltered = [&](Status s) {
    (void)host_filter_.remove(added);
    (void)block_filter_.remove(added);
    return failed(s);
  };
  if (Status s = host_filter_.add(added); !s) {
    (void)host_filter_.remove(added);
    return failed(s);
  }
  if (Status s = block_filter_.add(added); !s)
    return unfiltered(s);
  if (Status s = swap_in(trie.outer.trie, fresh->get()); !s)
    return unfiltered(s);
  if (Status s = swap_in(trie.outer.hosts, fresh_hosts->get()); !s) {
    // Never leave a host table that disagrees with the trie.
    (void)swap_in(trie.outer.trie, trie.inner.get());
    return unfiltered(s);
  }

  for (const IpPrefix &gone : removed) {
    auto owned = trie.slots.find(gone);
    free_slots_.push_back(owned->second);
    trie.slots.erase(owned);
  }
  for (std::size_t i = 0; i < added.size(); ++i)
    trie.slots.emplace(added[i], (*new_slots)[i]);
  trie.inner = std::move(fresh.value());
  trie.hosts = std::move(fresh_hosts.value());
  trie.host_capacity = host_capacity;
  trie.host_count = rows.host_values.size();
  Status hosts_cleared = host_filter_.remove(removed);
  Status blocks_cleared = block_filter_.remove(removed);
  return hosts_cleared ? blocks_cleared : hosts_cleared;
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
    IpPrefix candidate = probe.widened_to(static_cast<std::uint8_t>(len));
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
  return stats_.read(it->second);
}

Result<std::vector<std::pair<IpPrefix, EntryHits>>>
AllowListMaps::all_hits() const {
  auto per_slot = stats_.read_all(2 * capacity_);
  if (!per_slot)
    return per_slot.error();
  std::vector<std::pair<IpPrefix, EntryHits>> out;
  for (const Trie *trie : {&v4_, &v6_})
    for (const auto &[range, slot] : trie->slots)
      if ((*per_slot)[slot].packets > 0)
        out.emplace_back(range, (*per_slot)[slot]);
  return out;
}

} // namespace xdpgate
