// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/tables.hpp"

#include <algorithm>
#include <cstdio>

#include "cli/timestamps.hpp"

namespace xdpgate::cli {

namespace {

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::size_t display_width(std::string_view s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return !is_continuation(c); });
}

void pad(std::ostream &out, std::size_t n) {
  for (; n > 0; --n)
    out << ' ';
}

} // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream &out) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = display_width(columns_[c].title);
    for (const auto &row : rows_)
      width[c] = std::max(width[c], display_width(row[c]));
  }
  auto print_row = [&](auto cell_at) {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      std::string_view value = cell_at(c);
      std::size_t gap = width[c] - display_width(value);
      bool last = c + 1 == columns_.size();
      if (c > 0)
        out << "  ";
      if (columns_[c].right_aligned)
        pad(out, gap);
      out << value;
      if (!columns_[c].right_aligned && !last)
        pad(out, gap);
    }
    out << '\n';
  };
  print_row(
      [&](std::size_t c) -> std::string_view { return columns_[c].title; });
  for (const auto &row : rows_)
    print_row([&](std::size_t c) -> std::string_view { return row[c]; });
}

void print_fields(std::ostream &out,
                  const std::vector<std::pair<std::string, std::string>> &kv) {
  std::size_t width = 0;
  for (const auto &[key, value] : kv)
    width = std::max(width, key.size());
  for (const auto &[key, value] : kv) {
    out << key << ':';
    pad(out, width - key.size() + 1);
    out << value << '\n';
  }
}

const json &member(const json &object, std::string_view key) {
  static const json null_value;
  if (!object.is_object())
    return null_value;
  auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::string text(const json &value) {
  if (value.is_null())
    return "-";
  if (value.is_string())
    return value.get<std::string>();
  return value.dump();
}

std::string time_text(const json &value) {
  if (value.is_number_integer())
    return format_utc(value.get<std::int64_t>());
  return text(value);
}

std::string cell(std::string_view text, std::size_t max_chars) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (!is_continuation(text[i]) && ++chars > max_chars) {
      out += "…";
      break;
    }
    if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    } else {
      out += text[i];
    }
  }
  return out;
}

} // namespace xdpgate::cli
