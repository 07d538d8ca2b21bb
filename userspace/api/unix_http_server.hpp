// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// httplib's server on a Unix socket, serving each connection itself so that
// the peer's kernel-verified credentials (read from the accepted socket) are
// known to the handlers, and every read and write runs under PeerStream's
// limits. The socket file is mode 0666: anyone may connect, and the handlers
// decide by credentials (a read group and a write group cannot both be given
// connect permission by one file's owner and group).
#pragma once

#include <filesystem>

#include <httplib.h>

#include "api/peer.hpp"
#include "api/peer_stream.hpp"
#include "common/result.hpp"

namespace xdpgate::api {

class UnixHttpServer final : public httplib::Server {
public:
  UnixHttpServer(AccessPolicy policy, StreamLimits limits);

  // Creates the parent directory (0755) when missing, replaces a stale
  // socket (one nothing answers on), binds and listens. Refuses a path that
  // is not a socket or that another server answers on.
  Status bind_unix(const std::filesystem::path &path);

private:
  // Overrides httplib's private hook: one accepted connection, start to end.
  bool process_and_close_socket(socket_t sock) override;

  AccessPolicy policy_;
  StreamLimits limits_;
};

} // namespace xdpgate::api
