// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The Prometheus text (exposition format 0.0.4) of the data path's counters
// and the list: GET /metrics on the API socket, and over TCP when
// metrics_address is set (MetricsServer).
#pragma once

#include <string>

#include "api/backend.hpp"

namespace xdpgate::api {

inline constexpr const char *kMetricsContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const ApiBackend &backend);

} // namespace xdpgate::api
