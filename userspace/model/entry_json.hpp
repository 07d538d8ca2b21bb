// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The JSON form of list records, shared by the API answers and the audit log.
#pragma once

#include <nlohmann/json.hpp>

#include "model/entry.hpp"

namespace xdpgate {

nlohmann::json to_json(const Entry &entry);
nlohmann::json to_json(const RestrictionState &state);

} // namespace xdpgate
