// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "model/entry_json.hpp"

namespace xdpgate {

namespace {
template <typename T> nlohmann::json or_null(const std::optional<T> &value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}
} // namespace

nlohmann::json to_json(const Entry &entry) {
  return {{"id", entry.id},
          {"ip_range", entry.range.to_string()},
          {"description", or_null(entry.description)},
          {"enabled", entry.enabled},
          {"created_by", entry.created_by},
          {"created_at", entry.created_at},
          {"updated_at", or_null(entry.updated_at)},
          {"expires_at", or_null(entry.expires_at)}};
}

nlohmann::json to_json(const RestrictionState &state) {
  return {{"mode", to_string(state.mode)},
          {"restriction_active", state.active()},
          {"confirm_deadline", or_null(state.confirm_deadline)},
          {"revert_mode", to_string(state.revert_mode)}};
}

} // namespace xdpgate
