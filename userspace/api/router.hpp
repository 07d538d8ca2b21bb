// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The route table: each route is a method, a path pattern whose ":name"
// segments capture, the access it needs, the query parameters it takes, its
// handler and what its body may be. A path matches the
// most specific pattern (fewest captures), so "/check" is never taken for an
// id; a known path with another method is 405, an unknown path 404.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_message.hpp"
#include "api/peer.hpp"
#include "api/request.hpp"

namespace xdpgate::api {

struct Call {
  const Request &http;
  std::vector<std::string> params; // the ":name" segments, in order
  std::string actor;               // user name of the caller
};

using RouteHandler = std::function<void(const Call &, Response &)>;

struct Route {
  std::string method;
  std::string pattern; // "/api/admin/ip-allowlist/:id/enable"
  Access needs;
  std::vector<std::string_view> query; // the query parameters it takes
  RouteHandler handler;
  // Takes a whole list as its body (up to StreamLimits::body_bytes); other
  // routes take small bodies only (StreamLimits::small_body_bytes).
  bool bulk = false;
  // The media type a body must have; GET routes read none.
  BodyType body = BodyType::Json;
};

class Router {
public:
  explicit Router(std::vector<Route> routes);

  struct Match {
    const Route *route = nullptr;     // null: none for this method
    std::vector<std::string> params;  // when route is set
    std::vector<std::string> allowed; // the path's methods; empty: no path
  };
  // HEAD is matched as GET: its answer is the GET answer's head.
  Match match(std::string_view method, std::string_view path) const;

private:
  std::vector<Route> routes_;
};

} // namespace xdpgate::api
