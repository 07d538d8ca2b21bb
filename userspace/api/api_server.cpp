// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/api_server.hpp"

#include <algorithm>
#include <iterator>
#include <sys/socket.h>

#include "api/request.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"

namespace xdpgate::api {

namespace {

std::vector<Route> all_routes(const ApiBackend &backend) {
  std::vector<Route> routes = list_routes(backend);
  for (std::vector<Route> more :
       {state_routes(backend), metrics_routes(backend)})
    routes.insert(routes.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  return routes;
}

std::string joined(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// 404 for a path no route has, else 405 with the path's methods in Allow.
Response unrouted(const Router::Match &m, const Request &req) {
  if (m.allowed.empty())
    return error_response({ErrorCode::NoRoute, "no route for " + req.path});
  Response res = error_response({ErrorCode::MethodNotAllowed,
                                 req.method + " is not allowed on " + req.path +
                                     "; use " + joined(m.allowed)});
  res.headers.add("Allow", joined(m.allowed));
  return res;
}

// The methods whose body a route may read; others' is read and ignored.
bool takes_body(const std::string &method) {
  return method == "POST" || method == "PUT" || method == "PATCH" ||
         method == "DELETE";
}

} // namespace

ApiServer::ApiServer(ApiServerOptions options, ApiBackend backend)
    : options_(std::move(options)), backend_(std::move(backend)),
      router_(all_routes(backend_)), seats_(options_.per_caller) {
  handlers_.on_head = [this](const Request &head, bool carries_body) {
    return judge(head, carries_body);
  };
  handlers_.on_request = [this](const Request &req) { return dispatch(req); };
}

// Boost.Beast rather than libmicrohttpd: Beast is a parser and serializer
// over a stream we own, so the accepted socket (and with it SO_PEERCRED),
// the thread that serves it, every deadline and every limit stay ours, set
// per route once the head is read, through its public interface only.
Result<std::unique_ptr<ApiServer>> ApiServer::start(ApiServerOptions options,
                                                    ApiBackend backend) {
  std::unique_ptr<ApiServer> server(
      new ApiServer(std::move(options), std::move(backend)));
  Result<std::unique_ptr<Listener>> listener =
      Listener::bind_unix(server->options_.socket_path);
  if (!listener)
    return listener.error();
  ApiServer *s = server.get();
  s->serving_ = std::make_unique<Serving>(
      std::move(*listener), s->options_.connections,
      [s](Fd conn, const std::function<bool()> &keep_going) {
        s->serve(std::move(conn), keep_going);
      });
  return server;
}

void ApiServer::stop() {
  if (serving_)
    serving_->stop();
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::serve(Fd conn, const std::function<bool()> &keep_going) {
  Result<Peer> peer = read_peer(conn.get());
  if (!peer) {
    ::shutdown(conn.get(), SHUT_RDWR);
    return;
  }
  const Access access = access_of(*peer, options_.access);
  const bool outsider = access == Access::None;
  if (!seats_.take(peer->uid, outsider)) {
    ::shutdown(conn.get(), SHUT_RDWR);
    return;
  }
  CallerSeats::Seat seat(seats_, peer->uid, outsider);
  ConnectionOptions connection{
      options_.limits, std::max<std::size_t>(options_.keep_alive_max, 1),
      options_.keep_alive_idle};
  if (outsider) {
    // Its answer is a 403 and no keep-alive, so it gets less time.
    StreamLimits &limits = connection.limits;
    limits.request_time = std::min(limits.request_time,
                                   options_.per_caller.outsider_request_time);
    limits.io_wait = std::min(limits.io_wait, limits.request_time);
    connection.max_requests = 1;
  }
  serve_http(conn.get(), *peer, access, connection, handlers_, keep_going);
}

HeadDecision ApiServer::judge(const Request &head, bool carries_body) const {
  Router::Match m = router_.match(head.method, head.path);
  HeadDecision decision;
  decision.body_limit = m.route && m.route->bulk
                            ? options_.limits.body_bytes
                            : options_.limits.small_body_bytes;
  if (head.access == Access::None || (m.route && head.access < m.route->needs))
    decision.refusal = error_response(
        {ErrorCode::Forbidden, refusal_message(head.access, options_.access,
                                               user_name(head.peer.uid))});
  else if (carries_body && takes_body(head.method) && !m.route)
    decision.refusal = unrouted(m, head);
  else if (carries_body && takes_body(head.method))
    // Refused before it is read: a form body (what curl -d sends) is not
    // JSON, and a multipart one would be held whole for nothing.
    if (Status s = body_media_type(head, m.route->body); !s)
      decision.refusal = error_response(s.error());
  return decision;
}

Response ApiServer::dispatch(const Request &req) const {
  Router::Match m = router_.match(req.method, req.path);
  if (!m.route)
    return unrouted(m, req);
  if (Status s = only_query(req, m.route->query); !s)
    return error_response(s.error());
  Call call{req, std::move(m.params), user_name(req.peer.uid)};
  // A write that another host of the fleet beat to the shared store
  // (store_conflict) is tried again: the list caught up before refusing
  // it, so the next try meets the list as it is now, rules and all.
  constexpr int kTriesOnConflict = 4;
  for (int tries = 1;; ++tries) {
    Response res;
    m.route->handler(call, res);
    if (res.error != ErrorCode::StoreConflict || tries == kTriesOnConflict)
      return res;
  }
}

} // namespace xdpgate::api
