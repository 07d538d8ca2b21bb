// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Pinning a map of the program being loaded. A pin the same map would fit
// is re-used, so what it holds survives a restart (SPEC §1). A pin that
// would not fit (another xdpgated's layout of the value, another capacity)
// is replaced rather than refused: libbpf would fail the whole load, and a
// daemon that cannot start after an upgrade leaves the old program running
// on maps no one updates. The program the old pin serves keeps its own
// reference to that map until the new program replaces it on the interface,
// and the daemon fills the new map before it attaches.
#pragma once

#include <filesystem>

#include "common/result.hpp"

struct bpf_map;

namespace xdpgate {

// Sets `map`'s pin path, first removing a pin there that it could not
// re-use. Before the object is loaded.
Status pin_map_at(bpf_map *map, const std::filesystem::path &path);

} // namespace xdpgate
