// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/audit_records.hpp"

#include "model/entry_json.hpp"

namespace xdpgate {

namespace {

std::string json_text(const std::optional<Entry> &entry) {
  return entry ? to_json(*entry).dump() : std::string();
}

} // namespace

AuditRecord entry_audit(EpochMs at, const std::string &actor,
                        const std::string &action, const std::string &entry_id,
                        const std::optional<Entry> &before,
                        const std::optional<Entry> &after) {
  return AuditRecord{
      0, at, actor, action, entry_id, json_text(before), json_text(after)};
}

AuditRecord state_audit(EpochMs at, const std::string &actor,
                        const std::string &action,
                        const RestrictionState &before,
                        const RestrictionState &after) {
  return AuditRecord{
      0, at, actor, action, "", to_json(before).dump(), to_json(after).dump()};
}

} // namespace xdpgate
