// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A PUT body that is a plain array of entries is read without a JSON tree;
// whatever it reads must be exactly what the general path (parse the JSON,
// then new_entries_from) makes of the same text, and every body it does not
// read is left to that path, which says what is wrong with it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/entry_array.hpp"
#include "api/list_input.hpp"
#include "api/request.hpp"

namespace xdpgate::api {
namespace {

// What the general path makes of `text`; nullopt when it refuses it.
std::optional<std::vector<NewEntry>> through_the_tree(const std::string &text) {
  Result<nlohmann::json> value = parse_json(text);
  if (!value)
    return std::nullopt;
  Result<std::vector<NewEntry>> entries = new_entries_from(*value);
  if (!entries)
    return std::nullopt;
  return std::move(*entries);
}

void expect_same(const std::vector<NewEntry> &got,
                 const std::vector<NewEntry> &want, const std::string &text) {
  ASSERT_EQ(got.size(), want.size()) << text;
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(text + " entry " + std::to_string(i));
    EXPECT_EQ(got[i].ip_range, want[i].ip_range);
    EXPECT_EQ(got[i].description, want[i].description);
    EXPECT_EQ(got[i].enabled, want[i].enabled);
    EXPECT_EQ(got[i].expires_at, want[i].expires_at);
  }
}

TEST(PlainEntryArray, ReadsEveryFieldAsTheGeneralPathDoes) {
  const std::string bodies[] = {
      "[]",
      R"([{"ip_range":"192.0.2.0/24"}])",
      R"( [ {"ip_range" : "192.0.2.0/24", "description": "office \u00e9\n"} ,
            {"description": null, "ip_range": "2001:db8::/32"},
            {"ip_range": "198.51.100.7", "enabled": false,
             "expires_at": 1767225600000},
            {"ip_range": "198.51.100.8", "enabled": true, "expires_at": null},
            {"ip_range": "not checked here", "description": ""} ] )",
  };
  for (const std::string &text : bodies) {
    std::optional<std::vector<NewEntry>> plain = plain_entry_array(text);
    std::optional<std::vector<NewEntry>> general = through_the_tree(text);
    ASSERT_TRUE(plain.has_value()) << text;
    ASSERT_TRUE(general.has_value()) << text;
    expect_same(*plain, *general, text);
  }
}

TEST(PlainEntryArray, KeepsNoneAndNullApart) {
  auto read = plain_entry_array(
      R"([{"ip_range":"192.0.2.1"},{"ip_range":"192.0.2.2","expires_at":null},
          {"ip_range":"192.0.2.3","expires_at":5}])");
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->size(), 3u);
  EXPECT_FALSE((*read)[0].expires_at.has_value()); // not given: unchanged
  ASSERT_TRUE((*read)[1].expires_at.has_value());  // null: no expiry
  EXPECT_FALSE((*read)[1].expires_at->has_value());
  EXPECT_EQ((*read)[2].expires_at, std::optional<std::optional<EpochMs>>(5));
  EXPECT_FALSE((*read)[0].enabled.has_value());
}

TEST(PlainEntryArray, LeavesEveryOtherBodyToTheGeneralPath) {
  const std::string bodies[] = {
      "",
      "null",
      R"({"ip_range":"192.0.2.0/24"})",
      R"(["192.0.2.0/24"])",
      R"([[{"ip_range":"192.0.2.0/24"}]])",
      R"([{"ip_range":"192.0.2.0/24"},5])",
      R"([{"description":"no range"}])",
      R"([{"ip_range":"192.0.2.0/24","ip_range":"192.0.2.1"}])",
      R"([{"ip_range":"192.0.2.0/24","comment":"x"}])",
      R"([{"ip_range":null}])",
      R"([{"ip_range":5}])",
      R"([{"ip_range":"192.0.2.0/24","description":7}])",
      R"([{"ip_range":"192.0.2.0/24","enabled":"yes"}])",
      R"([{"ip_range":"192.0.2.0/24","enabled":null}])",
      R"([{"ip_range":"192.0.2.0/24","expires_at":0}])",
      R"([{"ip_range":"192.0.2.0/24","expires_at":-5}])",
      R"([{"ip_range":"192.0.2.0/24","expires_at":1.5}])",
      R"([{"ip_range":"192.0.2.0/24","expires_at":9223372036854775808}])",
      R"([{"ip_range":"192.0.2.0/24","expires_at":"soon"}])",
      R"([{"ip_range":"192.0.2.0/24","description":{"a":1}}])",
      R"([{"ip_range":"192.0.2.0/24"}] trailing)",
      R"([{"ip_range":"192.0.2.0/24"})",
      "[{\"ip_range\":\"\xff\"}]",
  };
  for (const std::string &text : bodies) {
    EXPECT_FALSE(plain_entry_array(text).has_value()) << text;
    // Each is refused by the general path too, which says why.
    EXPECT_FALSE(through_the_tree(text).has_value()) << text;
  }
}

// Every body one edit away from a valid one, read by both: whatever the
// plain reader accepts, the general path accepts as the same entries.
TEST(PlainEntryArray, NeverReadsABodyOtherwiseThanTheGeneralPath) {
  const std::string valid =
      R"([{"ip_range":"192.0.2.0/24","description":"a\"b","enabled":true,)"
      R"("expires_at":17},{"ip_range":"2001:db8::1","description":null,)"
      R"("expires_at":null,"enabled":false}])";
  const std::string replacements = "{}[]\",:0-9. ntfe\\";
  std::size_t read = 0;
  auto compare = [&](const std::string &text) {
    std::optional<std::vector<NewEntry>> plain = plain_entry_array(text);
    if (!plain)
      return;
    ++read;
    std::optional<std::vector<NewEntry>> general = through_the_tree(text);
    ASSERT_TRUE(general.has_value()) << "only the plain reader took " << text;
    expect_same(*plain, *general, text);
  };
  compare(valid);
  for (std::size_t at = 0; at < valid.size(); ++at) {
    compare(valid.substr(0, at) + valid.substr(at + 1));
    for (char c : replacements) {
      std::string edited = valid;
      edited[at] = c;
      compare(edited);
      compare(valid.substr(0, at) + c + valid.substr(at));
    }
  }
  // The sweep reached accepted bodies besides the valid one, not only
  // refusals.
  EXPECT_GT(read, valid.size());
}

} // namespace
} // namespace xdpgate::api
