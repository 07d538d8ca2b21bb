// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/responses.hpp"

#include <utility>

#include "model/entry_json.hpp"

namespace xdpgate::api {

int status_for(std::string_view code) {
  static constexpr std::pair<std::string_view, int> kTable[] = {
      {"bad_request", 400},
      {"invalid_json", 400},
      {"invalid_field", 400},
      {"invalid_parameter", 400},
      {"forbidden", 403},
      {"not_found", 404},
      {"no_route", 404},
      {"method_not_allowed", 405},
      {"last_enabled_entry", 409},
      {"empty_list", 409},
      {"not_pending", 409},
      {"capacity_exceeded", 409},
      {"range_exists", 409},
      {"store_conflict", 409},
      {"body_too_large", 413},
      {"uri_too_long", 414},
      {"unsupported_media_type", 415},
      {"invalid_ip_range", 422},
      {"invalid_ip_address", 422},
      {"invalid_description", 422},
      {"invalid_csv", 422},
      {"invalid_value", 422},
      {"store_busy", 503},
      {"store_write_failed", 503},
  };
  for (const auto &[known, status] : kTable)
    if (known == code)
      return status;
  return 500;
}

std::string json_text(const nlohmann::json &value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response &res, int status, const nlohmann::json &body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

nlohmann::json error_body(const Error &error, const nlohmann::json &details) {
  nlohmann::json inner = details;
  inner["code"] = error.code;
  inner["message"] = error.message;
  if (!error.field.empty())
    inner["field"] = error.field;
  return {{"error", std::move(inner)}};
}

void send_error(httplib::Response &res, const Error &error,
                const nlohmann::json &details) {
  send_json(res, status_for(error.code), error_body(error, details));
}

Error error_for_status(int status) {
  switch (status) {
  case 403:
    return {"forbidden", "permission denied"};
  case 404:
    return {"no_route", "no such route"};
  case 413:
    return {"body_too_large", "the request body exceeds 64 MiB"};
  case 414:
    return {"uri_too_long", "the request target is too long"};
  case 500:
    return {"internal", "internal error"};
  default:
    if (status < 500)
      return {"bad_request", "malformed HTTP request"};
    return {"internal", "internal error"};
  }
}

nlohmann::json to_json(const EntryView &view) {
  nlohmann::json out = xdpgate::to_json(view.entry);
  out["hits"] = view.hits;
  out["last_hit_at"] = view.last_hit_at ? nlohmann::json(*view.last_hit_at)
                                        : nlohmann::json(nullptr);
  return out;
}

} // namespace xdpgate::api
