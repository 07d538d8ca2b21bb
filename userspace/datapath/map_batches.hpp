// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Reading every element of a BPF map in batches: a few dozen system calls
// for millions of elements, where one lookup per element takes seconds.
// Private to userspace/datapath/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "common/result.hpp"

namespace xdpgate {

// Calls `row(key, value)` with every element of the map `fd`, whose keys and
// values are `key_size` and `value_size` bytes. `what` names the map in the
// error. Where the kernel has no batches for the map (tries before Linux
// 5.15), `no_batches`, if given, is set and nothing is read; without it,
// that is an error like any other.
Status
read_in_batches(int fd, std::size_t key_size, std::size_t value_size,
                const std::string &what,
                const std::function<void(const std::uint8_t *key,
                                         const std::uint8_t *value)> &row,
                bool *no_batches = nullptr);

// An array's elements as `Value`s, by slot.
template <typename Value, typename Row>
Status read_array(int fd, const std::string &what, Row row) {
  return read_in_batches(
      fd, sizeof(std::uint32_t), sizeof(Value), what,
      [&](const std::uint8_t *key, const std::uint8_t *value) {
        std::uint32_t slot;
        Value v;
        std::memcpy(&slot, key, sizeof slot);
        std::memcpy(&v, value, sizeof v);
        row(slot, v);
      });
}

} // namespace xdpgate
