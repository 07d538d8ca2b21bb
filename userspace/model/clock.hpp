// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Wall-clock time for the list, the conversion of the data path's
// monotonic (coarse) timestamps into it, and elapsed time for logs.
#pragma once

#include <chrono>
#include <cstdint>
#include <time.h>

#include "model/entry.hpp"

namespace xdpgate {

inline EpochMs now_epoch_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<EpochMs>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// bpf_ktime_get_coarse_ns() reads CLOCK_MONOTONIC_COARSE.
inline EpochMs monotonic_ns_to_epoch_ms(std::uint64_t monotonic_ns) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  std::int64_t now_ns =
      static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  std::int64_t age_ms =
      (now_ns - static_cast<std::int64_t>(monotonic_ns)) / 1000000;
  return now_epoch_ms() - (age_ms > 0 ? age_ms : 0);
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace xdpgate
