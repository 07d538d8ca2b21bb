// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list's kernel tables themselves: making empty ones of the
// layouts the XDP program expects, sizing host tables, and the one slot of
// the outer array-of-maps that holds each. Private to userspace/datapath/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

// The slot of an outer array-of-maps that holds the table in force.
inline constexpr std::uint32_t kOuterSlot = 0;

// Puts `inner_fd` in the outer map's slot: packets see it from then on.
Status swap_in(int outer_fd, int inner_fd);

// An empty host table of the layout the XDP program expects, its elements
// preallocated: a delete returns its element to the table, and the table is
// freed in one piece. Elements allocated one by one are freed by the kernel
// in loops that do not yield: a CPU stalled for 80 ms when a table of 400k
// was let go, 25-60 ms in RCU callbacks after 400k deletes.
Result<Fd> create_host_table(Family family, std::uint32_t capacity);

// Host tables are sized to what they hold (an eighth more, 1024 at least),
// not to the capacity: their elements are preallocated, and a lookup reads
// one bucket, which in a table of a million buckets is a cache miss for
// every new source address.
std::uint32_t host_table_size(std::size_t hosts, std::uint32_t capacity);

// One batched update of `count` rows; `done`, if given, gets how many rows
// the kernel took, in order, even on failure.
Status batch_update(int fd, const void *keys, const void *values,
                    std::uint32_t count, const char *what,
                    std::uint32_t *done = nullptr);

// A table's max_entries, as the kernel has it.
Result<std::uint32_t> max_entries(int fd);

} // namespace xdpgate
