// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A streamed list writes each entry's JSON text itself (api/entry_text.*):
// it must be byte for byte what the library makes of to_json(), for every
// kind of text an entry can hold (escapes, UTF-8, invalid bytes, the empty
// string), every absent value and every number's extremes.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "api/entry_text.hpp"
#include "api/responses.hpp"

namespace xdpgate::test {
namespace {

IpPrefix prefix(const char *text) { return *IpPrefix::parse(text); }

std::string made_by_library(const EntryView &view) {
  return api::json_text(api::to_json(view));
}

std::string written(const EntryView &view) {
  std::string out = "[kept]";
  api::append_entry_text(out, view);
  return out.substr(6);
}

const std::vector<std::string> kTexts = {
    "",
    "office VPN",
    "quote \" and backslash \\ and slash /",
    "tab\there, newline\n, return\r, bell\a, nul in the middle",
    std::string("nul\0byte", 8),
    "delete \x7f and unit separator \x1f",
    "Zürich office, 東京, emoji 🛡",
    "invalid UTF-8: \xff\xfe and a cut sequence \xe2\x82",
    std::string(256, 'x'),
};

TEST(EntryText, IsTheLibrarysTextForEveryKindOfString) {
  for (const std::string &text : kTexts) {
    EntryView view;
    view.entry.id = "ip_0123456789";
    view.entry.range = prefix("198.18.0.0/15");
    view.entry.description = text;
    view.entry.created_by = text;
    EXPECT_EQ(written(view), made_by_library(view)) << "text: " << text;
  }
}

TEST(EntryText, IsTheLibrarysTextForAbsentValuesAndExtremeNumbers) {
  EntryView view;
  view.entry.id = "ip_zzzzzzzzzz";
  view.entry.range = prefix("2001:db8::/32");
  view.entry.enabled = false;
  view.entry.created_by = "root";
  EXPECT_EQ(written(view), made_by_library(view));

  view.entry.created_at = std::numeric_limits<EpochMs>::min();
  view.entry.updated_at = std::numeric_limits<EpochMs>::max();
  view.entry.expires_at = 0;
  view.hits = std::numeric_limits<std::uint64_t>::max();
  view.last_hit_at = -1;
  EXPECT_EQ(written(view), made_by_library(view));
}

TEST(EntryText, IsTheLibrarysTextForRandomEntries) {
  std::mt19937_64 rng(19);
  const std::vector<const char *> ranges = {
      "198.18.7.1/32",   "198.18.0.0/16",      "0.0.0.0/0",
      "2001:db8::1/128", "2001:db8:ff00::/40", "::/0"};
  for (int i = 0; i < 2000; ++i) {
    EntryView view;
    view.entry.id = "ip_" + std::to_string(rng() % 10'000'000'000);
    view.entry.range = prefix(ranges[rng() % ranges.size()]);
    if (rng() % 2)
      view.entry.description = kTexts[rng() % kTexts.size()];
    view.entry.enabled = rng() % 2;
    view.entry.created_by =
        rng() % 2 ? "deploy" : kTexts[rng() % kTexts.size()];
    view.entry.created_at = static_cast<EpochMs>(rng() >> 20);
    if (rng() % 2)
      view.entry.updated_at = static_cast<EpochMs>(rng() >> 20);
    if (rng() % 2)
      view.entry.expires_at = static_cast<EpochMs>(rng() >> 20);
    view.hits = rng() >> (rng() % 64);
    if (rng() % 2)
      view.last_hit_at = static_cast<EpochMs>(rng() >> 20);
    ASSERT_EQ(written(view), made_by_library(view)) << "entry " << i;
  }
}

} // namespace
} // namespace xdpgate::test
