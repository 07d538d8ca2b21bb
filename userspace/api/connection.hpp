// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The connection a worker thread is serving. httplib runs a connection's
// handlers on the thread that accepted it into process_and_close_socket, so
// a thread-local pointer, set for exactly that span, hands the handlers the
// kernel-verified peer without trusting anything in the request.
#pragma once

#include <cstdint>

#include "api/peer.hpp"
#include "api/peer_stream.hpp"

namespace xdpgate::api {

struct Connection {
  Peer peer;
  Access access = Access::None;
  PeerStream &stream;
  // Set when the rest of the request was left unread, so the byte stream
  // can no longer be trusted to start a new request.
  bool close_after_response = false;
  // The body limit of the current request's route.
  std::uint64_t body_limit = 0;
};

// The connection this thread serves, or nullptr outside one.
Connection *current_connection();

class ConnectionScope {
public:
  explicit ConnectionScope(Connection &connection);
  ~ConnectionScope();
  ConnectionScope(const ConnectionScope &) = delete;
  ConnectionScope &operator=(const ConnectionScope &) = delete;
};

} // namespace xdpgate::api
