// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/data_path.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstring>
#include <unistd.h>

#include "common/fd.hpp"
#include "datapath/allow_list_tables.hpp"
#include "datapath/entry_map.hpp"
#include "datapath/lpm_key.hpp"
#include "datapath/map_pin.hpp"
#include "xdpgate.skel.h"

namespace xdpgate {

namespace {

void set_ports(__u64 *bitmap, const std::set<std::uint16_t> &ports) {
  for (std::uint16_t port : ports)
    bitmap[port / 64] |= __u64{1} << (port % 64);
}

Error load_error(const std::string &what, int err) {
  return system_error(ErrorCode::BpfLoadFailed,
                      what + " (xdpgate needs root or CAP_BPF+CAP_NET_ADMIN, "
                             "a kernel with BTF, and bpffs at /sys/fs/bpf)",
                      err);
}

// The kernel stores the exempt tries' value as an (unused) slot.
Status sync_exempt_family(int fd, Family family,
                          const std::set<IpPrefix> &current,
                          const std::set<IpPrefix> &desired) {
  for (const IpPrefix &p : current) {
    if (p.family != family || desired.count(p))
      continue;
    LpmKey key = lpm_key(p);
    if (bpf_map_delete_elem(fd, key.bytes.data()) != 0 && errno != ENOENT)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "removing exempt source " + p.to_string());
  }
  for (const IpPrefix &p : desired) {
    if (p.family != family)
      continue;
    LpmKey key = lpm_key(p);
    xdpgate_allow_value unused{0};
    if (bpf_map_update_elem(fd, key.bytes.data(), &unused, BPF_ANY) != 0)
      return system_error(ErrorCode::KernelUpdateFailed,
                          "adding exempt source " + p.to_string());
  }
  return {};
}

// The table in the slot of a pinned outer array-of-maps, and what the kernel
// says of it (an invalid Fd: no such pin, or an empty slot).
struct PinnedInner {
  Fd map;
  bpf_map_info info{};
};
PinnedInner pinned_inner(const std::filesystem::path &pin) {
  auto read_info = [](const Fd &map, bpf_map_info &info) {
    std::uint32_t length = sizeof(info);
    return map.valid() &&
           bpf_obj_get_info_by_fd(map.get(), &info, &length) == 0;
  };
  PinnedInner inner;
  Fd outer(bpf_obj_get(pin.c_str()));
  bpf_map_info outer_info{};
  std::uint32_t id = 0;
  if (!read_info(outer, outer_info) ||
      outer_info.type != BPF_MAP_TYPE_ARRAY_OF_MAPS ||
      bpf_map_lookup_elem(outer.get(), &kOuterSlot, &id) != 0)
    return inner;
  inner.map = Fd(bpf_map_get_fd_by_id(id));
  if (!read_info(inner.map, inner.info))
    inner.map = Fd();
  return inner;
}

Status unpin(const std::filesystem::path &pin, const char *what) {
  if (::unlink(pin.c_str()) != 0)
    return system_error(ErrorCode::BpfLoadFailed, "removing the pin " +
                                                      pin.string() + " of " +
                                                      what + " failed");
  return {};
}

// An xdpgate before the records pinned allow_v4 and allow_v6 with an LPM
// trie in each. Such an outer map cannot take a record, so its pin goes; the
// trie, held by the returned fd, is read into the new record (an invalid Fd:
// no such pin).
Result<Fd> take_legacy_trie(const std::filesystem::path &pin) {
  PinnedInner inner = pinned_inner(pin);
  if (!inner.map.valid() || inner.info.type != BPF_MAP_TYPE_LPM_TRIE)
    return Fd();
  if (Status s = unpin(pin, "an older xdpgate's trie"); !s)
    return s.error();
  return std::move(inner.map);
}

// An xdpgate before preallocated host tables pinned allow_v4_hosts and
// allow_v6_hosts for tables of elements allocated one by one, which such an
// outer map cannot take: its pin goes. Nothing is lost: host tables are made
// from the records.
Status drop_legacy_host_table(const std::filesystem::path &pin) {
  PinnedInner inner = pinned_inner(pin);
  if (!inner.map.valid() || !(inner.info.map_flags & BPF_F_NO_PREALLOC))
    return {};
  return unpin(pin, "an older xdpgate's host table");
}

} // namespace

DataPath::DataPath(Skeleton skel, AllowListMaps allow)
    : skel_(std::move(skel)), allow_(std::move(allow)) {}
DataPath::DataPath(DataPath &&) noexcept = default;
DataPath &DataPath::operator=(DataPath &&) noexcept = default;
DataPath::~DataPath() = default;

Result<DataPath> DataPath::load(const DataPathOptions &options) {
  Skeleton skel(xdpgate_bpf__open());
  if (!skel)
    return load_error("opening the BPF object failed", errno);
  auto &maps = skel->maps;
  // The outer maps' inner templates, ours: libbpf 1.1 crashes resizing its
  // own. Only the records' sizes would have to match, and their
  // BPF_F_INNER_MAP lifts that; the smallest of each, so that a start does
  // not allocate a hash's buckets for the whole capacity only to free them.
  using Create = Result<Fd> (*)(Family, std::uint32_t);
  struct Outer {
    bpf_map *map;
    Family family;
    Create create;
  };
  std::vector<Fd> templates;
  for (const Outer &outer :
       {Outer{maps.allow_v4, Family::V4, create_record_map},
        Outer{maps.allow_v6, Family::V6, create_record_map},
        Outer{maps.allow_v4_hosts, Family::V4, create_host_table},
        Outer{maps.allow_v6_hosts, Family::V6, create_host_table}}) {
    Result<Fd> inner = outer.create(outer.family, 1);
    if (!inner)
      return inner.error();
    bpf_map__set_inner_map_fd(outer.map, inner->get());
    templates.push_back(std::move(inner.value()));
  }
  // The lookup tables' templates: BPF_F_INNER_MAP lets each table differ in
  // size.
  for (auto [outer, family] : {std::pair{maps.allow_v4_table, Family::V4},
                               std::pair{maps.allow_v6_table, Family::V6}}) {
    Result<Fd> table_template = create_table_map(family, 1);
    if (!table_template)
      return table_template.error();
    bpf_map__set_inner_map_fd(outer, table_template->get());
    templates.push_back(std::move(table_template.value()));
  }
  bpf_map__set_max_entries(maps.entry_stats, 2 * options.capacity);
  bpf_map__set_max_entries(maps.exempt_v4, options.exempt_capacity);
  bpf_map__set_max_entries(maps.exempt_v6, options.exempt_capacity);

  Fd legacy_tries[2];
  if (options.pin_dir) {
    for (int i = 0; i < 2; ++i) {
      Result<Fd> legacy = take_legacy_trie(*options.pin_dir /
                                           (i == 0 ? "allow_v4" : "allow_v6"));
      if (!legacy)
        return legacy.error();
      legacy_tries[i] = std::move(legacy.value());
      if (Status s = drop_legacy_host_table(
              *options.pin_dir /
              (i == 0 ? "allow_v4_hosts" : "allow_v6_hosts"));
          !s)
        return s.error();
    }
    bpf_map *map;
    bpf_object__for_each_map(map, skel->obj) {
      if (Status s = pin_map_at(map, *options.pin_dir / bpf_map__name(map)); !s)
        return s.error();
    }
  }
  // The statistics array is new unless a fitting pin is re-used.
  bool stats_fresh = !options.pin_dir ||
                     !std::filesystem::exists(*options.pin_dir /
                                              bpf_map__name(maps.entry_stats));
  if (int err = xdpgate_bpf__load(skel.get()); err)
    return load_error("loading the XDP program failed", -err);

  Result<AllowListMaps> allow = AllowListMaps::open(
      {bpf_map__fd(maps.allow_v4), bpf_map__fd(maps.allow_v4_hosts),
       bpf_map__fd(maps.allow_v4_table), legacy_tries[0].get()},
      {bpf_map__fd(maps.allow_v6), bpf_map__fd(maps.allow_v6_hosts),
       bpf_map__fd(maps.allow_v6_table), legacy_tries[1].get()},
      EntryStats(bpf_map__fd(maps.entry_stats), 2 * options.capacity,
                 stats_fresh),
      bpf_map__fd(maps.host_filter), bpf_map__fd(maps.block_filter),
      options.capacity);
  if (!allow)
    return allow.error();
  return DataPath(std::move(skel), std::move(allow.value()));
}

int DataPath::program_fd() const {
  return bpf_program__fd(skel_->progs.xdpgate_xdp);
}

int DataPath::egress_program_fd() const {
  return bpf_program__fd(skel_->progs.xdpgate_tc_egress);
}

Status DataPath::sync(const DesiredState &desired) {
  return write(desired.config, desired.exempt_sources,
               [&] { return allow_.sync(desired.allow); });
}

Status DataPath::apply(const RuntimeConfig &config,
                       const std::vector<IpPrefix> &exempt_sources,
                       const AllowListChange &change) {
  return write(config, exempt_sources, [&] { return allow_.apply(change); });
}

Status DataPath::write(const RuntimeConfig &config,
                       const std::vector<IpPrefix> &exempt_sources,
                       const std::function<Status()> &write_allow_list) {
  if (Status s = sync_exempt(exempt_sources); !s)
    return s;
  if (Status s = write_allow_list(); !s)
    return s;
  bool has_v4 = false, has_v6 = false;
  for (const IpPrefix &p : exempt_sources)
    (p.family == Family::V4 ? has_v4 : has_v6) = true;
  return write_config(config, has_v4, has_v6);
}

Status DataPath::write_config(const RuntimeConfig &config, bool has_exempt_v4,
                              bool has_exempt_v6) {
  if (written_config_ == config &&
      written_has_exempt_ == std::pair{has_exempt_v4, has_exempt_v6})
    return {};
  xdpgate_config value{};
  value.has_exempt_v4 = has_exempt_v4;
  value.has_exempt_v6 = has_exempt_v6;
  value.mode = static_cast<std::uint8_t>(config.mode);
  value.scope_tcp = !config.protected_tcp_ports.empty();
  value.scope_udp = !config.protected_udp_ports.empty();
  value.denied_sample_shift = config.denied_sample_shift;
  value.track_replies = config.track_replies;
  value.follow_denied = config.follow_denied;
  set_ports(value.exempt_tcp, config.exempt_tcp_ports);
  set_ports(value.exempt_udp, config.exempt_udp_ports);
  set_ports(value.protected_tcp, config.protected_tcp_ports);
  set_ports(value.protected_udp, config.protected_udp_ports);
  std::uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.runtime_config), &zero,
                          &value, BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "writing the runtime configuration failed");
  written_config_ = config;
  written_has_exempt_ = {has_exempt_v4, has_exempt_v6};
  return {};
}

Status DataPath::sync_exempt(const std::vector<IpPrefix> &sources) {
  std::set<IpPrefix> desired(sources.begin(), sources.end());
  if (written_exempt_ == desired)
    return {};
  // Unknown contents (fresh process on pinned maps): clear by rewriting all.
  std::set<IpPrefix> current = written_exempt_.value_or(std::set<IpPrefix>{});
  if (!written_exempt_) {
    for (auto [map, family] : {std::pair{skel_->maps.exempt_v4, Family::V4},
                               std::pair{skel_->maps.exempt_v6, Family::V6}}) {
      int fd = bpf_map__fd(map);
      LpmKey key{}, next{};
      const void *prev = nullptr;
      while (bpf_map_get_next_key(fd, prev, next.bytes.data()) == 0) {
        key = next;
        prev = key.bytes.data();
        current.insert(prefix_from_lpm_key(family, key));
      }
    }
  }
  for (auto [map, family] : {std::pair{skel_->maps.exempt_v4, Family::V4},
                             std::pair{skel_->maps.exempt_v6, Family::V6}})
    if (Status s =
            sync_exempt_family(bpf_map__fd(map), family, current, desired);
        !s)
      return s;
  written_exempt_ = std::move(desired);
  return {};
}

Result<VerdictCounters> DataPath::verdict_counters() const {
  return read_verdict_counters(bpf_map__fd(skel_->maps.verdict_counters));
}

Status DataPath::reset_verdict_counters() {
  return xdpgate::reset_verdict_counters(
      bpf_map__fd(skel_->maps.verdict_counters));
}

int DataPath::denied_events_fd() const {
  return bpf_map__fd(skel_->maps.denied_events);
}

Status DataPath::set_follow_limit(std::uint32_t per_cpu) {
  std::vector<xdpgate_follow_window> windows(possible_cpus());
  for (xdpgate_follow_window &w : windows)
    w.limit = per_cpu;
  std::uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.follow_window), &zero,
                          windows.data(), BPF_ANY) != 0)
    return system_error(ErrorCode::KernelUpdateFailed,
                        "writing the follow budget failed");
  return {};
}

Result<std::uint64_t> DataPath::follow_ring_full() const {
  std::vector<xdpgate_follow_window> windows(possible_cpus());
  std::uint32_t zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.follow_window), &zero,
                          windows.data()) != 0)
    return system_error(ErrorCode::KernelReadFailed,
                        "reading the follow budget failed");
  std::uint64_t total = 0;
  for (const xdpgate_follow_window &w : windows)
    total += w.ring_full;
  return total;
}

Result<std::vector<DeniedSource>> DataPath::denied_sources() const {
  return read_denied_sources(bpf_map__fd(skel_->maps.denied_sources));
}

Result<InterfaceProgram> DataPath::load_interface_program(
    const std::optional<std::filesystem::path> &pin_dir) const {
  Skeleton skel(xdpgate_bpf__open());
  if (!skel)
    return load_error("opening the BPF object failed", errno);
  bpf_map *map;
  bpf_object__for_each_map(map, skel->obj) {
    std::string name = bpf_map__name(map);
    if (map == skel->maps.verdict_counters ||
        map == skel->maps.denied_sources || map == skel->maps.denied_budget) {
      if (!pin_dir)
        continue;
      if (Status s = pin_map_at(map, *pin_dir / name); !s)
        return s.error();
      continue;
    }
    const bpf_map *shared =
        bpf_object__find_map_by_name(skel_->obj, name.c_str());
    if (!shared)
      return load_error("map " + name + " is missing", ENOENT);
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(shared)); err)
      return load_error("sharing map " + name + " failed", -err);
  }
  if (int err = xdpgate_bpf__load(skel.get()); err)
    return load_error("loading the XDP program failed", -err);
  return InterfaceProgram(std::move(skel));
}

int InterfaceProgram::program_fd() const {
  return bpf_program__fd(skel_->progs.xdpgate_xdp);
}

int InterfaceProgram::egress_program_fd() const {
  return bpf_program__fd(skel_->progs.xdpgate_tc_egress);
}

Result<VerdictCounters> InterfaceProgram::verdict_counters() const {
  return read_verdict_counters(bpf_map__fd(skel_->maps.verdict_counters));
}

Result<std::vector<DeniedSource>> InterfaceProgram::denied_sources() const {
  return read_denied_sources(bpf_map__fd(skel_->maps.denied_sources));
}

} // namespace xdpgate
