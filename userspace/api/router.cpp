// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/router.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace xdpgate::api {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos)
      return out;
    start = slash + 1;
  }
}

// The captures of `path` under `pattern`, or nullopt when it does not match.
std::optional<std::vector<std::string>> captures(std::string_view pattern,
                                                 std::string_view path) {
  std::vector<std::string_view> want = segments(pattern);
  std::vector<std::string_view> have = segments(path);
  if (want.size() != have.size())
    return std::nullopt;
  std::vector<std::string> params;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!want[i].empty() && want[i].front() == ':') {
      if (have[i].empty())
        return std::nullopt;
      params.emplace_back(have[i]);
    } else if (want[i] != have[i]) {
      return std::nullopt;
    }
  }
  return params;
}

} // namespace

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {}

Router::Match Router::match(std::string_view method,
                            std::string_view path) const {
  if (method == "HEAD")
    method = "GET";
  std::size_t fewest = std::numeric_limits<std::size_t>::max();
  std::vector<std::pair<const Route *, std::vector<std::string>>> candidates;
  for (const Route &route : routes_)
    if (auto params = captures(route.pattern, path)) {
      fewest = std::min(fewest, params->size());
      candidates.emplace_back(&route, std::move(*params));
    }
  Match m;
  for (auto &[route, params] : candidates) {
    if (params.size() != fewest)
      continue;
    m.allowed.push_back(route->method);
    if (!m.route && route->method == method) {
      m.route = route;
      m.params = std::move(params);
    }
  }
  return m;
}

} // namespace xdpgate::api
