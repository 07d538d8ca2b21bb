// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "list/csv.hpp"
#include "list/description.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace xdpgate {
namespace {

IpPrefix prefix(std::string_view text) { return IpPrefix::parse(text).value(); }

// Parses text that must be accepted.
std::vector<CsvRow> accepted(std::string_view text) {
  auto result = parse_allowlist_csv(text);
  for (const auto &error : result.errors)
    ADD_FAILURE() << "line " << error.line << ": " << error.message;
  return result.rows;
}

// The (line, message) errors of text that must be rejected.
std::vector<CsvLineError> rejected(std::string_view text) {
  auto result = parse_allowlist_csv(text);
  EXPECT_FALSE(result.errors.empty()) << text;
  return result.errors;
}

// The expiry a four-column row sets: always given, maybe as none.
std::optional<std::int64_t> expiry_set_by(const CsvRow &row) {
  EXPECT_TRUE(row.expires_at.has_value()) << "line " << row.line;
  return row.expires_at.value_or(std::nullopt);
}

bool mentions(const CsvLineError &error, std::string_view part) {
  return error.message.find(part) != std::string::npos;
}

TEST(CsvParse, ReadsRangesAndDescriptions) {
  auto rows = accepted("ip_address,description\n"
                       "10.0.0.0/8,office\n"
                       "2001:DB8::/32,lab\n"
                       "198.18.0.1/32,\n"
                       "198.18.0.2\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].range, prefix("10.0.0.0/8"));
  EXPECT_EQ(rows[0].description, "office");
  EXPECT_EQ(rows[1].range.to_string(), "2001:db8::/32");
  EXPECT_EQ(rows[2].range.to_string(), "198.18.0.1");
  EXPECT_EQ(rows[2].description, std::nullopt); // empty means none
  EXPECT_EQ(rows[3].description, std::nullopt); // one field means none
  EXPECT_EQ(rows[3].line, 5u);
}

TEST(CsvParse, TwoColumnRowsLeaveEnabledAndExpiryToTheEntry) {
  auto rows = accepted("ip_address,description\n10.0.0.0/8,office\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].enabled, std::nullopt);
  EXPECT_EQ(rows[0].expires_at, std::nullopt);
}

TEST(CsvParse, HeaderOnlyIsAnEmptyList) {
  EXPECT_TRUE(accepted("ip_address,description\n").empty());
  EXPECT_TRUE(accepted("ip_address,description").empty());
}

TEST(CsvParse, AcceptsUtf8BomCrlfAndTrailingBlankLines) {
  auto rows = accepted("\xEF\xBB\xBFip_address,description\r\n"
                       "10.0.0.0/8,office\r\n"
                       "10.1.0.0/16,lab\r\n"
                       "\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].line, 3u);
  EXPECT_EQ(rows[1].description, "lab");
}

TEST(CsvParse, BlankLinesAreIgnoredButCounted) {
  auto rows = accepted("ip_address,description\n\n10.0.0.0/8,a\n\n\n1.2.3.4");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 3u);
  EXPECT_EQ(rows[1].line, 6u);
}

TEST(CsvParse, LoneCarriageReturnEndsALine) {
  auto rows = accepted("ip_address,description\r10.0.0.0/8,a\r1.2.3.4,b\r");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].line, 3u);
}

TEST(CsvParse, HeaderIgnoresCaseAndPaddingAndMayBeQuoted) {
  EXPECT_EQ(accepted("IP_Address , Description\n1.2.3.4,a\n").size(), 1u);
  EXPECT_EQ(accepted("\"ip_address\",\"description\"\n1.2.3.4\n").size(), 1u);
}

TEST(CsvParse, QuotedFieldsMayHoldCommasQuotesAndSpaces) {
  auto rows = accepted("ip_address,description\n"
                       "\"10.0.0.0/8\",\"office, 3rd floor\"\n"
                       "10.1.0.0/16,\"the \"\"lab\"\"\"\n"
                       "10.2.0.0/16,\"  padded  \"\n"
                       "10.3.0.0/16,\"\"\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].description, "office, 3rd floor");
  EXPECT_EQ(rows[1].description, "the \"lab\"");
  EXPECT_EQ(rows[2].description, "  padded  ");
  EXPECT_EQ(rows[3].description, std::nullopt);
}

TEST(CsvParse, DescriptionMayHoldUtf8AndTabs) {
  auto rows =
      accepted("ip_address,description\n"
               "10.0.0.0/8,B\xC3\xBCro M\xC3\xBCnchen \xF0\x9F\x8F\xA2\n"
               "10.1.0.0/16,a\tb\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].description, "B\xC3\xBCro M\xC3\xBCnchen \xF0\x9F\x8F\xA2");
  EXPECT_EQ(rows[1].description, "a\tb");
}

TEST(CsvParse, EmbeddedNewlineInQuotesIsOneRecordAndLinesStayPhysical) {
  auto errors = rejected("ip_address,description\n"
                         "10.0.0.0/8,\"first\nsecond\"\n"
                         "1.2.3\n");
  ASSERT_EQ(errors.size(), 2u);
  // Descriptions are single-line, so the record is reported where it starts,
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_TRUE(mentions(errors[0], "line breaks"));
  // and the next record keeps its physical line number.
  EXPECT_EQ(errors[1].line, 4u);
  EXPECT_TRUE(mentions(errors[1], "ip_address \"1.2.3\""));
}

TEST(CsvParse, QuotedNewlineInIpAddressFieldIsRejectedAsWhitespace) {
  auto errors = rejected("ip_address,description\r\n"
                         "\"10.0.0.0/8\r\n\",x\r\n"
                         "1.2.3.4,\"unclosed\r\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_TRUE(mentions(errors[0], "whitespace"));
  EXPECT_EQ(errors[1].line, 4u);
  EXPECT_TRUE(mentions(errors[1], "never closed"));
}

TEST(CsvParse, RejectsBadQuoting) {
  auto errors = rejected("ip_address,description\n"
                         "10.0.0.0/8,\"closed\" early\n"
                         "10.1.0.0/16,say \"hi\"\n"
                         "10.2.0.0/16,fine\n"
                         "10.3.0.0/16,\"never closed\n"
                         "10.4.0.0/16,swallowed\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_TRUE(mentions(errors[0], "after a closing quote"));
  EXPECT_EQ(errors[1].line, 3u);
  EXPECT_TRUE(mentions(errors[1], "inside an unquoted field"));
  EXPECT_EQ(errors[2].line, 5u);
  EXPECT_TRUE(mentions(errors[2], "never closed"));
}

TEST(CsvParse, RejectsWrongFieldCount) {
  auto errors = rejected("ip_address,description\n"
                         "10.0.0.0/8,office,3rd floor\n"
                         "10.1.0.0/16,a,b,c\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_TRUE(mentions(errors[0], "found 3"));
  EXPECT_TRUE(mentions(errors[0], "quote a description"));
  EXPECT_TRUE(mentions(errors[1], "found 4"));
}

TEST(CsvParse, InvalidIpAddressNamesTheFieldAndSuggestsTheFix) {
  auto errors = rejected("ip_address,description\n192.168.1.5/24,x\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "ip_address \"192.168.1.5/24\" has host bits "
                               "set; did you mean \"192.168.1.0/24\"?");
}

TEST(CsvParse, RejectsOverlongOrInvalidDescriptions) {
  std::string limit(kMaxDescriptionBytes, 'a');
  EXPECT_EQ(accepted("ip_address,description\n1.2.3.4," + limit).size(), 1u);
  // 128 two-byte characters are exactly 256 bytes; one more is too many.
  std::string umlauts;
  for (int i = 0; i < 128; ++i)
    umlauts += "\xC3\xBC";
  EXPECT_EQ(accepted("ip_address,description\n1.2.3.4," + umlauts).size(), 1u);

  auto errors =
      rejected("ip_address,description\n"
               "1.2.3.4," +
               limit + "a\n" + "1.2.3.5," + umlauts + "\xC3\xBC\n" +
               "1.2.3.6,bad \xC3\x28 byte\n" + "1.2.3.7,nul \x01 byte\n");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_TRUE(mentions(errors[0], "at most 256 UTF-8 bytes (it has 257)"));
  EXPECT_TRUE(mentions(errors[1], "it has 258"));
  EXPECT_TRUE(mentions(errors[2], "not valid UTF-8"));
  EXPECT_TRUE(mentions(errors[3], "control characters"));
}

TEST(CsvParse, DuplicateAfterCanonicalisationNamesTheFirstLine) {
  auto errors = rejected("ip_address,description\n"
                         "10.0.0.1,a\n"
                         "2001:db8::/32,b\n"
                         "10.0.0.1/32,c\n"
                         "2001:DB8:0::/32,d\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 4u);
  EXPECT_EQ(errors[0].message, "duplicate of line 2 (both are 10.0.0.1)");
  EXPECT_EQ(errors[1].line, 5u);
  EXPECT_EQ(errors[1].message, "duplicate of line 3 (both are 2001:db8::/32)");
}

TEST(CsvParse, EveryRepeatOfARangeNamesItsFirstLineInLineOrder) {
  auto errors = rejected("ip_address,description\n"
                         "10.0.0.1,a\n"
                         "10.0.0.1,b\n"
                         "bad,c\n"
                         "10.0.0.1/32,d\n"
                         "10.0.0.1,e\n");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].line, 3u);
  EXPECT_EQ(errors[0].message, "duplicate of line 2 (both are 10.0.0.1)");
  EXPECT_EQ(errors[1].line, 4u);
  EXPECT_TRUE(mentions(errors[1], "ip_address \"bad\""));
  EXPECT_EQ(errors[2].line, 5u);
  EXPECT_EQ(errors[2].message, "duplicate of line 2 (both are 10.0.0.1)");
  EXPECT_EQ(errors[3].line, 6u);
  EXPECT_EQ(errors[3].message, "duplicate of line 2 (both are 10.0.0.1)");
}

TEST(CsvParse, ReportsEveryBadLineWithItsNumber) {
  auto result = parse_allowlist_csv("ip_address,description\n"
                                    "10.0.0.0/8,ok\n"
                                    "1.2.3,bad\n"
                                    "10.0.0.0/33\n"
                                    "11.0.0.0/8,ok\n"
                                    " 12.0.0.0/8,space\n"
                                    "13.0.0.0/8,a,b\n"
                                    "10.0.0.0/8,dup\n"
                                    ",no address\n");
  std::vector<std::size_t> lines;
  for (const auto &error : result.errors)
    lines.push_back(error.line);
  EXPECT_EQ(lines, (std::vector<std::size_t>{3, 4, 6, 7, 8, 9}));
  EXPECT_TRUE(mentions(result.errors[5], "must not be empty"));
}

TEST(CsvHeader, MissingHeaderIsReportedOnLineOne) {
  auto errors = rejected("10.0.0.0/8,office\n10.1.0.0/16,lab\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 1u);
  EXPECT_TRUE(mentions(errors[0], "header is missing"));
  EXPECT_TRUE(mentions(rejected("10.0.0.0/8\n")[0], "header is missing"));
  EXPECT_TRUE(
      mentions(rejected("10.0.0.0/8,office,false,\n")[0], "header is missing"));
}

TEST(CsvHeader, EmptyFileIsRejected) {
  for (std::string_view text : {"", "\xEF\xBB\xBF", "\n\r\n"}) {
    auto errors = rejected(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, 1u);
    EXPECT_TRUE(mentions(errors[0], "empty"));
  }
}

TEST(CsvHeader, AnErrorNamesBothAcceptedHeaders) {
  for (std::string_view text :
       {"", "ip,desc\n", "10.0.0.0/8\n", "ip_address,description,enabled\n"}) {
    auto errors = rejected(text);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(mentions(errors[0], "\"ip_address,description,enabled,"
                                    "expires_at\" or \"ip_address,"
                                    "description\""))
        << errors[0].message;
  }
}

TEST(CsvHeader, WrongOrderOrColumnCountIsTheOnlyErrorReported) {
  auto swapped = rejected("description,ip_address\noffice,10.0.0.0/8\n");
  ASSERT_EQ(swapped.size(), 1u);
  EXPECT_TRUE(mentions(swapped[0], "in that order"));
  EXPECT_TRUE(
      mentions(rejected("ip_address,description,expires_at,enabled\n")[0],
               "in that order"));

  auto three = rejected("ip_address,description,enabled\n1.2.3.4,a,true\n");
  ASSERT_EQ(three.size(), 1u);
  EXPECT_EQ(three[0].line, 1u);
  EXPECT_TRUE(mentions(three[0], "2 or 4 columns; found 3"));
  EXPECT_TRUE(
      mentions(rejected("ip_address,description,enabled,expires_at,id\n")[0],
               "found 5"));

  auto single = rejected("ip_address\n1.2.3.4\n");
  ASSERT_EQ(single.size(), 1u);
  EXPECT_TRUE(mentions(single[0], "found 1"));

  EXPECT_EQ(rejected("ip,desc\n")[0].line, 1u);
  EXPECT_TRUE(mentions(rejected("\"ip_address,description\n")[0], "never"));
}

TEST(CsvFourColumns, ReadsEnabledAndExpiry) {
  auto rows = accepted("ip_address,description,enabled,expires_at\n"
                       "10.0.0.0/8,office,true,\n"
                       "10.1.0.0/16,,false,1767225600000\n"
                       "10.2.0.0/16,vendor,TRUE,1\n"
                       "10.3.0.0/16,lab,False,9223372036854775807\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].range, prefix("10.0.0.0/8"));
  EXPECT_EQ(rows[0].description, "office");
  EXPECT_EQ(rows[0].enabled, true);
  // Set, to no expiry: an import clears an expiry the entry has.
  EXPECT_EQ(expiry_set_by(rows[0]), std::nullopt);
  EXPECT_EQ(rows[1].description, std::nullopt);
  EXPECT_EQ(rows[1].enabled, false);
  EXPECT_EQ(expiry_set_by(rows[1]), 1767225600000);
  EXPECT_EQ(rows[2].enabled, true);
  EXPECT_EQ(expiry_set_by(rows[2]), 1);
  EXPECT_EQ(rows[3].enabled, false);
  EXPECT_EQ(expiry_set_by(rows[3]), 9223372036854775807);
}

TEST(CsvFourColumns, EmptyEnabledMeansTrue) {
  auto rows = accepted("ip_address,description,enabled,expires_at\n"
                       "10.0.0.0/8,office,,\n"
                       "10.1.0.0/16,,,\n");
  ASSERT_EQ(rows.size(), 2u);
  for (const auto &row : rows) {
    EXPECT_EQ(row.enabled, true);
    EXPECT_EQ(expiry_set_by(row), std::nullopt);
  }
}

TEST(CsvFourColumns, HeaderIgnoresCaseAndPaddingAndMayBeQuoted) {
  EXPECT_EQ(accepted("\xEF\xBB\xBFIP_Address , Description,\tEnabled,"
                     "EXPIRES_AT \r\n1.2.3.4,a,false,5\r\n")
                .size(),
            1u);
  auto rows = accepted("\"ip_address\",\"description\",\"enabled\","
                       "\"expires_at\"\n"
                       "\"10.0.0.0/8\",\"a, b\",\"false\",\"1700000000000\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].description, "a, b");
  EXPECT_EQ(rows[0].enabled, false);
  EXPECT_EQ(expiry_set_by(rows[0]), 1700000000000);
}

// A short row is refused, not read with defaults: in a two-column file
// "10.0.0.0/8,office" keeps the entry's state, and here it would not.
TEST(CsvFourColumns, EveryRowGivesAllFourFields) {
  auto errors = rejected("ip_address,description,enabled,expires_at\n"
                         "10.0.0.0/8\n"
                         "10.1.0.0/16,office\n"
                         "10.2.0.0/16,office,false\n"
                         "10.3.0.0/16,office, 3rd floor,true,\n");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_EQ(errors[1].message,
            "expected 4 fields (ip_address,description,enabled,expires_at) "
            "but found 2; give all four, with enabled empty for true and "
            "expires_at empty for no expiry");
  EXPECT_TRUE(mentions(errors[0], "found 1"));
  EXPECT_TRUE(mentions(errors[2], "found 3"));
  EXPECT_TRUE(mentions(errors[3], "found 5"));
  EXPECT_TRUE(mentions(errors[3], "quote a description"));
}

TEST(CsvFourColumns, EnabledIsTrueOrFalse) {
  for (std::string_view bad :
       {"yes", "no", "1", "0", "t", "truee", " true", "false ", "\"\"\"\""}) {
    auto errors = rejected("ip_address,description,enabled,expires_at\n"
                           "10.0.0.0/8,office," +
                           std::string(bad) + ",\n");
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].line, 2u);
    EXPECT_TRUE(mentions(errors[0], "enabled \"")) << errors[0].message;
    EXPECT_TRUE(mentions(errors[0], "must be true or false (empty means true)"))
        << errors[0].message;
  }
  EXPECT_EQ(rejected("ip_address,description,enabled,expires_at\n"
                     "10.0.0.0/8,office,yes,\n")[0]
                .message,
            "enabled \"yes\" must be true or false (empty means true)");
}

TEST(CsvFourColumns, ExpiryIsEmptyOrPositiveEpochMilliseconds) {
  for (std::string_view bad : {
           "0",                    // not a time
           "-1",                   // no sign
           "+1767225600000",       // no sign
           "01767225600000",       // no leading zero
           " 1767225600000",       // no spaces
           "1767225600000 ",       // no spaces
           "1767225600000.0",      // whole milliseconds
           "1.7e12",               // no exponent
           "0x10",                 // decimal
           "2026-01-01T00:00:00Z", // not a date
           "9223372036854775808",  // beyond int64
           "99999999999999999999", // beyond int64
           "never",
       }) {
    auto errors = rejected("ip_address,description,enabled,expires_at\n"
                           "10.0.0.0/8,office,true," +
                           std::string(bad) + "\n");
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_EQ(errors[0].line, 2u);
    EXPECT_TRUE(mentions(errors[0], "expires_at \"")) << errors[0].message;
    EXPECT_TRUE(mentions(errors[0], "must be empty (no expiry) or "
                                    "milliseconds since the epoch"))
        << errors[0].message;
  }
  EXPECT_EQ(rejected("ip_address,description,enabled,expires_at\n"
                     "10.0.0.0/8,office,true,-1\n")[0]
                .message,
            "expires_at \"-1\" must be empty (no expiry) or milliseconds "
            "since the epoch: 1 to 9223372036854775807 in plain digits, no "
            "sign, spaces or leading zeros (1767225600000 is 2026-01-01 "
            "00:00 UTC)");
}

TEST(CsvFourColumns, ReportsEveryBadFieldOfALineInOneError) {
  auto errors = rejected("ip_address,description,enabled,expires_at\n"
                         "10.0.0.0/8,ok,true,\n"
                         "1.2.3,\"a\x01b\",maybe,soon\n"
                         "10.1.0.0/16,ok,no,\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 3u);
  EXPECT_TRUE(mentions(errors[0], "ip_address \"1.2.3\""));
  EXPECT_TRUE(mentions(errors[0], "control characters"));
  EXPECT_TRUE(mentions(errors[0], "enabled \"maybe\""));
  EXPECT_TRUE(mentions(errors[0], "expires_at \"soon\""));
  EXPECT_EQ(errors[1].line, 4u);
}

TEST(CsvFourColumns, DuplicatesAreRejectedAsInTwoColumns) {
  auto errors = rejected("ip_address,description,enabled,expires_at\n"
                         "10.0.0.1,a,true,\n"
                         "10.0.0.1/32,b,false,5\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "duplicate of line 2 (both are 10.0.0.1)");
}

TEST(CsvFormat, WritesFourColumnsAndQuotesOnlyWhenNeeded) {
  std::vector<CsvExportRow> rows = {
      {prefix("10.0.0.0/8"), "office", true, std::nullopt},
      {prefix("2001:db8::1"), std::nullopt, false, std::nullopt},
      {prefix("10.1.0.0/16"), "a, b", true, 1767225600000},
      {prefix("10.2.0.0/16"), "say \"hi\"", false, 1},
      {prefix("10.3.0.0/16"), " lead", true, std::nullopt},
      {prefix("10.4.0.0/16"), "trail\t", true, std::nullopt},
      {prefix("10.5.0.0/16"), "in between ok", true, std::nullopt},
      {prefix("10.6.0.0/16"), "two\nlines", true, std::nullopt},
  };
  EXPECT_EQ(format_allowlist_csv(rows),
            "ip_address,description,enabled,expires_at\n"
            "10.0.0.0/8,office,true,\n"
            "2001:db8::1,,false,\n"
            "10.1.0.0/16,\"a, b\",true,1767225600000\n"
            "10.2.0.0/16,\"say \"\"hi\"\"\",false,1\n"
            "10.3.0.0/16,\" lead\",true,\n"
            "10.4.0.0/16,\"trail\t\",true,\n"
            "10.5.0.0/16,in between ok,true,\n"
            "10.6.0.0/16,\"two\nlines\",true,\n");
  EXPECT_EQ(format_allowlist_csv({}),
            "ip_address,description,enabled,expires_at\n");
}

// Field by field, a parsed row against the entry it was exported from.
void expect_same_entry(const CsvRow &parsed, const CsvExportRow &exported) {
  EXPECT_EQ(parsed.range, exported.range);
  EXPECT_EQ(parsed.description, exported.description);
  EXPECT_EQ(parsed.enabled, exported.enabled);
  EXPECT_EQ(expiry_set_by(parsed), exported.expires_at);
}

// What a backup then restore relies on: disabled and expiring entries too.
TEST(CsvFormat, FormatThenParseGivesTheSameRows) {
  std::string long_text(kMaxDescriptionBytes, 'x');
  std::vector<CsvExportRow> rows = {
      {prefix("10.0.0.0/8"), "office", true, std::nullopt},
      {prefix("::ffff:1.2.3.4"), std::nullopt, false, std::nullopt},
      {prefix("2001:db8::/32"), "a, \"quoted\", b", true, 1767225600000},
      {prefix("0.0.0.0/0"), "  spaces  ", false, 1767225600000},
      {prefix("::/0"), "tab\there", true, 1},
      {prefix("198.18.0.1"), "\xE2\x82\xAC uro", true,
       std::numeric_limits<std::int64_t>::max()},
      {prefix("198.18.0.2"), long_text, true, std::nullopt},
      {prefix("198.18.0.3"), "\"", true, std::nullopt},
      {prefix("198.18.0.4"), ",", true, std::nullopt},
  };
  auto parsed = accepted(format_allowlist_csv(rows));
  ASSERT_EQ(parsed.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(parsed[i].line, i + 2);
    expect_same_entry(parsed[i], rows[i]);
  }
}

TEST(CsvFormat, RoundTripHoldsForRandomEntries) {
  // Pieces chosen to hit every quoting rule; a fixed seed keeps it stable.
  const std::vector<std::string> pieces = {
      "a", " ", "\t", ",", "\"", "\"\"", "x y", "\xC3\xBC", "\xF0\x9F\x8F\xA2"};
  std::mt19937 rng(20240501);
  std::uniform_int_distribution<std::int64_t> any_time(
      1, std::numeric_limits<std::int64_t>::max());
  for (int round = 0; round < 200; ++round) {
    std::vector<CsvExportRow> rows;
    const std::uint32_t count = rng() % 20;
    for (std::uint32_t i = 0; i < count; ++i) {
      CsvExportRow row;
      row.range.family = rng() % 2 ? Family::V4 : Family::V6;
      row.range.length = row.range.max_length(); // unique: index is address
      row.range.addr[3] = static_cast<std::uint8_t>(i);
      std::string description;
      for (std::uint32_t n = rng() % 8; n > 0; --n)
        description += pieces[rng() % pieces.size()];
      if (!description.empty())
        row.description = description;
      row.enabled = rng() % 2;
      if (rng() % 2)
        row.expires_at = any_time(rng);
      rows.push_back(std::move(row));
    }
    auto parsed = accepted(format_allowlist_csv(rows));
    ASSERT_EQ(parsed.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      expect_same_entry(parsed[i], rows[i]);
  }
}

TEST(Description, AcceptsUpTo256BytesOfPrintableUtf8) {
  EXPECT_EQ(description_error(""), std::nullopt);
  EXPECT_EQ(description_error("office\tlab"), std::nullopt);
  EXPECT_EQ(description_error(std::string(256, 'a')), std::nullopt);
  EXPECT_NE(description_error(std::string(257, 'a')), std::nullopt);
  EXPECT_NE(description_error("a\nb"), std::nullopt);
  EXPECT_NE(description_error("a\rb"), std::nullopt);
  EXPECT_NE(description_error(std::string("a\0b", 3)), std::nullopt);
  EXPECT_NE(description_error("a\x7f"), std::nullopt);
  EXPECT_NE(description_error("a\xC2\x85"), std::nullopt); // C1 NEL
}

TEST(Utf8, AcceptsWellFormedAndRejectsIllFormedSequences) {
  for (std::string_view good :
       {"", "plain", "\xC3\xBC", "\xE2\x82\xAC", "\xF0\x9F\x8F\xA2",
        "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"})
    EXPECT_TRUE(is_valid_utf8(good)) << good;
  for (std::string_view bad : {
           "\x80",             // lone continuation
           "\xC3",             // truncated
           "\xE2\x82",         // truncated
           "\xC0\xAF",         // overlong '/'
           "\xE0\x80\xAF",     // overlong
           "\xF0\x80\x80\xAF", // overlong
           "\xED\xA0\x80",     // surrogate
           "\xF4\x90\x80\x80", // above U+10FFFF
           "\xF5\x80\x80\x80", // invalid lead
           "\xFF",             // invalid lead
           "\xC3\x28",         // bad continuation
       })
    EXPECT_FALSE(is_valid_utf8(bad)) << testing::PrintToString(bad);
}

} // namespace
} // namespace xdpgate
