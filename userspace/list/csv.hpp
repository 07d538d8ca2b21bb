// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The allow list's CSV import/export format (RFC 4180).
//
// Import: the first non-blank line is the header, either
// "ip_address,description,enabled,expires_at" (what export writes) or
// "ip_address,description" (an optional UTF-8 BOM before it; column names
// match case-insensitively and may be padded with spaces or tabs; nothing
// else is accepted). The header fixes the columns of every record:
//   - two columns: "ip_address[,description]". The row gives no enabled or
//     expires_at, so an import keeps what an existing entry has.
//   - four columns: exactly four fields, none omitted. `enabled` is "true"
//     or "false" (any case; empty means true); `expires_at` is empty (no
//     expiry) or epoch milliseconds as a positive decimal number (no sign,
//     spaces or leading zeros). Every row sets both. A short row is
//     rejected rather than read with defaults: "1.2.3.4,x" means "keep the
//     state" in a two-column file, and must not quietly mean "enable and
//     clear the expiry" here.
// An empty description means none. Fields may be quoted ("" escapes a quote;
// quoted fields may span lines). Line ends are CRLF, LF or CR; blank lines
// are ignored anywhere. Every bad record is reported once, with the
// physical line it starts on and each of its bad fields; a bad header is
// the only error reported, since the rows then mean nothing.
//
// Export: the four-column header, then one LF-terminated line per entry,
// quoting a description only when it must (comma, quote, CR/LF, leading or
// trailing space/tab). format_allowlist_csv then parse_allowlist_csv gives
// the same rows back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/ip_prefix.hpp"

namespace xdpgate {

struct CsvRow {
  std::size_t line; // 1-based physical line the record starts on
  IpPrefix range;
  std::optional<std::string> description;
  // Given only by the four-column form; absent: the importer keeps what the
  // entry has (or the defaults for a new entry).
  std::optional<bool> enabled;
  std::optional<std::optional<std::int64_t>> expires_at; // {nullopt}: none
};

// One entry as export writes it.
struct CsvExportRow {
  IpPrefix range;
  std::optional<std::string> description;
  bool enabled = true;
  std::optional<std::int64_t> expires_at; // epoch milliseconds
};

struct CsvLineError {
  std::size_t line; // 1-based physical line the record starts on
  std::string message;
};

// The file is accepted only when `errors` is empty; `rows` then holds every
// entry in file order, with no two rows for the same range.
struct CsvParseResult {
  std::vector<CsvRow> rows;
  std::vector<CsvLineError> errors;
};

CsvParseResult parse_allowlist_csv(std::string_view text);

std::string format_allowlist_csv(const std::vector<CsvExportRow> &rows);
// The same in pieces, for an export streamed as it is made: the header
// line, then each row's line.
std::string csv_export_header();
void append_csv_row(std::string &out, const CsvExportRow &row);

} // namespace xdpgate
