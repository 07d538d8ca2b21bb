// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/responses.hpp"

#include <utility>

#include "model/entry_json.hpp"

namespace xdpgate::api {

std::string json_text(const nlohmann::json &value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response &res, int status, const nlohmann::json &body) {
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

void send_error(httplib::Response &res, const Error &error,
                const nlohmann::json &details) {
  send_json(res, http_status(error.code), error_body(error, details));
}

Error error_for_status(int status) {
  switch (status) {
  case 403:
    return {ErrorCode::Forbidden, "permission denied"};
  case 404:
    return {ErrorCode::NoRoute, "no such route"};
  case 413:
    return {ErrorCode::BodyTooLarge, "the request body exceeds 64 MiB"};
  case 414:
    return {ErrorCode::UriTooLong, "the request target is too long"};
  case 500:
    return {ErrorCode::Internal, "internal error"};
  default:
    if (status < 500)
      return {ErrorCode::BadRequest, "malformed HTTP request"};
    return {ErrorCode::Internal, "internal error"};
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
