// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/peer.hpp"

#include <algorithm>
#include <cerrno>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace xdpgate::api {

namespace {

Result<std::vector<gid_t>> peer_groups(int sock) {
  std::vector<gid_t> groups(64);
  for (;;) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    // ERANGE: len now holds the size the kernel needs.
    if (errno != ERANGE || len <= groups.size() * sizeof(gid_t))
      return system_error("internal", "getsockopt(SO_PEERGROUPS)");
    groups.resize(len / sizeof(gid_t));
  }
}

bool member_of(const Peer &peer, std::optional<gid_t> gid) {
  return gid &&
         (peer.gid == *gid || std::find(peer.groups.begin(), peer.groups.end(),
                                        *gid) != peer.groups.end());
}

} // namespace

Result<Peer> read_peer(int sock) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return system_error("internal", "getsockopt(SO_PEERCRED)");
  Result<std::vector<gid_t>> groups = peer_groups(sock);
  if (!groups)
    return groups.error();
  return Peer{cred.pid, cred.uid, cred.gid, std::move(*groups)};
}

Access access_of(const Peer &peer, const AccessPolicy &policy) {
  if (peer.uid == 0 || member_of(peer, policy.write_gid))
    return Access::Write;
  if (member_of(peer, policy.read_gid))
    return Access::Read;
  return Access::None;
}

std::string user_name(uid_t uid) {
  std::vector<char> buffer(1024);
  for (;;) {
    passwd pw{};
    passwd *found = nullptr;
    int err = getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (err == 0 && found)
      return found->pw_name;
    return "uid:" + std::to_string(uid);
  }
}

} // namespace xdpgate::api
