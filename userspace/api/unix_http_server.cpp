// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/unix_http_server.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <malloc.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/connection.hpp"
#include "common/fd.hpp"

namespace xdpgate::api {

namespace {

constexpr ErrorCode kCode = ErrorCode::ApiSocketFailed;
// httplib listens with a backlog of 5; connections wait here (costing the
// daemon nothing) while every serving thread is busy.
constexpr int kListenBacklog = 1024;
// An exchange this large (an import, a replace, an export of a big list)
// leaves tens of megabytes free in the heap once its request and answer
// are gone.
constexpr std::uint64_t kLargeExchangeBytes = 1 << 20;

// Non-blocking, so a listener with a full backlog (EAGAIN) counts as alive
// instead of stalling the start.
bool someone_answers(const std::string &path) {
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid())
    return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return ::connect(probe.get(), reinterpret_cast<sockaddr *>(&addr),
                   sizeof(addr)) == 0 ||
         errno == EAGAIN;
}

Status prepare_path(const std::filesystem::path &path) {
  const std::string text = path.string();
  if (text.empty() || text.size() >= sizeof(sockaddr_un::sun_path))
    return Error{kCode,
                 "socket path \"" + text + "\" must be 1 to " +
                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                     " bytes long",
                 "socket"};
  if (std::filesystem::path parent = path.parent_path(); !parent.empty()) {
    std::error_code ec;
    if (std::filesystem::create_directories(parent, ec))
      ::chmod(parent.c_str(), 0755);
    if (ec)
      return Error{kCode,
                   "cannot create " + parent.string() + ": " + ec.message()};
  }
  struct stat st {};
  if (::lstat(text.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return {};
    return system_error(kCode, "cannot inspect " + text);
  }
  if (!S_ISSOCK(st.st_mode))
    return Error{kCode, text + " exists and is not a socket; remove it or "
                               "choose another socket path"};
  if (someone_answers(text))
    return Error{kCode, "another server answers on " + text +
                            "; is xdpgated already running?"};
  if (::unlink(text.c_str()) != 0)
    return system_error(kCode, "cannot remove the stale socket " + text);
  return {};
}

} // namespace

UnixHttpServer::UnixHttpServer(AccessPolicy policy, StreamLimits limits,
                               ConnectionLimits connections)
    : policy_(policy), limits_(limits), connections_(connections) {
  set_address_family(AF_UNIX);
  // httplib's own timeouts apply to its SocketStream only; PeerStream keeps
  // ours. The payload limit is httplib's: past it, it skips the body, 413.
  set_payload_max_length(limits.body_bytes);
}

Status UnixHttpServer::bind_unix(const std::filesystem::path &path) {
  if (Status s = prepare_path(path); !s)
    return s;
  // For AF_UNIX, httplib takes the host as the path and ignores the port.
  if (!bind_to_port(path.string(), 80))
    return system_error(kCode, "cannot bind " + path.string());
  // listen() again only raises the backlog of the listening socket.
  (void)::listen(svr_sock_, kListenBacklog);
  if (::chmod(path.c_str(), 0666) != 0) {
    Error error = system_error(kCode, "cannot chmod " + path.string());
    ::close(svr_sock_.exchange(INVALID_SOCKET));
    ::unlink(path.c_str());
    return error;
  }
  return {};
}

UnixHttpServer::Seat::~Seat() {
  std::lock_guard lock(server_.seats_mutex_);
  if (outsider_)
    --server_.outsider_seats_;
  else if (uid_ != 0 && --server_.seats_by_user_[uid_] == 0)
    server_.seats_by_user_.erase(uid_);
}

bool UnixHttpServer::take_seat(uid_t uid, bool outsider) {
  std::lock_guard lock(seats_mutex_);
  if (outsider) {
    if (outsider_seats_ >= connections_.outsiders)
      return false;
    ++outsider_seats_;
    return true;
  }
  if (uid == 0)
    return true;
  std::size_t &held = seats_by_user_[uid];
  if (held >= connections_.per_user) {
    if (held == 0)
      seats_by_user_.erase(uid);
    return false;
  }
  ++held;
  return true;
}

bool UnixHttpServer::process_and_close_socket(socket_t sock) {
  Fd owned(sock);
  // httplib's accept() does not set close-on-exec.
  ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  Result<Peer> peer = read_peer(sock);
  if (!peer) {
    ::shutdown(sock, SHUT_RDWR);
    return false;
  }
  const Access access = access_of(*peer, policy_);
  const bool outsider = access == Access::None;
  if (!take_seat(peer->uid, outsider)) {
    ::shutdown(sock, SHUT_RDWR);
    return false;
  }
  Seat seat(*this, peer->uid, outsider);
  StreamLimits limits = limits_;
  if (outsider) {
    limits.request_time =
        std::min(limits.request_time, connections_.outsider_request_time);
    limits.io_wait = std::min(limits.io_wait, limits.request_time);
  }
  PeerStream stream(sock, limits);
  Connection connection{*peer, access, stream};
  ConnectionScope scope(connection);
  // A caller without access gets its 403 and no keep-alive.
  const std::size_t most =
      connection.access == Access::None
          ? 1
          : std::max<std::size_t>(keep_alive_max_count_, 1);
  const auto idle = std::chrono::seconds(keep_alive_timeout_sec_);
  bool ok = true;
  for (std::size_t served = 0; served < most; ++served) {
    if (!stream.wait_for_request(
            idle, [this] { return svr_sock_ != INVALID_SOCKET; }))
      break;
    stream.begin_request();
    bool closed = false;
    ok = process_request(stream, served + 1 == most, closed, nullptr);
    // The request, the answer and everything made for them are freed by
    // now: give the memory back to the system rather than keep the daemon
    // at its peak (the list service trims too, but before the answer).
    if (stream.exchanged_bytes() >= kLargeExchangeBytes)
      malloc_trim(0);
    if (!ok || closed || connection.close_after_response ||
        stream.overflow() != Overflow::None)
      break;
  }
  ::shutdown(sock, SHUT_RDWR);
  return ok;
}

} // namespace xdpgate::api
