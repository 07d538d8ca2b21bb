// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/kernel.hpp"

#include <bit>

#include "model/clock.hpp"

namespace xdpgate {

namespace {

KernelHits hits_of(const EntryHits &counted) {
  KernelHits hits;
  hits.packets = counted.packets;
  if (counted.last_hit_ns)
    hits.last_hit_at = monotonic_ns_to_epoch_ms(counted.last_hit_ns);
  return hits;
}

} // namespace

Kernel::Kernel(DataPath path, FilterSettings settings)
    : path_(std::move(path)), settings_(std::move(settings)) {}

RuntimeConfig Kernel::runtime_config(Mode mode) const {
  RuntimeConfig r;
  r.mode = mode;
  r.exempt_tcp_ports = {settings_.exempt_tcp_ports.begin(),
                        settings_.exempt_tcp_ports.end()};
  r.exempt_udp_ports = {settings_.exempt_udp_ports.begin(),
                        settings_.exempt_udp_ports.end()};
  r.protected_tcp_ports = {settings_.protected_tcp_ports.begin(),
                           settings_.protected_tcp_ports.end()};
  r.protected_udp_ports = {settings_.protected_udp_ports.begin(),
                           settings_.protected_udp_ports.end()};
  r.denied_sample_shift =
      static_cast<std::uint8_t>(std::countr_zero(settings_.denied_sample_rate));
  r.track_replies = true; // every protected interface records egress flows
  r.follow_denied = following_;
  return r;
}

Status Kernel::apply(const KernelChange &change) {
  std::lock_guard lock(mutex_);
  const RuntimeConfig config = runtime_config(change.mode);
  Status s =
      change.whole_list
          ? path_.sync({config, settings_.exempt_sources, change.allow.added})
          : path_.apply(config, settings_.exempt_sources, change.allow);
  if (s) {
    mode_ = change.mode;
    last_sync_ = now_epoch_ms();
  }
  return s;
}

Status Kernel::admits(const KernelChange &change) const {
  std::lock_guard lock(mutex_);
  return path_.admits(change.allow, change.whole_list);
}

Status Kernel::revert(const KernelChange &change, Mode mode) {
  return apply(inverse(change, mode));
}

std::optional<IpPrefix> Kernel::lookup(const IpPrefix &address) const {
  std::lock_guard lock(mutex_);
  return path_.lookup(address);
}

// From the settings last written to the exempt-source maps: the kernel's
// LPM tries hold exactly these prefixes, and "is inside any" is what their
// lookup answers.
bool Kernel::exempt_source(const IpPrefix &address) const {
  std::lock_guard lock(mutex_);
  return std::any_of(settings_.exempt_sources.begin(),
                     settings_.exempt_sources.end(), [&](const IpPrefix &p) {
                       return p.family == address.family && p.contains(address);
                     });
}

std::optional<KernelHits> Kernel::hits(const IpPrefix &range) const {
  std::lock_guard lock(mutex_);
  auto counted = path_.entry_hits(range);
  if (!counted)
    return std::nullopt;
  return hits_of(*counted);
}

std::unordered_map<IpPrefix, KernelHits> Kernel::all_hits() const {
  std::lock_guard lock(mutex_);
  std::unordered_map<IpPrefix, KernelHits> out;
  auto counted = path_.all_hits();
  // A failed read shows no hits; the next read tries again.
  if (!counted)
    return out;
  out.reserve(counted->size());
  for (const auto &[range, hits] : *counted)
    out.emplace(range, hits_of(hits));
  return out;
}

Status Kernel::reconfigure(FilterSettings settings) {
  std::lock_guard lock(mutex_);
  settings_ = std::move(settings);
  return path_.apply(runtime_config(mode_), settings_.exempt_sources, {});
}

Status Kernel::set_following(bool following) {
  std::lock_guard lock(mutex_);
  following_ = following;
  return path_.apply(runtime_config(mode_), settings_.exempt_sources, {});
}

// The budget is shared out among the CPUs, so that a flood spread over all
// of them stays within it; one on a single queue gets that CPU's share.
Status Kernel::set_follow_budget(std::uint32_t events_per_second) {
  std::lock_guard lock(mutex_);
  const auto cpus = static_cast<std::uint32_t>(possible_cpus());
  return path_.set_follow_limit(std::max<std::uint32_t>(
      1, events_per_second / std::max<std::uint32_t>(cpus, 1)));
}

FilterSettings Kernel::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

std::optional<EpochMs> Kernel::last_sync_at() const {
  std::lock_guard lock(mutex_);
  return last_sync_;
}

} // namespace xdpgate
