// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/timestamps.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>

namespace xdpgate::cli {

namespace {

// Reads exactly `width` digits at `pos`, advancing it.
std::optional<int> digits(std::string_view text, std::size_t &pos,
                          std::size_t width) {
  if (pos + width > text.size())
    return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

bool take(std::string_view text, std::size_t &pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

std::optional<std::int64_t> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  auto year = digits(text, pos, 4);
  if (!year || !take(text, pos, '-'))
    return std::nullopt;
  auto month = digits(text, pos, 2);
  if (!month || !take(text, pos, '-'))
    return std::nullopt;
  auto day = digits(text, pos, 2);
  if (!day)
    return std::nullopt;
  year_month_day date{std::chrono::year(*year),
                      std::chrono::month(unsigned(*month)),
                      std::chrono::day(unsigned(*day))};
  if (!date.ok())
    return std::nullopt;
  milliseconds ms = sys_days(date).time_since_epoch();
  if (pos == text.size())
    return ms.count();

  if (!take(text, pos, 'T') && !take(text, pos, ' '))
    return std::nullopt;
  auto hour = digits(text, pos, 2);
  if (!hour || *hour > 23 || !take(text, pos, ':'))
    return std::nullopt;
  auto minute = digits(text, pos, 2);
  if (!minute || *minute > 59)
    return std::nullopt;
  ms += hours(*hour) + minutes(*minute);
  if (take(text, pos, ':')) {
    auto second = digits(text, pos, 2);
    if (!second || *second > 59)
      return std::nullopt;
    ms += seconds(*second);
    if (take(text, pos, '.')) {
      // The API counts milliseconds: finer digits (date -Ins) are cut off.
      std::size_t start = pos;
      int fraction = 0;
      for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos)
        if (pos - start < 3)
          fraction = fraction * 10 + (text[pos] - '0');
      if (pos == start)
        return std::nullopt;
      for (std::size_t n = pos - start; n < 3; ++n)
        fraction *= 10;
      ms += milliseconds(fraction);
    }
  }
  if (pos == text.size() || take(text, pos, 'Z'))
    return pos == text.size() ? std::optional(ms.count()) : std::nullopt;

  bool east = text[pos] == '+';
  if (!take(text, pos, '+') && !take(text, pos, '-'))
    return std::nullopt;
  auto off_hour = digits(text, pos, 2);
  take(text, pos, ':');
  auto off_minute = digits(text, pos, 2);
  if (!off_hour || !off_minute || *off_hour > 23 || *off_minute > 59 ||
      pos != text.size())
    return std::nullopt;
  minutes offset = hours(*off_hour) + minutes(*off_minute);
  ms += east ? -offset : offset;
  return ms.count();
}

} // namespace

std::string format_utc(std::int64_t epoch_ms) {
  using namespace std::chrono;
  sys_time<milliseconds> at{milliseconds(epoch_ms)};
  sys_days day = floor<days>(at);
  year_month_day date{day};
  hh_mm_ss time{at - day};
  char out[40];
  int n = std::snprintf(
      out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d", int(date.year()),
      unsigned(date.month()), unsigned(date.day()), int(time.hours().count()),
      int(time.minutes().count()), int(time.seconds().count()));
  if (auto ms = time.subseconds().count(); ms != 0)
    std::snprintf(out + n, sizeof out - n, ".%03d", int(ms));
  return std::string(out) + "Z";
}

Result<std::int64_t> parse_timestamp(std::string_view text,
                                     std::string_view field) {
  std::int64_t epoch_ms = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), epoch_ms);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty())
    return epoch_ms;
  if (auto parsed = parse_iso8601(text))
    return *parsed;
  return Error{ErrorCode::InvalidValue,
               std::string(field) + " \"" + std::string(text) +
                   "\": expected ISO 8601 (2025-12-31T18:00:00Z) or "
                   "milliseconds since the epoch",
               std::string(field)};
}

} // namespace xdpgate::cli
