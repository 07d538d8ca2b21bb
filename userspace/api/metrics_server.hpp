// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// GET /metrics over TCP, for Prometheus, which cannot scrape a Unix socket
// (metrics_address; off by default). Nothing else is served there and no
// credentials are asked: what it shows, counters and list sizes, is the
// read-only text also on the API socket. A few connections are served at
// once, each on its own thread, with short deadlines; more wait in the
// listen backlog.
#pragma once

#include <memory>

#include "api/backend.hpp"
#include "api/http_connection.hpp"
#include "api/serving.hpp"
#include "common/result.hpp"
#include "net/tcp_address.hpp"

namespace xdpgate::api {

class MetricsServer {
public:
  // `backend` must outlive the server.
  static Result<std::unique_ptr<MetricsServer>> start(const TcpAddress &address,
                                                      ApiBackend backend);
  // Stops accepting, lets answers in progress finish and joins the threads.
  void stop();
  ~MetricsServer();

  MetricsServer(const MetricsServer &) = delete;
  MetricsServer &operator=(const MetricsServer &) = delete;

private:
  explicit MetricsServer(ApiBackend backend);

  ApiBackend backend_;
  HttpHandlers handlers_;
  ConnectionOptions connection_;
  std::unique_ptr<Serving> serving_;
};

} // namespace xdpgate::api
