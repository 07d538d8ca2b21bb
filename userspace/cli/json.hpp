// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The CLI's JSON type. Objects keep the daemon's member order, so --json
// prints an answer as it was sent and tables show fields in the API's order.
#pragma once

#include <nlohmann/json.hpp>

namespace xdpgate::cli {

using json = nlohmann::ordered_json;

} // namespace xdpgate::cli
