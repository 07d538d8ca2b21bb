// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// One denied packet as the live view (`xdpgate denied --follow`) shows it:
// made by the data path's ring-buffer reader, named and fanned out to the
// followers by the daemon and the API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/entry.hpp"
#include "net/ip_prefix.hpp"
#include "xdpgate/abi.h"

namespace xdpgate {

struct DeniedEvent {
  std::uint32_t ifindex = 0;
  std::string interface; // the name, filled in by the daemon
  IpPrefix address;      // the source, full length
  xdpgate_verdict verdict = XDPGATE_VERDICT_DROPPED; // dropped or would_drop
  std::uint8_t protocol = 0;                         // IPPROTO_*
  std::optional<std::uint16_t> dest_port;            // first TCP/UDP fragment
  EpochMs at = 0;
};

} // namespace xdpgate
