// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The audit records of changes to one entry or to the restriction: who, when,
// what, and the JSON of before and after (bulk_audit.hpp makes those of
// changes to many entries).
#pragma once

#include <optional>
#include <string>

#include "model/entry.hpp"

namespace xdpgate {

AuditRecord entry_audit(EpochMs at, const std::string &actor,
                        const std::string &action, const std::string &entry_id,
                        const std::optional<Entry> &before,
                        const std::optional<Entry> &after);

AuditRecord state_audit(EpochMs at, const std::string &actor,
                        const std::string &action,
                        const RestrictionState &before,
                        const RestrictionState &after);

} // namespace xdpgate
