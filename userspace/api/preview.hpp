// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// ?dry_run=true on the routes that change the list or the restriction
// (SPEC §3): the route's own handler runs inside the list service's dry
// run, so a preview validates and answers exactly as the real call, and the
// answer gains what the change would do to traffic.
#pragma once

#include "api/backend.hpp"
#include "api/router.hpp"

namespace xdpgate::api {

// The header that names the caller's own address (the CLI sends the SSH
// client's), for `impact.caller_cut_off`.
inline constexpr const char *kClientAddressHeader = "X-Client-Address";

// `handler`, answering ?dry_run=true as a preview. The route must list
// "dry_run" among its query parameters.
RouteHandler previewed(const ApiBackend &backend, RouteHandler handler);

} // namespace xdpgate::api
