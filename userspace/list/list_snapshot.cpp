// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/list_snapshot.hpp"

namespace xdpgate {

EntryView ListSnapshot::view(std::size_t i) const {
  const Row &row = rows_[i];
  return EntryView{ListIndex::entry(row.id, row.listed, creators_),
                   row.hits.packets, row.hits.last_hit_at};
}

CsvExportRow ListSnapshot::csv_row(std::size_t i) const {
  const ListIndex::Listed &l = rows_[i].listed;
  return CsvExportRow{l.range,
                      l.description.empty()
                          ? std::nullopt
                          : std::optional<std::string>(l.description),
                      l.enabled, ListIndex::time(l.expires_at)};
}

} // namespace xdpgate
