// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// CSV import and export (SPEC §3).
#include "list/list_core.hpp"

#include <unordered_set>

namespace xdpgate {

namespace {

// What upserting `wanted` (and, with replace, removing every other range)
// would do to the list.
ChangeSummary summary_of(const std::vector<Wanted> &wanted, bool replace,
                         const ListIndex &index) {
  ChangeSummary summary;
  std::unordered_set<IpPrefix> in_file;
  if (replace)
    in_file.reserve(wanted.size());
  for (const Wanted &w : wanted) {
    if (replace)
      in_file.insert(w.range);
    auto listed = index.find(w.range);
    if (listed == index.end()) {
      summary.added.note(w.range);
      continue;
    }
    const Entry before = index.entry(listed);
    if (upserted(before, Wanted(w)) == before)
      summary.unchanged.note(w.range);
    else
      summary.updated.note(w.range);
  }
  if (replace)
    for (auto it = index.begin(); it != index.end(); ++it)
      if (!in_file.count(it->second.range))
        summary.removed.note(it->second.range);
  return summary;
}

} // namespace

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
  // One lock for the summary and the change, so the answer describes the
  // change made, and what a replace keeps of an entry is what it has now.
  std::lock_guard lock(impl_->mutex);
  Impl &impl = *impl_;
  report.summary = summary_of(wanted, replace, impl.index);
  if (replace) {
    if (auto done = impl.replace(std::move(wanted), actor, force); !done)
      return done.error();
  } else if (!wanted.empty()) {
    if (auto done = impl.upsert(std::move(wanted), actor,
                                Impl::AuditStyle::Bulk, force);
        !done)
      return done.error();
  }
  return report;
}

} // namespace xdpgate
