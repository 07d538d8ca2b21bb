// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The audit of a change to many entries at once: an import, a replace, the
// deletion of the whole list. SPEC §2 wants every change audited with what
// it was before and after; one record per entry would make a million-entry
// import write a million JSON documents, and one record for all would be
// too big to read through the audit API. So: records of at most
// kEntriesPerRecord entries each, every one listing what it changed.
//
//   before: {"removed": [item…], "updated": [item…], <extra before>}
//   after:  {"added": [item…], "updated": [item…], <extra after>}
//   item:   {"id", "ip_range", "description", "enabled", "expires_at"}
//
// The k-th "updated" item of before and of after are the same entry. Empty
// arrays are left out, and a record with nothing before has an empty
// `before`. The first record also carries the caller's extra members
// (counts, the restriction state); a change with extras but no entries
// still gets that one record.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/entry.hpp"

namespace xdpgate {

class BulkAudit {
public:
  static constexpr std::size_t kEntriesPerRecord = 10000;

  // extra_before, extra_after: members (JSON objects) for the first
  // record's before and after.
  BulkAudit(std::string action, std::string actor, EpochMs at,
            nlohmann::json extra_before = nlohmann::json::object(),
            nlohmann::json extra_after = nlohmann::json::object());

  void removed(const Entry &before);
  void updated(const Entry &before, const Entry &after);
  void added(const Entry &after);

  // Appends the records to `out`.
  void write_to(std::vector<AuditRecord> &out) &&;

private:
  struct Arrays {
    std::string removed, updated_before, added, updated_after;
    std::size_t entries = 0;
  };
  void count_one();
  void flush();

  std::string action_, actor_;
  EpochMs at_;
  Arrays current_;
  nlohmann::json extra_before_, extra_after_;
  std::vector<AuditRecord> records_;
};

} // namespace xdpgate
