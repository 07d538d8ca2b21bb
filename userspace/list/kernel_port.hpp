// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the list needs of the kernel, declared here so the list's rules do
// not depend on how the kernel is driven: the daemon passes the data path's
// Kernel (datapath/kernel.hpp), tests pass a model. Implementations are
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "common/result.hpp"
#include "model/allow_list_change.hpp"
#include "model/entry.hpp"

namespace xdpgate {

// What the kernel counted for one enabled range since it entered the maps.
struct KernelHits {
  std::uint64_t packets = 0;
  std::optional<EpochMs> last_hit_at; // none: never hit
};

class KernelPort {
public:
  virtual ~KernelPort() = default;

  // Makes the kernel enforce `change`. On failure the kernel may hold part
  // of it: the caller reverts.
  virtual Status apply(const KernelChange &change) = 0;
  // Whether apply(change) would find room for it (the capacity), without
  // writing anything: what a dry run answers.
  virtual Status admits(const KernelChange &change) const = 0;
  // Undoes `change`, applied in full or in part, and restores `mode`.
  virtual Status revert(const KernelChange &change, Mode mode) = 0;
  // Longest-prefix match in the kernel's own maps.
  virtual std::optional<IpPrefix> lookup(const IpPrefix &address) const = 0;
  // Whether the data path passes every packet from `address` as an exempt
  // source (a configured health checker or service range), list or not.
  virtual bool exempt_source(const IpPrefix &address) const = 0;
  // Hits of one enabled range (none if the kernel does not hold it).
  virtual std::optional<KernelHits> hits(const IpPrefix &range) const = 0;
  // Hits of every range the kernel holds, read in batches: for answers
  // about the whole list, where one read per entry would cost a system call
  // each. A range it leaves out counted nothing.
  virtual std::unordered_map<IpPrefix, KernelHits> all_hits() const = 0;
};

} // namespace xdpgate
