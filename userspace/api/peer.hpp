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

// Which groups may do what; nullopt: the group does not exist on this host.
struct AccessPolicy {
  std::optional<gid_t> write_gid;
  std::optional<gid_t> read_gid;
};

// Ordered: a level includes the ones below it.
enum class Access { None, Read, Write };

Result<Peer> read_peer(int sock);

// Root and members of the write group write, members of the read group read.
Access access_of(const Peer &peer, const AccessPolicy &policy);

// The user name of `uid`, or "uid:N" when the user database has none.
std::string user_name(uid_t uid);

} // namespace xdpgate::api
