// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What the API serves, as the daemon provides it: the list service plus
// read-only views of the data path. Every function may be called from any
// API worker thread at any time, so each must be thread-safe; an empty
// function reads as "nothing to report".
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/denied_followers.hpp"
#include "list/list_service.hpp"
#include "model/entry.hpp"

namespace xdpgate::api {

struct ApiBackend {
  ListService &list;
  // [{name, state: "attached"|"waiting", attach_mode, program_id,
  //   counters: {<verdict>: {packets, bytes}}}]
  std::function<nlohmann::json()> interfaces = {};
  // {tcp_ports, udp_ports, sources}
  std::function<nlohmann::json()> exemptions = {};
  // {protected_tcp_ports, protected_udp_ports}
  std::function<nlohmann::json()> scope = {};
  // {interfaces: [{name, sources: [{address, packets, last_seen_at}]}]}
  std::function<nlohmann::json(std::size_t top)> denied = {};
  // When the kernel maps last took the list.
  std::function<std::optional<EpochMs>()> last_sync_at = {};
  // Every source in the denied-source sample, for dry runs' impact.
  std::function<std::vector<SeenSource>()> recently_denied = {};
  // The live view of denied packets (GET /denied?follow=true); none: the
  // route answers that it is not available.
  DeniedFollowers *denied_followers = nullptr;
};

} // namespace xdpgate::api
