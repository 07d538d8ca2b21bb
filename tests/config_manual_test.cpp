// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The manual xdpgate.toml(5) against the parser: its KEYS section documents
// exactly the keys parse_config accepts (config_keys(), the parser's own
// tables), each under its table's heading, and the value each key's tag
// shows is the parser's default. Reads the manual's source relative to the
// repository root, where make test runs the suite.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace xdpgate {
namespace {

constexpr const char *kManual = "scripts/man/xdpgate.toml.5";

// The arguments of a roff request line (".BR a \"b c\""), quotes removed.
std::vector<std::string> request_arguments(const std::string &line) {
  std::vector<std::string> out;
  std::size_t at = line.find(' ');
  while (at != std::string::npos && at < line.size()) {
    while (at < line.size() && line[at] == ' ')
      ++at;
    if (at >= line.size())
      break;
    std::string arg;
    if (line[at] == '"') {
      std::size_t end = line.find('"', at + 1);
      arg = line.substr(at + 1, end == std::string::npos ? end : end - at - 1);
      at = end == std::string::npos ? end : end + 1;
    } else {
      std::size_t end = line.find(' ', at);
      arg = line.substr(at, end == std::string::npos ? end : end - at);
      at = end;
    }
    out.push_back(arg);
  }
  return out;
}

// The escapes the manual uses in tags, as the text they render.
std::string unescape(std::string text) {
  const std::pair<std::string, std::string> kEscapes[] = {{"\\(dq", "\""},
                                                          {"\\(aq", "'"},
                                                          {"\\-", "-"},
                                                          {"\\&", ""},
                                                          {"\\e", "\\"}};
  for (const auto &[escape, plain] : kEscapes)
    for (auto at = text.find(escape); at != std::string::npos;
         at = text.find(escape, at + plain.size()))
      text.replace(at, escape.size(), plain);
  return text;
}

struct Documented {
  std::string value; // the TOML value after " = " in the tag, if any
  int line;
};

// Dotted key → its tag, from the .TP items of .SH KEYS; a .SS heading that
// names "[table]" puts the items after it in that table, any other heading
// at the top level.
std::map<std::string, Documented> documented_keys(std::istream &manual) {
  std::map<std::string, Documented> keys;
  std::string line, table;
  bool in_keys = false, tag_next = false;
  for (int number = 1; std::getline(manual, line); ++number) {
    if (line.starts_with(".SH")) {
      in_keys = line == ".SH KEYS";
      continue;
    }
    if (!in_keys)
      continue;
    if (line.starts_with(".SS")) {
      auto open = line.find('['), close = line.find(']');
      table = open != std::string::npos && close > open
                  ? line.substr(open + 1, close - open - 1) + "."
                  : "";
      continue;
    }
    if (line == ".TP") {
      tag_next = true;
      continue;
    }
    if (!tag_next)
      continue;
    tag_next = false;
    if (!line.starts_with(".B ") && !line.starts_with(".BR "))
      continue;
    // .BR alternates fonts without spaces: the arguments make one text.
    std::string tag;
    for (const std::string &arg : request_arguments(line))
      tag += unescape(arg);
    auto equals = tag.find(" = ");
    std::string key = tag.substr(0, equals);
    std::string value =
        equals == std::string::npos ? "" : tag.substr(equals + 3);
    keys[table + key] = {value, number};
  }
  return keys;
}

class ConfigManual : public testing::Test {
protected:
  void SetUp() override {
    std::ifstream manual(kManual);
    ASSERT_TRUE(manual) << "cannot read " << kManual
                        << " (run the suite from the repository root)";
    documented_ = documented_keys(manual);
  }
  std::map<std::string, Documented> documented_;
};

TEST_F(ConfigManual, DocumentsEveryKeyTheParserAccepts) {
  std::vector<std::string> keys = config_keys();
  ASSERT_FALSE(keys.empty());
  for (const std::string &key : keys)
    EXPECT_TRUE(documented_.contains(key))
        << kManual << " does not document the key " << key
        << ": add a .TP item for it under .SH KEYS, in its table's .SS";
}

TEST_F(ConfigManual, DocumentsNoKeyTheParserRefuses) {
  std::vector<std::string> keys = config_keys();
  for (const auto &[key, documented] : documented_)
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end())
        << kManual << ":" << documented.line << " documents " << key
        << ", which the parser does not accept (or not in that table)";
}

TEST_F(ConfigManual, ShowsTheDefaultOfEachKey) {
  for (const auto &[key, documented] : documented_) {
    SCOPED_TRACE(std::string(kManual) + ":" + std::to_string(documented.line) +
                 ": " + key);
    ASSERT_FALSE(documented.value.empty())
        << "the tag shows no default (.BR " << key << " \" = VALUE\")";
    auto config = parse_config(key + " = " + documented.value, "manual");
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_TRUE(*config == Config{})
        << key << " = " << documented.value << " is not the default";
  }
}

// The reader above finds what it should: a key dropped from the text, or
// shown with another value, is noticed.
TEST(ConfigManualReader, ReadsTablesAndValuesOfTags) {
  std::istringstream text(".SH DESCRIPTION\n.TP\n.B not_a_key\n"
                          ".SH KEYS\n.SS Top\\-level keys\n.TP\n"
                          ".BR socket \" = \\(dq/run/x.sock\\(dq\"\nText.\n"
                          ".SS \"[exempt] table\"\n.TP\n.BR tcp_ports \" = "
                          "[1]\"\n.SH FILES\n.TP\n.B /etc\n");
  auto keys = documented_keys(text);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.at("socket").value, "\"/run/x.sock\"");
  EXPECT_EQ(keys.at("socket").line, 7);
  EXPECT_EQ(keys.at("exempt.tcp_ports").value, "[1]");
  auto config = parse_config("exempt.tcp_ports = [1]", "manual");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(*config == Config{});
}

} // namespace
} // namespace xdpgate
