// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The kernel as the list and the daemon see it: the loaded data path, the
// filter settings it enforces besides the list (exemptions, protected
// ports), the mode, and the lock that serialises every write to them. It
// implements the list's KernelPort; the daemon wires it in and reconfigures
// it on reload. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "datapath/data_path.hpp"
#include "list/kernel_port.hpp"

namespace xdpgate {

// What the configuration asks the data path to enforce besides the list.
struct FilterSettings {
  std::vector<std::uint16_t> exempt_tcp_ports;
  std::vector<std::uint16_t> exempt_udp_ports;
  std::vector<IpPrefix> exempt_sources;
  // Empty: every destination port is protected.
  std::vector<std::uint16_t> protected_tcp_ports;
  std::vector<std::uint16_t> protected_udp_ports;
  // A power of two: past a denied source's exact counts, 1 in this many.
  std::uint32_t denied_sample_rate = 64;
};

class Kernel final : public KernelPort {
public:
  Kernel(DataPath path, FilterSettings settings);

  Status apply(const KernelChange &change) override;
  Status admits(const KernelChange &change) const override;
  Status revert(const KernelChange &change, Mode mode) override;
  std::optional<IpPrefix> lookup(const IpPrefix &address) const override;
  bool exempt_source(const IpPrefix &address) const override;
  std::optional<KernelHits> hits(const IpPrefix &range) const override;
  std::unordered_map<IpPrefix, KernelHits> all_hits() const override;

  // New settings (a reload), with the mode and the list as they are.
  Status reconfigure(FilterSettings settings);
  FilterSettings settings() const;
  // When the maps last took a change of the list or the mode.
  std::optional<EpochMs> last_sync_at() const;

  // Whether the program writes denied packets to the ring buffer (while at
  // least one follower is connected), and at most how many per second.
  Status set_following(bool following);
  Status set_follow_budget(std::uint32_t events_per_second);

  // For loading the interfaces' programs, which only read the data path.
  const DataPath &data_path() const { return path_; }

private:
  RuntimeConfig runtime_config(Mode mode) const;

  mutable std::mutex mutex_; // guards everything below
  DataPath path_;
  FilterSettings settings_;
  Mode mode_ = Mode::Off; // as last written
  bool following_ = false;
  std::optional<EpochMs> last_sync_;
};

} // namespace xdpgate
