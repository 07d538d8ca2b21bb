// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/responses.hpp"

#include <utility>

#include "model/entry_json.hpp"

namespace xdpgate::api {

std::string json_text(const nlohmann::json &value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(Response &res, int status, const nlohmann::json &body) {
  res.status = status;
  res.set_content(json_text(body), "application/json");
}

nlohmann::json error_body(const Error &error, const nlohmann::json &details) {
  nlohmann::json inner = details;
  inner["code"] = wire_name(error.code);
  inner["message"] = error.message;
  if (!error.field.empty())
    inner["field"] = error.field;
  return {{"error", std::move(inner)}};
}

void send_error(Response &res, const Error &error,
                const nlohmann::json &details) {
  send_json(res, http_status(error.code), error_body(error, details));
  res.error = error.code;
}

Response error_response(const Error &error) {
  Response res;
  send_error(res, error);
  return res;
}

namespace {

std::string size_text(std::uint64_t bytes) {
  constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes % kMiB == 0)
    return std::to_string(bytes / kMiB) + " MiB";
  if (bytes % kKiB == 0)
    return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

} // namespace

Error too_large(std::uint64_t limit) {
  return {ErrorCode::BodyTooLarge, "the request body exceeds " +
                                       size_text(limit) +
                                       ", the limit of this route"};
}

nlohmann::json to_json(const EntryView &view) {
  nlohmann::json out = xdpgate::to_json(view.entry);
  out["hits"] = view.hits;
  out["last_hit_at"] = view.last_hit_at ? nlohmann::json(*view.last_hit_at)
                                        : nlohmann::json(nullptr);
  return out;
}

} // namespace xdpgate::api
