// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/metrics_server.hpp"

#include <sys/socket.h>

#include "api/metrics.hpp"
#include "api/responses.hpp"

namespace xdpgate::api {

namespace {

// A scrape is one small request; its answer a few kilobytes per interface.
constexpr std::size_t kConnections = 4;
constexpr const char *kPath = "/metrics";

ConnectionOptions metrics_connections() {
  ConnectionOptions options;
  options.limits.io_wait = std::chrono::milliseconds(2000);
  options.limits.request_time = std::chrono::milliseconds(5000);
  options.limits.response_time = std::chrono::milliseconds(10000);
  options.limits.header_bytes = 16 * 1024;
  return options;
}

// 404 for any other path, 405 for any other method; a body is refused as
// too large (the route takes none).
HeadDecision judge(const Request &head, bool) {
  HeadDecision decision; // body_limit 0
  if (head.path != kPath)
    decision.refusal = error_response(
        {ErrorCode::NoRoute, "only GET /metrics is served here"});
  else if (head.method != "GET" && head.method != "HEAD") {
    decision.refusal =
        error_response({ErrorCode::MethodNotAllowed,
                        head.method + " is not allowed on /metrics; use "
                                      "GET"});
    decision.refusal->headers.add("Allow", "GET");
  } else if (!head.query.empty())
    decision.refusal = error_response(
        {ErrorCode::InvalidParameter, "/metrics takes no query parameters"});
  return decision;
}

} // namespace

MetricsServer::MetricsServer(ApiBackend backend)
    : backend_(std::move(backend)), connection_(metrics_connections()) {
  handlers_.on_head = judge;
  handlers_.on_request = [this](const Request &) {
    Response res;
    res.set_content(metrics_text(backend_), kMetricsContentType);
    return res;
  };
}

Result<std::unique_ptr<MetricsServer>>
MetricsServer::start(const TcpAddress &address, ApiBackend backend) {
  std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(backend)));
  Result<std::unique_ptr<Listener>> listener = Listener::bind_tcp(address);
  if (!listener)
    return listener.error();
  MetricsServer *s = server.get();
  s->serving_ = std::make_unique<Serving>(
      std::move(*listener), kConnections,
      [s](Fd conn, const std::function<bool()> &keep_going) {
        // A TCP peer has no credentials; the one route needs none.
        Peer nobody;
        nobody.uid = static_cast<uid_t>(-1);
        nobody.gid = static_cast<gid_t>(-1);
        serve_http(conn.get(), nobody, Access::Read, s->connection_,
                   s->handlers_, keep_going);
      });
  return server;
}

void MetricsServer::stop() {
  if (serving_)
    serving_->stop();
}

MetricsServer::~MetricsServer() { stop(); }

} // namespace xdpgate::api
