// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/list_input.hpp"

#include "api/request.hpp"

namespace xdpgate::api {

namespace {

Status read_expiry(const Fields &f,
                   std::optional<std::optional<EpochMs>> &out) {
  if (!f.has("expires_at"))
    return {};
  Result<std::optional<std::int64_t>> at = f.nullable_integer("expires_at");
  if (!at)
    return at.error();
  if (*at && **at <= 0)
    return Error{
        ErrorCode::InvalidValue,
        f.field("expires_at") +
            ": must be a time in milliseconds since the epoch, or null",
        f.field("expires_at")};
  out = *at;
  return {};
}

} // namespace

Result<NewEntry> new_entry_from(const nlohmann::json &body,
                                const std::string &prefix) {
  Result<Fields> f = Fields::of(
      body, {"ip_range", "description", "enabled", "expires_at"}, prefix);
  if (!f)
    return f.error();
  NewEntry e;
  Result<std::string> range = f->string("ip_range");
  if (!range)
    return range.error();
  e.ip_range = std::move(*range);
  if (f->has("description")) {
    Result<std::optional<std::string>> d = f->nullable_string("description");
    if (!d)
      return d.error();
    e.description = std::move(*d);
  }
  if (f->has("enabled")) {
    Result<bool> enabled = f->boolean("enabled");
    if (!enabled)
      return enabled.error();
    e.enabled = *enabled;
  }
  std::optional<std::optional<EpochMs>> expiry;
  if (Status s = read_expiry(*f, expiry); !s)
    return s.error();
  if (expiry)
    e.expires_at = *expiry;
  return e;
}

Result<std::vector<NewEntry>> new_entries_from(const nlohmann::json &body) {
  if (!body.is_array())
    return invalid_field("body", "expected an array of entries");
  std::vector<NewEntry> out;
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    Result<NewEntry> e =
        new_entry_from(body[i], "[" + std::to_string(i) + "].");
    if (!e)
      return e.error();
    out.push_back(std::move(*e));
  }
  return out;
}

Result<EntryPatch> patch_from(const nlohmann::json &body) {
  Result<Fields> f =
      Fields::of(body, {"ip_range", "description", "enabled", "expires_at"});
  if (!f)
    return f.error();
  EntryPatch patch;
  if (f->has("ip_range")) {
    Result<std::string> range = f->string("ip_range");
    if (!range)
      return range.error();
    patch.ip_range = std::move(*range);
  }
  if (f->has("description")) {
    Result<std::optional<std::string>> d = f->nullable_string("description");
    if (!d)
      return d.error();
    patch.description = std::move(*d);
  }
  if (f->has("enabled")) {
    Result<bool> enabled = f->boolean("enabled");
    if (!enabled)
      return enabled.error();
    patch.enabled = *enabled;
  }
  if (Status s = read_expiry(*f, patch.expires_at); !s)
    return s.error();
  return patch;
}

Result<ActivateRequest>
activate_request_from(const std::optional<nlohmann::json> &body) {
  ActivateRequest request;
  if (!body)
    return request;
  Result<Fields> f =
      Fields::of(*body, {"mode", "allow_empty", "confirm_within_s"});
  if (!f)
    return f.error();
  if (f->has("mode")) {
    Result<std::string> mode = f->string("mode");
    if (!mode)
      return mode.error();
    if (*mode == "enforce")
      request.mode = Mode::Enforce;
    else if (*mode == "monitor")
      request.mode = Mode::Monitor;
    else
      return Error{ErrorCode::InvalidValue,
                   "mode must be \"enforce\" or \"monitor\"", "mode"};
  }
  if (f->has("allow_empty")) {
    Result<bool> allow = f->boolean("allow_empty");
    if (!allow)
      return allow.error();
    request.allow_empty = *allow;
  }
  if (f->has("confirm_within_s")) {
    Result<std::int64_t> s = f->integer("confirm_within_s");
    if (!s)
      return s.error();
    request.confirm_within_s = *s;
  }
  return request;
}

Result<std::string> address_from(const nlohmann::json &body) {
  Result<Fields> f = Fields::of(body, {"ip_address"});
  if (!f)
    return f.error();
  return f->string("ip_address");
}

} // namespace xdpgate::api
