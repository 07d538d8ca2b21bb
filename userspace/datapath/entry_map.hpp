// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Where each family keeps every entry with its slot, for a restarted daemon
// to read back: a record in an array map (include/xdpgate/abi.h), which
// packets never read. IPv4's has a row for every slot; IPv6's is sized to
// the IPv6 list, and each row names its slot. Private to userspace/datapath/.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "datapath/prefix_table.hpp"
#include "net/ip_prefix.hpp"

namespace xdpgate {

using FoundEntry = std::function<void(const IpPrefix &, std::uint32_t slot)>;

// An empty record map of `rows` rows in the family's layout (also the
// template of the outer map that holds the record in force).
Result<Fd> create_record_map(Family family, std::uint32_t rows);

// One family's record in the kernel, and which of its rows each entry is in.
class EntryRecord {
public:
  // A new empty record for a daemon of `capacity`, with room for `entries`
  // IPv6 entries and an eighth more (an IPv4 record has a row for each of
  // the 2 x capacity slots of both families, whatever `entries`).
  static Result<EntryRecord> create(Family family, std::uint32_t capacity,
                                    std::size_t entries);
  // The rows create() makes the record of.
  static std::uint32_t rows_for(Family family, std::uint32_t capacity,
                                std::size_t entries);
  // The record `fd` a previous process wrote, calling `found` with each of
  // its entries.
  static Result<EntryRecord> read(Fd fd, Family family,
                                  const FoundEntry &found);

  int fd() const { return fd_.get(); }
  std::uint32_t rows() const { return rows_; }
  // Whether `count` more entries have rows free. An IPv4 record always
  // has: each slot owns its row.
  bool fits(std::size_t count) const;
  // Writes `entries` (each range once, none listed here yet) in one batch;
  // `done`, if given, gets how many the kernel took, in order, even on
  // failure.
  Status write(std::span<const PrefixSlot> entries, const char *what,
               std::uint32_t *done = nullptr);
  // Frees the row of `range`, held in `slot`.
  Status erase(const IpPrefix &range, std::uint32_t slot);

private:
  EntryRecord(Family family, Fd fd, std::uint32_t rows)
      : family_(family), fd_(std::move(fd)), rows_(rows) {}

  Family family_;
  Fd fd_;
  std::uint32_t rows_;
  // IPv6 only: the row each slot's entry is in, and the rows free (the
  // lowest last, taken first).
  std::vector<std::uint32_t> row_of_slot_;
  std::vector<std::uint32_t> free_rows_;
};

// Calls `found` with every entry and its slot of an LPM trie: where an
// xdpgate before the records kept them.
Status read_legacy_trie(int trie_fd, Family family, const FoundEntry &found);

// Calls `found` with every address of an exact-host table and its slot.
Status read_hosts(int host_table_fd, Family family, const FoundEntry &found);

} // namespace xdpgate
