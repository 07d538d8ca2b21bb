// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/csv.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <variant>

#include "common/quoted_input.hpp"
#include "list/description.hpp"
#include "list/repeated_ranges.hpp"

namespace xdpgate {
namespace {

// Column names in file order; a header names the first two or all four.
constexpr std::array<std::string_view, 4> kColumns = {
    "ip_address", "description", "enabled", "expires_at"};
constexpr std::string_view kHeader =
    "ip_address,description,enabled,expires_at";
constexpr std::string_view kTwoColumnHeader = "ip_address,description";
constexpr std::string_view kBom = "\xEF\xBB\xBF";

struct Record {
  std::size_t line;
  std::vector<std::string> fields;
  std::optional<std::string> error; // bad quoting; fields are then partial
};

// Splits RFC 4180 text into records while counting physical lines, so that
// a quoted field spanning lines does not shift the numbers that follow.
class RecordReader {
public:
  explicit RecordReader(std::string_view text) : text_(text) {}

  std::optional<Record> next() {
    while (std::size_t n = line_break_at(pos_)) // blank lines carry no record
      advance_line(n);
    if (pos_ >= text_.size())
      return std::nullopt;
    Record record{line_, {}, std::nullopt};
    for (;;) {
      std::string field;
      record.error = peek() == '"' ? read_quoted(field) : read_plain(field);
      if (record.error) {
        skip_rest_of_line();
        return record;
      }
      record.fields.push_back(std::move(field));
      if (peek() != ',')
        break;
      ++pos_;
    }
    advance_line(line_break_at(pos_));
    return record;
  }

private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool at_end() const { return pos_ >= text_.size(); }

  // Length of the line break at `at` (CRLF, LF or a lone CR), or 0.
  std::size_t line_break_at(std::size_t at) const {
    if (at >= text_.size())
      return 0;
    if (text_[at] == '\n')
      return 1;
    if (text_[at] == '\r')
      return at + 1 < text_.size() && text_[at + 1] == '\n' ? 2 : 1;
    return 0;
  }

  void advance_line(std::size_t break_length) {
    if (break_length == 0)
      return;
    pos_ += break_length;
    ++line_;
  }

  bool at_field_end() const {
    return at_end() || peek() == ',' || line_break_at(pos_) != 0;
  }

  // One scan for the field's end, one copy.
  std::optional<std::string> read_plain(std::string &out) {
    const std::size_t end = text_.find_first_of(",\r\n\"", pos_);
    const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
    out.assign(text_.substr(pos_, stop - pos_));
    pos_ = stop;
    if (peek() == '"')
      return "a quote (\") inside an unquoted field; quote the whole field "
             "and double the quotes inside it";
    return std::nullopt;
  }

  std::optional<std::string> read_quoted(std::string &out) {
    ++pos_; // the opening quote
    for (;;) {
      if (at_end())
        return "a quoted field starting on this line is never closed";
      if (std::size_t n = line_break_at(pos_)) {
        out += text_.substr(pos_, n);
        advance_line(n);
      } else if (peek() != '"') {
        out += text_[pos_++];
      } else if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        out += '"';
        pos_ += 2;
      } else {
        ++pos_; // the closing quote
        if (!at_field_end())
          return "unexpected text after a closing quote";
        return std::nullopt;
      }
    }
  }

  void skip_rest_of_line() {
    while (!at_end() && line_break_at(pos_) == 0)
      ++pos_;
    advance_line(line_break_at(pos_));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c);
  });
  return out;
}

std::string normalized_column(std::string_view name) {
  auto is_pad = [](char c) { return c == ' ' || c == '\t'; };
  while (!name.empty() && is_pad(name.front()))
    name.remove_prefix(1);
  while (!name.empty() && is_pad(name.back()))
    name.remove_suffix(1);
  return lowercase(name);
}

std::string expected_header() {
  return "the first line must be the header \"" + std::string(kHeader) +
         "\" or \"" + std::string(kTwoColumnHeader) + "\"";
}

// The number of columns the header declares (2 or 4), or why it is not a
// header.
std::variant<std::size_t, std::string> header_columns(const Record &header) {
  if (header.error)
    return *header.error;
  const auto &fields = header.fields;
  const bool known_count = fields.size() == 2 || fields.size() == 4;
  if (known_count &&
      std::equal(fields.begin(), fields.end(), kColumns.begin(),
                 [](const std::string &field, std::string_view column) {
                   return normalized_column(field) == column;
                 }))
    return fields.size();
  if (IpPrefix::parse(fields[0]).ok())
    return "the header is missing; " + expected_header();
  if (!known_count)
    return expected_header() + " (2 or 4 columns; found " +
           std::to_string(fields.size()) + ")";
  return expected_header() + " (those columns, in that order)";
}

// Empty means true, as for an entry added without saying.
std::variant<bool, std::string> enabled_field(std::string_view text) {
  const std::string value = lowercase(text);
  if (value.empty() || value == "true")
    return true;
  if (value == "false")
    return false;
  return "enabled " + quoted_input(text) +
         " must be true or false (empty means true)";
}

// Plain digits only: a sign, spaces, a leading zero or an exponent in a
// hand-edited file is more likely a mistake than a time.
std::variant<std::optional<std::int64_t>, std::string>
expires_field(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  std::int64_t ms = 0;
  const bool digits = text.find_first_not_of("0123456789") == text.npos;
  if (digits && text.front() != '0' &&
      std::from_chars(text.data(), text.data() + text.size(), ms).ec ==
          std::errc())
    return ms;
  return "expires_at " + quoted_input(text) +
         " must be empty (no expiry) or milliseconds since the epoch: 1 to "
         "9223372036854775807 in plain digits, no sign, spaces or leading "
         "zeros (1767225600000 is 2026-01-01 00:00 UTC)";
}

class RowValidator {
public:
  explicit RowValidator(std::size_t columns) : columns_(columns) {}

  // Returns the row, or the reason the record is rejected: every bad field,
  // so that one round of edits fixes the line.
  std::variant<CsvRow, std::string> check(Record &record) {
    auto &fields = record.fields;
    if (auto reason = field_count_error(fields.size()))
      return *reason;
    CsvRow row{record.line, {}, std::nullopt, std::nullopt, std::nullopt};
    std::string reasons;
    auto add_reason = [&reasons](const std::string &reason) {
      reasons += (reasons.empty() ? "" : "; ") + reason;
    };
    if (auto range = IpPrefix::parse(fields[0], "ip_address"))
      row.range = *range;
    else
      add_reason(range.error().message);
    if (fields.size() >= 2 && !fields[1].empty()) {
      if (auto reason = description_error(fields[1]))
        add_reason(*reason);
      else
        row.description = std::move(fields[1]);
    }
    if (columns_ == 4) {
      auto enabled = enabled_field(fields[2]);
      if (auto *reason = std::get_if<std::string>(&enabled))
        add_reason(*reason);
      else
        row.enabled = std::get<bool>(enabled);
      auto expires = expires_field(fields[3]);
      if (auto *reason = std::get_if<std::string>(&expires))
        add_reason(*reason);
      else
        row.expires_at = std::get<std::optional<std::int64_t>>(expires);
    }
    if (!reasons.empty())
      return reasons;
    return row;
  }

private:
  // A two-column record may leave out its description; a four-column one
  // gives every field (see csv.hpp for why).
  std::optional<std::string> field_count_error(std::size_t count) const {
    if (count == columns_ || (columns_ == 2 && count == 1))
      return std::nullopt;
    std::string error =
        "expected " + std::to_string(columns_) + " fields (" +
        std::string(columns_ == 2 ? kTwoColumnHeader : kHeader) +
        ") but found " + std::to_string(count);
    if (count > columns_)
      return error + "; quote a description that contains commas";
    return error + "; give all four, with enabled empty for true and "
                   "expires_at empty for no expiry";
  }

  std::size_t columns_;
};

// Rejects each row whose range an earlier row has, naming that row's line.
void reject_repeated_ranges(CsvParseResult &result) {
  std::vector<std::pair<IpPrefix, std::size_t>> lines; // range, line
  lines.reserve(result.rows.size());
  for (const CsvRow &row : result.rows)
    lines.emplace_back(row.range, row.line);
  std::vector<std::size_t> repeat_lines; // in order, as repeated_ranges gives
  for (const RepeatedRange &r : repeated_ranges(std::move(lines))) {
    repeat_lines.push_back(r.place);
    result.errors.push_back(
        {r.place, "duplicate of line " + std::to_string(r.first) +
                      " (both are " + r.range.to_string() + ")"});
  }
  if (repeat_lines.empty())
    return;
  std::erase_if(result.rows, [&](const CsvRow &row) {
    return std::binary_search(repeat_lines.begin(), repeat_lines.end(),
                              row.line);
  });
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const CsvLineError &a, const CsvLineError &b) {
                     return a.line < b.line;
                   });
}

bool needs_quotes(std::string_view field) {
  auto is_pad = [](char c) { return c == ' ' || c == '\t'; };
  return field.find_first_of(",\"\r\n") != std::string_view::npos ||
         (!field.empty() && (is_pad(field.front()) || is_pad(field.back())));
}

std::string csv_field(std::string_view field) {
  if (!needs_quotes(field))
    return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"')
      out += '"';
    out += c;
  }
  return out + "\"";
}

} // namespace

CsvParseResult parse_allowlist_csv(std::string_view text) {
  if (text.starts_with(kBom))
    text.remove_prefix(kBom.size());
  RecordReader reader(text);
  CsvParseResult result;

  auto header = reader.next();
  if (!header) {
    result.errors.push_back({1, "the file is empty; " + expected_header()});
    return result;
  }
  auto columns = header_columns(*header);
  if (auto *reason = std::get_if<std::string>(&columns)) {
    result.errors.push_back({header->line, std::move(*reason)});
    return result;
  }

  // A row per line at most: one allocation instead of a growing vector.
  const auto lines =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  result.rows.reserve(lines + 1);
  RowValidator validator(std::get<std::size_t>(columns));
  while (auto record = reader.next()) {
    if (record->error) {
      result.errors.push_back({record->line, std::move(*record->error)});
      continue;
    }
    auto checked = validator.check(*record);
    if (auto *reason = std::get_if<std::string>(&checked))
      result.errors.push_back({record->line, std::move(*reason)});
    else
      result.rows.push_back(std::get<CsvRow>(std::move(checked)));
  }
  reject_repeated_ranges(result);
  return result;
}

std::string csv_export_header() { return std::string(kHeader) + "\n"; }

void append_csv_row(std::string &out, const CsvExportRow &row) {
  out += row.range.to_string();
  out += ',';
  if (row.description)
    out += csv_field(*row.description);
  out += row.enabled ? ",true," : ",false,";
  if (row.expires_at)
    out += std::to_string(*row.expires_at);
  out += '\n';
}

std::string format_allowlist_csv(const std::vector<CsvExportRow> &rows) {
  std::string out = csv_export_header();
  for (const CsvExportRow &row : rows)
    append_csv_row(out, row);
  return out;
}

} // namespace xdpgate
