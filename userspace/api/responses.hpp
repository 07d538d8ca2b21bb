// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// How the API answers: JSON bodies, errors as
// {"error": {"code", "message", "field"?}} with the status docs/API.md gives
// each code, and the JSON form of list records.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "api/http_message.hpp"
#include "common/result.hpp"
#include "list/list_service.hpp"

namespace xdpgate::api {

// Serialises without throwing: invalid UTF-8 from the input is replaced.
std::string json_text(const nlohmann::json &value);

void send_json(Response &res, int status, const nlohmann::json &body);
// `details` (an object) adds members to the error object, e.g. "lines".
nlohmann::json
error_body(const Error &error,
           const nlohmann::json &details = nlohmann::json::object());
void send_error(Response &res, const Error &error,
                const nlohmann::json &details = nlohmann::json::object());
Response error_response(const Error &error);

// 413: a body past `limit`, the limit of the route it was sent to.
Error too_large(std::uint64_t limit);

nlohmann::json to_json(const EntryView &view);

} // namespace xdpgate::api
