// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Reading every slot of a BPF array map in batches: a few dozen system
// calls for millions of slots, where one lookup per slot takes seconds.
// Private to userspace/datapath/.
#pragma once

#include <bpf/bpf.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace xdpgate {

// Calls `row(slot, value)` for every slot of the array `fd`, whose values
// are `Value`s. `what` names the map in the error.
template <typename Value, typename Row>
Status read_array(int fd, const std::string &what, Row row) {
  constexpr std::uint32_t kBatch = 1 << 14;
  std::vector<std::uint32_t> slots(kBatch);
  std::vector<Value> values(kBatch);
  std::uint32_t in = 0, out = 0; // an array's batch token: the next slot
  for (bool first = true;; first = false) {
    std::uint32_t got = kBatch;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &out,
                                   slots.data(), values.data(), &got, &opts);
    // ENOENT marks the last batch, which may still carry rows.
    if (err != 0 && errno != ENOENT)
      return system_error(ErrorCode::KernelReadFailed,
                          "reading " + what + " failed");
    for (std::uint32_t k = 0; k < got; ++k)
      row(slots[k], values[k]);
    if (err != 0 || got == 0)
      return {};
    in = out;
  }
}

} // namespace xdpgate
