// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The routes of docs/API.md, by area. Each handler reads its input strictly,
// calls the backend and answers with JSON (or CSV, or Prometheus text).
// Handlers keep a reference to `backend`, which must outlive them.
#pragma once

#include <vector>

#include "api/backend.hpp"
#include "api/router.hpp"

namespace xdpgate::api {

inline constexpr const char *kListPrefix = "/api/admin/ip-allowlist";

// The entries: list, get, add, replace, update, delete, enable, disable,
// check, import, export.
std::vector<Route> list_routes(const ApiBackend &backend);
// Restriction and observation: status, activate, deactivate, confirm, audit,
// denied.
std::vector<Route> state_routes(const ApiBackend &backend);
// GET /denied?follow=true: a streamed answer (routes_follow.cpp).
void follow_denied(const ApiBackend &backend, const Call &call, Response &res);
nlohmann::json denied_event_json(const DeniedEvent &event);
// GET /metrics.
std::vector<Route> metrics_routes(const ApiBackend &backend);

// A handler of the form f(backend, call, response) bound to `backend`.
template <auto Handler> RouteHandler bound(const ApiBackend &backend) {
  return [&backend](const Call &call, Response &res) {
    Handler(backend, call, res);
  };
}

} // namespace xdpgate::api
