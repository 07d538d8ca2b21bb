// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// How the API answers: JSON bodies, errors as
// {"error": {"code", "message", "field"?}} with the status docs/API.md gives
// each code, and the JSON form of list records.
#pragma once

#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "list/list_service.hpp"

namespace xdpgate::api {

// Serialises without throwing: invalid UTF-8 from the input is replaced.
std::string json_text(const nlohmann::json &value);

void send_json(httplib::Response &res, int status, const nlohmann::json &body);
// `details` (an object) adds members to the error object, e.g. "lines".
nlohmann::json
error_body(const Error &error,
           const nlohmann::json &details = nlohmann::json::object());
void send_error(httplib::Response &res, const Error &error,
                const nlohmann::json &details = nlohmann::json::object());

// The error for an answer httplib gives on its own (malformed HTTP, 413, …).
Error error_for_status(int status);

nlohmann::json to_json(const EntryView &view);

} // namespace xdpgate::api
