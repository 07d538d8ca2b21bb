// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The control API (docs/API.md): HTTP/1.1 on a Unix socket, served on its
// own threads. Who may do what comes from the caller's kernel-verified
// credentials only: root and the write group write, the read group reads,
// everyone else gets 403 on every route (the socket itself is 0666).
// Oversized, slow or malformed requests are cut off without touching the
// list; a slow client holds only its own thread, never other clients' turn.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "api/backend.hpp"
#include "api/caller_seats.hpp"
#include "api/http_connection.hpp"
#include "api/peer.hpp"
#include "api/router.hpp"
#include "api/serving.hpp"
#include "common/result.hpp"

namespace xdpgate::api {

struct ApiServerOptions {
  std::filesystem::path socket_path = "/run/xdpgate/xdpgate.sock";
  AccessPolicy access;
  // Connections served at once, each on its own thread (see
  // ConnectionThreads); more wait in the listen backlog.
  std::size_t connections = 128;
  ConnectionLimits per_caller;      // per user, and for callers without access
  std::size_t keep_alive_max = 100; // requests per connection
  std::chrono::seconds keep_alive_idle{5};
  StreamLimits limits; // timeouts and the 64 MiB body limit
};

class ApiServer {
public:
  // Binds the socket (see Listener::bind_unix) and starts serving.
  // `backend` must outlive the server.
  static Result<std::unique_ptr<ApiServer>> start(ApiServerOptions options,
                                                  ApiBackend backend);
  // Stops accepting, lets requests in progress finish, joins the threads and
  // removes the socket file. Safe to call twice.
  void stop();
  ~ApiServer();

  ApiServer(const ApiServer &) = delete;
  ApiServer &operator=(const ApiServer &) = delete;

private:
  ApiServer(ApiServerOptions options, ApiBackend backend);
  // One accepted connection, start to end, on its own thread.
  void serve(Fd conn, const std::function<bool()> &keep_going);
  // What a request may do once its head is read: 403, 404/405 or 415 for
  // a body no route takes, and the body limit of its route.
  HeadDecision judge(const Request &head, bool carries_body) const;
  Response dispatch(const Request &req) const;

  ApiServerOptions options_;
  ApiBackend backend_;
  Router router_; // its handlers refer to backend_
  HttpHandlers handlers_;
  CallerSeats seats_;
  std::unique_ptr<Serving> serving_;
};

} // namespace xdpgate::api
