// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// httplib's server on a Unix socket, serving each connection itself so that
// the peer's kernel-verified credentials (read from the accepted socket) are
// known to the handlers, and every read and write runs under PeerStream's
// limits. The socket file is mode 0666: anyone may connect, and the handlers
// decide by credentials (a read group and a write group cannot both be given
// connect permission by one file's owner and group). Since anyone may
// connect, how many connections one caller holds is limited by who it is.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <sys/types.h>

#include <httplib.h>

#include "api/peer.hpp"
#include "api/peer_stream.hpp"
#include "common/result.hpp"

namespace xdpgate::api {

// Connections beyond these are closed at once, unanswered.
struct ConnectionLimits {
  // Held at once by one user other than root (root is not limited: it owns
  // the daemon anyway).
  std::size_t per_user = 32;
  // Held at once by callers outside both groups, together. Their answer is
  // a 403 whatever they send, so their request must arrive sooner.
  std::size_t outsiders = 8;
  std::chrono::milliseconds outsider_request_time{2000};
};

class UnixHttpServer final : public httplib::Server {
public:
  UnixHttpServer(AccessPolicy policy, StreamLimits limits,
                 ConnectionLimits connections);

  // Creates the parent directory (0755) when missing, replaces a stale
  // socket (one nothing answers on), binds and listens. Refuses a path that
  // is not a socket or that another server answers on.
  Status bind_unix(const std::filesystem::path &path);

private:
  // Overrides httplib's private hook: one accepted connection, start to end.
  bool process_and_close_socket(socket_t sock) override;

  // A connection counted against its caller's limit while it lives.
  class Seat {
  public:
    Seat(UnixHttpServer &server, uid_t uid, bool outsider)
        : server_(server), uid_(uid), outsider_(outsider) {}
    ~Seat();
    Seat(const Seat &) = delete;
    Seat &operator=(const Seat &) = delete;

  private:
    UnixHttpServer &server_;
    uid_t uid_;
    bool outsider_;
  };
  // Counts the connection, or false when its caller is at its limit.
  bool take_seat(uid_t uid, bool outsider);

  AccessPolicy policy_;
  StreamLimits limits_;
  ConnectionLimits connections_;
  std::mutex seats_mutex_;
  std::map<uid_t, std::size_t> seats_by_user_;
  std::size_t outsider_seats_ = 0;
};

} // namespace xdpgate::api
