// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Who is on the other end of a Unix socket, as the kernel saw it at connect()
// (SO_PEERCRED, SO_PEERGROUPS), and what that caller may do. Nothing the
// client sends can change this: permissions come from the socket alone.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/result.hpp"

namespace xdpgate::api {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary groups
};

// Which groups may do what: their gids (nullopt: the group did not exist
// when the daemon started) and their names as configured, for the messages
// that tell a refused caller which group to join.
struct AccessPolicy {
  std::optional<gid_t> write_gid;
  std::optional<gid_t> read_gid;
  std::string write_group;
  std::string read_group;
};

// Ordered: a level includes the ones below it.
enum class Access { None, Read, Write };

Result<Peer> read_peer(int sock);

// Root and members of the write group write, members of the read group read.
Access access_of(const Peer &peer, const AccessPolicy &policy);

// Why `user`, who holds `held` (None or Read), may not do what it asked, and
// which of the policy's groups to join, by name, to be allowed.
std::string refusal_message(Access held, const AccessPolicy &policy,
                            const std::string &user);

// The user name of `uid`, or "uid:N" when the user database has none.
std::string user_name(uid_t uid);

} // namespace xdpgate::api
