// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// CSV import and export (SPEC §3).
#include "list/list_core.hpp"

namespace xdpgate {

Result<ImportReport> ListService::import_csv(std::string_view text,
                                             bool replace,
                                             const std::string &actor,
                                             bool force) {
  ReleaseMemoryAfter release;
  ImportReport report;
  report.replace = replace;
  CsvParseResult parsed = parse_allowlist_csv(text);
  release.entries = parsed.rows.size();
  if (!parsed.errors.empty()) {
    report.errors = std::move(parsed.errors);
    return report;
  }
  // The parser checked every row (ranges, descriptions, no range twice).
  std::vector<Wanted> wanted;
  wanted.reserve(parsed.rows.size());
  for (CsvRow &row : parsed.rows)
    wanted.push_back(
        {row.range, std::move(row.description), row.enabled, row.expires_at});
  parsed = {};
  // The change notes what it does to each range: the answer describes the
  // change made.
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  if (replace) {
    if (Status s =
            impl.replace(std::move(wanted), actor, force, &report.summary);
        !s)
      return s.error();
  } else if (!wanted.empty()) {
    if (auto done = impl.upsert(std::move(wanted), actor,
                                Impl::AuditStyle::Bulk, force, &report.summary);
        !done)
      return done.error();
  }
  return report;
}

} // namespace xdpgate
