// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Human-readable output: aligned text tables and the rendering of the API's
// JSON values (null, times, numbers) as table cells.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/json.hpp"

namespace xdpgate::cli {

struct Column {
  std::string title;
  bool right_aligned = false; // numbers line up on their last digit
};

// Columns separated by two spaces, widths from the widest cell (counted in
// UTF-8 characters), the last column never padded.
class Table {
public:
  explicit Table(std::vector<Column> columns);
  // Missing cells print empty; cells past the last column are dropped, so a
  // caller may build full rows and declare an optional column or not.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  void print(std::ostream &out) const;

private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// `key: value` lines with the values aligned.
void print_fields(std::ostream &out,
                  const std::vector<std::pair<std::string, std::string>> &kv);

// The member `key` of `object`, or null when `object` has no such member
// (answers from another daemon version must not crash the CLI).
const json &member(const json &object, std::string_view key);

// Printable text of one value: "-" for null, strings without quotes,
// numbers and booleans as JSON writes them.
std::string text(const json &value);
// A time in milliseconds since the epoch as ISO 8601 UTC; "-" for null.
std::string time_text(const json &value);
// Control characters escaped and long text cut, so one cell stays one line.
std::string cell(std::string_view text, std::size_t max_chars = 48);

} // namespace xdpgate::cli
