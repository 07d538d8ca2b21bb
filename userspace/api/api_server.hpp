// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The control API (docs/API.md): HTTP/1.1 on a Unix socket, served on its
// own threads. Who may do what comes from the caller's kernel-verified
// credentials only: root and the write group write, the read group reads,
// everyone else gets 403 on every route (the socket itself is 0666).
// Oversized, slow or malformed requests are cut off without touching the
// list; a slow client holds only its own thread, never other clients' turn.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "api/backend.hpp"
#include "api/peer.hpp"
#include "api/peer_stream.hpp"
#include "api/router.hpp"
#include "api/unix_http_server.hpp"
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
  // Binds the socket (see UnixHttpServer::bind_unix) and starts serving.
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
  void install_handlers();
  // The body limit of the request's route.
  std::uint64_t body_limit(const httplib::Request &req) const;
  // 403 for a caller lacking the access this request needs.
  std::optional<Error> refusal(const httplib::Request &req) const;
  void dispatch(const httplib::Request &req, httplib::Response &res) const;

  ApiServerOptions options_;
  ApiBackend backend_;
  Router router_; // its handlers refer to backend_
  UnixHttpServer http_;
  std::thread listener_;
  std::atomic<bool> listener_done_{false};
  std::atomic<bool> stopping_{false};
  dev_t socket_dev_ = 0; // the file we bound, so stop() removes only ours
  ino_t socket_ino_ = 0;
};

} // namespace xdpgate::api
