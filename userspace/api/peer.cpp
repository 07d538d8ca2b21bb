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
      return system_error(ErrorCode::Internal, "getsockopt(SO_PEERGROUPS)");
    groups.resize(len / sizeof(gid_t));
  }
}

bool member_of(const Peer &peer, std::optional<gid_t> gid) {
  return gid &&
         (peer.gid == *gid || std::find(peer.groups.begin(), peer.groups.end(),
                                        *gid) != peer.groups.end());
}

// How `user` joins `group`; a group that did not exist at start is created,
// and the daemon restarted, as the daemon looks groups up only then.
std::string how_to_join(const std::string &group, std::optional<gid_t> gid,
                        const std::string &user) {
  std::string join = "sudo usermod -aG " + group + " " + user;
  if (gid)
    return join;
  return "sudo groupadd " + group + " && " + join +
         ", then restart xdpgated: the group did not exist when it started";
}

} // namespace

Result<Peer> read_peer(int sock) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return system_error(ErrorCode::Internal, "getsockopt(SO_PEERCRED)");
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

std::string refusal_message(Access held, const AccessPolicy &policy,
                            const std::string &user) {
  const std::string write =
      "join the group " + policy.write_group + " (" +
      how_to_join(policy.write_group, policy.write_gid, user) + ")";
  if (held == Access::Read)
    return "user " + user + " may read but not change the allow list: to " +
           "change it, " + write + ", then log in again";
  return "user " + user + " may not use the xdpgate API: to read the list, " +
         "join the group " + policy.read_group + " (" +
         how_to_join(policy.read_group, policy.read_gid, user) +
         "); to change it, " + write + "; then log in again";
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
