// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// JSON request bodies into ListService requests. Only shapes and types are
// checked here (400 invalid_field); the service judges the values (422).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "list/list_service.hpp"

namespace xdpgate::api {

// {ip_range, description?, enabled?, expires_at?}; `prefix` names the array
// element in errors ("[2].").
Result<NewEntry> new_entry_from(const nlohmann::json &body,
                                const std::string &prefix);
// An array of such objects.
Result<std::vector<NewEntry>> new_entries_from(const nlohmann::json &body);
// {ip_range?, description?, enabled?, expires_at?}
Result<EntryPatch> patch_from(const nlohmann::json &body);
// {mode?, allow_empty?, confirm_within_s?}, or no body at all.
Result<ActivateRequest>
activate_request_from(const std::optional<nlohmann::json> &body);
// {ip_address}
Result<std::string> address_from(const nlohmann::json &body);

} // namespace xdpgate::api
