// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The loaded XDP program and its maps. sync() and apply() are the only
// writers of the kernel: sync() takes the whole desired state (runtime
// configuration, exempt sources, allow list) and applies its difference from
// what the maps hold; apply() takes the allow list's change, so one added
// range costs one range's work on a list of millions. Not thread-safe:
// callers serialise.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "common/result.hpp"
#include "datapath/allow_list_maps.hpp"
#include "datapath/skeleton.hpp"
#include "model/mode.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

struct RuntimeConfig {
  Mode mode = Mode::Off;
  std::set<std::uint16_t> exempt_tcp_ports;
  std::set<std::uint16_t> exempt_udp_ports;
  std::set<std::uint16_t> protected_tcp_ports; // empty: every port protected
  std::set<std::uint16_t> protected_udp_ports;
  // The denied-source sample counts each source exactly up to
  // XDPGATE_DENIED_EXACT_PACKETS, then 1 packet in 2^shift (weighted), so a
  // flood does not pay an atomic add per packet; new sources past the insert
  // budget are sampled alike. 0: every packet counted.
  std::uint8_t denied_sample_shift = 6;
  bool track_replies = false;
  // Someone follows denied packets live: the program writes them to the
  // denied_events ring buffer, within the follow budget.
  bool follow_denied = false;

  bool operator==(const RuntimeConfig &) const = default;
};

struct DesiredState {
  RuntimeConfig config;
  std::vector<IpPrefix> exempt_sources;
  std::vector<IpPrefix> allow; // enabled entries only, any order
};

struct DataPathOptions {
  std::uint32_t capacity = 1024;        // allow-list prefixes per family
  std::uint32_t exempt_capacity = 1024; // exempt prefixes per family
  // If set, every map is pinned here and re-used from here on the next load,
  // so the kernel state survives the process.
  std::optional<std::filesystem::path> pin_dir;
};

// The program of one protected interface: it shares every map of its
// DataPath except its own verdict counters and denied-source sample (with
// its insert budget).
class InterfaceProgram {
public:
  int program_fd() const;
  int egress_program_fd() const; // TC egress: records the host's own flows
  Result<VerdictCounters> verdict_counters() const;
  Result<std::vector<DeniedSource>> denied_sources() const;

private:
  friend class DataPath;
  explicit InterfaceProgram(Skeleton skel) : skel_(std::move(skel)) {}
  Skeleton skel_;
};

class DataPath {
public:
  static Result<DataPath> load(const DataPathOptions &options);
  DataPath(DataPath &&) noexcept;
  DataPath &operator=(DataPath &&) noexcept;
  ~DataPath();

  Status sync(const DesiredState &desired);
  Status apply(const RuntimeConfig &config,
               const std::vector<IpPrefix> &exempt_sources,
               const AllowListChange &change);
  // Whether apply() (sync() with `whole_list`) finds room for the list's
  // part of the change, writing nothing.
  Status admits(const AllowListChange &change, bool whole_list) const {
    return allow_.admits(whole_list ? allow_.change_to(change.added) : change);
  }

  // Loads another copy of the program for one interface. With a pin
  // directory, its own maps are pinned there and re-used from there.
  Result<InterfaceProgram> load_interface_program(
      const std::optional<std::filesystem::path> &pin_dir) const;

  int program_fd() const;
  int egress_program_fd() const;
  // The allow list as the kernel holds it (after a load from pins, this is
  // what the previous process left).
  std::vector<IpPrefix> allow_list() const { return allow_.prefixes(); }
  // Longest-prefix match as the program makes it (IPv4: the lookup table,
  // IPv6: the trie).
  std::optional<IpPrefix> lookup(const IpPrefix &address) const {
    return allow_.lookup(address);
  }
  std::optional<EntryHits> entry_hits(const IpPrefix &range) const {
    return allow_.hits(range);
  }
  Result<std::vector<std::pair<IpPrefix, EntryHits>>> all_hits() const {
    return allow_.all_hits();
  }
  Result<VerdictCounters> verdict_counters() const;
  Result<std::vector<DeniedSource>> denied_sources() const;
  // Zeroes the verdict counters (tests and benchmarks).
  Status reset_verdict_counters();

  // The ring buffer of denied-packet events, shared by every interface.
  int denied_events_fd() const;
  // The follow budget: at most `per_cpu` events per CPU and second. Restarts
  // every CPU's window.
  Status set_follow_limit(std::uint32_t per_cpu);
  // Events lost because the ring buffer was full, summed over CPUs.
  Result<std::uint64_t> follow_ring_full() const;

private:
  DataPath(Skeleton skel, AllowListMaps allow);
  // Exemptions first: widening them never wrongly drops, and the list and
  // mode that follow may depend on them being in place.
  Status write(const RuntimeConfig &config,
               const std::vector<IpPrefix> &exempt_sources,
               const std::function<Status()> &write_allow_list);
  Status write_config(const RuntimeConfig &config, bool has_exempt_v4,
                      bool has_exempt_v6);
  Status sync_exempt(const std::vector<IpPrefix> &sources);

  Skeleton skel_;
  AllowListMaps allow_;
  std::optional<RuntimeConfig> written_config_;
  std::optional<std::pair<bool, bool>> written_has_exempt_;
  std::optional<std::set<IpPrefix>> written_exempt_;
};

} // namespace xdpgate
