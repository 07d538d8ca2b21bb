// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/map_pin.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <unistd.h>

#include "common/fd.hpp"

namespace xdpgate {

namespace {

// What libbpf compares before it re-uses a pinned map.
bool fits(const bpf_map *map, int pinned_fd) {
  bpf_map_info info{};
  __u32 length = sizeof info;
  if (bpf_obj_get_info_by_fd(pinned_fd, &info, &length) != 0)
    return false;
  return info.type == bpf_map__type(map) &&
         info.key_size == bpf_map__key_size(map) &&
         info.value_size == bpf_map__value_size(map) &&
         info.max_entries == bpf_map__max_entries(map) &&
         info.map_flags == bpf_map__map_flags(map);
}

} // namespace

Status pin_map_at(bpf_map *map, const std::filesystem::path &path) {
  Fd pinned(bpf_obj_get(path.c_str()));
  if (pinned.valid() && !fits(map, pinned.get()) && ::unlink(path.c_str()) != 0)
    return system_error(ErrorCode::BpfLoadFailed,
                        "removing the pin " + path.string() +
                            ", which the new program's map does not fit");
  if (int err = bpf_map__set_pin_path(map, path.c_str()); err)
    return system_error(ErrorCode::BpfLoadFailed,
                        "setting the pin path " + path.string() + " failed",
                        -err);
  return {};
}

} // namespace xdpgate
