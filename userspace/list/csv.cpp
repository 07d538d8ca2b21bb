// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/csv.hpp"

#include <algorithm>
#include <unordered_map>
#include <variant>

#include "list/description.hpp"

namespace xdpgate {
namespace {

constexpr std::string_view kHeader = "ip_address,description";
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

std::string normalized_column(std::string_view name) {
  auto is_pad = [](char c) { return c == ' ' || c == '\t'; };
  while (!name.empty() && is_pad(name.front()))
    name.remove_prefix(1);
  while (!name.empty() && is_pad(name.back()))
    name.remove_suffix(1);
  std::string out(name);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : char(c);
  });
  return out;
}

std::optional<std::string> header_error(const Record &header) {
  if (header.error)
    return *header.error;
  const auto &fields = header.fields;
  if (fields.size() == 2 && normalized_column(fields[0]) == "ip_address" &&
      normalized_column(fields[1]) == "description")
    return std::nullopt;
  const std::string expected =
      "the first line must be the header \"" + std::string(kHeader) + "\"";
  if (fields.size() <= 2 && IpPrefix::parse(fields[0]).ok())
    return "the header is missing; " + expected;
  if (fields.size() != 2)
    return expected + " (2 columns; found " + std::to_string(fields.size()) +
           ")";
  return expected + " (those two columns, in that order)";
}

class RowValidator {
public:
  explicit RowValidator(std::size_t rows) { first_line_.reserve(rows); }

  // Returns the row, or the reason the record is rejected.
  std::variant<CsvRow, std::string> check(Record &record) {
    auto &fields = record.fields;
    if (fields.size() > 2)
      return "expected 2 fields (ip_address,description) but found " +
             std::to_string(fields.size()) +
             "; quote a description that contains commas";
    auto range = IpPrefix::parse(fields[0], "ip_address");
    if (!range)
      return range.error().message;
    CsvRow row{record.line, *range, std::nullopt};
    if (fields.size() == 2 && !fields[1].empty()) {
      if (auto reason = description_error(fields[1]))
        return *reason;
      row.description = std::move(fields[1]);
    }
    auto [first, inserted] = first_line_.emplace(row.range, row.line);
    if (!inserted)
      return "duplicate of line " + std::to_string(first->second) +
             " (both are " + row.range.to_string() + ")";
    return row;
  }

private:
  std::unordered_map<IpPrefix, std::size_t> first_line_;
};

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
    result.errors.push_back({1, "the file is empty; the first line must be "
                                "the header \"" +
                                    std::string(kHeader) + "\""});
    return result;
  }
  if (auto reason = header_error(*header)) {
    result.errors.push_back({header->line, std::move(*reason)});
    return result;
  }

  // A row per line at most: one allocation instead of a growing vector.
  const auto lines =
      static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  result.rows.reserve(lines + 1);
  RowValidator validator(lines + 1);
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
  return result;
}

std::string format_allowlist_csv(
    const std::vector<std::pair<IpPrefix, std::optional<std::string>>> &rows) {
  std::string out = std::string(kHeader) + "\n";
  for (const auto &[range, description] : rows) {
    out += range.to_string();
    out += ',';
    if (description)
      out += csv_field(*description);
    out += '\n';
  }
  return out;
}

} // namespace xdpgate
