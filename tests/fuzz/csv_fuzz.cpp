// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// parse_allowlist_csv on arbitrary bytes, read twice: as the whole file, and
// as the records of a four-column file (that header put before them), so
// that every input also reaches the enabled and expires_at fields.
// Properties: nothing crashes; an accepted file has rows on real lines with
// no range twice, and either every row sets enabled and expires_at (the
// four-column form) or none does; exporting the rows (format_allowlist_csv)
// parses back to the same rows, as a fixed point; a rejected file names, for
// every error, a line between 1 and one past the last line, with a message.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "list/csv.hpp"

namespace {

using xdpgate::CsvExportRow;
using xdpgate::CsvParseResult;
using xdpgate::IpPrefix;

[[noreturn]] void fail(std::string_view input, const std::string &why) {
  std::fprintf(stderr, "csv_fuzz: %s\n  input (%zu bytes): \"%.*s\"\n",
               why.c_str(), input.size(), static_cast<int>(input.size()),
               input.data());
  std::abort();
}

// Physical lines: CRLF, LF and a lone CR each end one.
std::size_t count_lines(std::string_view text) {
  std::size_t lines = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
      ++i;
    if (text[i] == '\r' || text[i] == '\n')
      ++lines;
  }
  return lines;
}

// The entries an import of these rows gives to new entries.
std::vector<CsvExportRow> rows_of(const CsvParseResult &result) {
  std::vector<CsvExportRow> rows;
  for (const auto &row : result.rows)
    rows.push_back({row.range, row.description, row.enabled.value_or(true),
                    row.expires_at.value_or(std::nullopt)});
  return rows;
}

bool same_rows(const std::vector<CsvExportRow> &a,
               const std::vector<CsvExportRow> &b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].range != b[i].range || a[i].description != b[i].description ||
        a[i].enabled != b[i].enabled || a[i].expires_at != b[i].expires_at)
      return false;
  return true;
}

void check(std::string_view input) {
  CsvParseResult result = xdpgate::parse_allowlist_csv(input);
  std::size_t lines = count_lines(input);

  if (!result.errors.empty()) {
    for (const auto &error : result.errors) {
      if (error.line < 1 || error.line > lines + 1)
        fail(input, "error on line " + std::to_string(error.line) + " of a " +
                        std::to_string(lines) + "-line file: " + error.message);
      if (error.message.empty())
        fail(input,
             "error without a message on line " + std::to_string(error.line));
    }
    return;
  }

  std::set<IpPrefix> seen;
  std::size_t previous_line = 0;
  const bool four_columns =
      !result.rows.empty() && result.rows.front().enabled.has_value();
  for (const auto &row : result.rows) {
    if (row.line < 2 || row.line > lines)
      fail(input, "row on line " + std::to_string(row.line) + " of a " +
                      std::to_string(lines) + "-line file");
    if (row.line <= previous_line)
      fail(input, "rows out of file order");
    previous_line = row.line;
    if (!seen.insert(row.range).second)
      fail(input, "range listed twice: " + row.range.to_string());
    if (row.description && row.description->empty())
      fail(input, "an empty description must read as none");
    if (row.enabled.has_value() != four_columns ||
        row.expires_at.has_value() != four_columns)
      fail(input, "rows of one file disagree on setting enabled and "
                  "expires_at (line " +
                      std::to_string(row.line) + ")");
    if (row.expires_at && *row.expires_at && **row.expires_at <= 0)
      fail(input,
           "an expiry that is not a time on line " + std::to_string(row.line));
  }

  std::vector<CsvExportRow> rows = rows_of(result);
  std::string exported = xdpgate::format_allowlist_csv(rows);
  CsvParseResult again = xdpgate::parse_allowlist_csv(exported);
  if (!again.errors.empty())
    fail(input, "the export is rejected on line " +
                    std::to_string(again.errors.front().line) + ": " +
                    again.errors.front().message + "\n  export: " + exported);
  for (const auto &row : again.rows)
    if (!row.enabled || !row.expires_at)
      fail(input, "an exported row leaves enabled or expires_at to the "
                  "entry\n  export: " +
                      exported);
  if (!same_rows(rows_of(again), rows))
    fail(input, "the export reads back as other rows\n  export: " + exported);
  if (xdpgate::format_allowlist_csv(rows_of(again)) != exported)
    fail(input, "exporting is not a fixed point\n  export: " + exported);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  std::string_view input(reinterpret_cast<const char *>(data), size);
  check(input);
  check("ip_address,description,enabled,expires_at\n" + std::string(input));
  return 0;
}
