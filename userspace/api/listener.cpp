// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/listener.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace xdpgate::api {

namespace {

constexpr ErrorCode kCode = ErrorCode::ApiSocketFailed;
// Connections wait here (costing the daemon nothing) while every serving
// thread is busy.
constexpr int kListenBacklog = 1024;

sockaddr_un address_of(const std::filesystem::path &path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  return addr;
}

// Non-blocking, so a listener with a full backlog (EAGAIN) counts as alive
// instead of stalling the start.
bool someone_answers(const std::filesystem::path &path) {
  Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid())
    return false;
  sockaddr_un addr = address_of(path);
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
  if (someone_answers(path))
    return Error{kCode, "another server answers on " + text +
                            "; is xdpgated already running?"};
  if (::unlink(text.c_str()) != 0)
    return system_error(kCode, "cannot remove the stale socket " + text);
  return {};
}

} // namespace

Result<std::unique_ptr<Listener>>
Listener::bind_unix(const std::filesystem::path &path) {
  if (Status s = prepare_path(path); !s)
    return s.error();
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!sock.valid() || !wake.valid())
    return system_error(kCode, "cannot create the API socket");
  sockaddr_un addr = address_of(path);
  if (::bind(sock.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) !=
      0)
    return system_error(kCode, "cannot bind " + path.string());
  std::unique_ptr<Listener> listener(
      new Listener(path, std::move(sock), std::move(wake)));
  if (::chmod(path.c_str(), 0666) != 0)
    return system_error(kCode, "cannot chmod " + path.string());
  if (::listen(listener->sock_.get(), kListenBacklog) != 0)
    return system_error(kCode, "cannot listen on " + path.string());
  return listener;
}

Result<std::unique_ptr<Listener>>
Listener::bind_tcp(const TcpAddress &address) {
  const std::string where = address.to_string();
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.address.family == Family::V4) {
    auto *in = reinterpret_cast<sockaddr_in *>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(address.port);
    std::memcpy(&in->sin_addr, address.address.addr.data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    std::memcpy(&in6->sin6_addr, address.address.addr.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  Fd sock(::socket(storage.ss_family,
                   SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!sock.valid() || !wake.valid())
    return system_error(kCode, "cannot create a socket for " + where);
  const int on = 1;
  ::setsockopt(sock.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (::bind(sock.get(), reinterpret_cast<sockaddr *>(&storage), length) != 0)
    return system_error(kCode,
                        "cannot listen on " + where + " (metrics_address)");
  if (::listen(sock.get(), kListenBacklog) != 0)
    return system_error(kCode, "cannot listen on " + where);
  return std::unique_ptr<Listener>(
      new Listener({}, std::move(sock), std::move(wake)));
}

Listener::Listener(std::filesystem::path path, Fd sock, Fd wake)
    : path_(std::move(path)), sock_(std::move(sock)), wake_(std::move(wake)) {
  struct stat st {};
  if (!path_.empty() && ::stat(path_.c_str(), &st) == 0) {
    dev_ = st.st_dev;
    ino_ = st.st_ino;
  }
}

Listener::~Listener() {
  struct stat st {};
  if (!path_.empty() && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ &&
      st.st_ino == ino_)
    ::unlink(path_.c_str());
}

void Listener::run(const std::function<void(Fd)> &serve) {
  for (;;) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {sock_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[0].revents != 0)
      return;
    Fd conn(::accept4(sock_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.valid()) {
      serve(std::move(conn));
      continue;
    }
    // Out of descriptors or memory: wait a little rather than spin; the
    // connection stays in the backlog. Anything else (ECONNABORTED, EAGAIN
    // after a peer gave up) is that one connection's trouble.
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
        errno == ENOMEM)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Listener::stop() {
  const std::uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof(one));
}

} // namespace xdpgate::api
