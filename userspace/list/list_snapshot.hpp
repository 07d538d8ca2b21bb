// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A part of the list as it was at one moment, copied under the service's
// lock in the index's compact form (144 bytes an entry, where its JSON text
// takes about 200). An answer of any size is then made and sent piece by
// piece without the lock: a slow reader does not hold up writers, and a
// change made meanwhile does not show half in it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "list/kernel_port.hpp"
#include "list/list_index.hpp"
#include "list/list_service.hpp"

namespace xdpgate {

class ListSnapshot {
public:
  std::size_t size() const { return rows_.size(); }
  // Entries in the list (or enabled ones) when the snapshot was taken, of
  // which this holds [offset, offset + size()).
  std::size_t total() const { return total_; }
  EntryView view(std::size_t i) const;
  CsvExportRow csv_row(std::size_t i) const;

private:
  friend class ListService;
  struct Row {
    EntryId id;
    ListIndex::Listed listed;
    KernelHits hits; // past and kernel's, when the snapshot reads them
  };
  std::vector<Row> rows_;
  std::vector<std::string> creators_;
  std::size_t total_ = 0;
};

} // namespace xdpgate
