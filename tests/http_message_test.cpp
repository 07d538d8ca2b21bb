// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The request as routes see it (api/http_message.hpp): the target split into
// a decoded path and its query parameters in order, repeats kept (so that a
// route can refuse them), and header lookups that ignore case.
#include "api/http_message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xdpgate::api {
namespace {

struct Split {
  std::string path;
  std::vector<QueryParameter> query;
};

Split split(std::string_view target) {
  Split out;
  split_target(target, out.path, out.query);
  return out;
}

TEST(HttpTarget, APathWithoutQueryHasNoParameters) {
  Split s = split("/api/admin/ip-allowlist");
  EXPECT_EQ(s.path, "/api/admin/ip-allowlist");
  EXPECT_TRUE(s.query.empty());
}

TEST(HttpTarget, ThePathIsPercentDecodedButPlusStaysPlus) {
  EXPECT_EQ(split("/a%2Fb%00c+d").path, std::string("/a/b\0c+d", 8));
}

TEST(HttpTarget, QueryParametersComeInOrderWithRepeatsKept) {
  Split s = split("/x?b=2&a=1&b=3");
  std::vector<QueryParameter> want = {{"b", "2"}, {"a", "1"}, {"b", "3"}};
  EXPECT_EQ(s.query, want);
}

TEST(HttpTarget, QueryNamesAndValuesAreDecodedWithPlusAsSpace) {
  Split s = split("/x?a%5Fb=c%20d+e");
  std::vector<QueryParameter> want = {{"a_b", "c d e"}};
  EXPECT_EQ(s.query, want);
}

TEST(HttpTarget, ANameWithoutValueHasAnEmptyValueAndEmptyPairsAreSkipped) {
  Split s = split("/x?force&&dry_run=");
  std::vector<QueryParameter> want = {{"force", ""}, {"dry_run", ""}};
  EXPECT_EQ(s.query, want);
}

TEST(HttpTarget, MalformedEscapesStayAsTheyCame) {
  EXPECT_EQ(split("/a%zz%4").path, "/a%zz%4");
  EXPECT_EQ(split("/x?v=%").query.at(0).value, "%");
}

TEST(HttpHeaders, LookupsIgnoreCaseAndGiveTheFirstValue) {
  Headers h;
  h.add("Content-Length", "5");
  h.add("content-length", "6");
  EXPECT_EQ(h.get("CONTENT-LENGTH"), "5");
  EXPECT_EQ(h.count("Content-length"), 2u);
  EXPECT_FALSE(h.get("Content-Type"));
  EXPECT_EQ(h.count("Content-Type"), 0u);
}

TEST(HttpRequest, AParameterIsItsFirstValue) {
  Request req;
  split_target("/x?top=5&top=6", req.path, req.query);
  EXPECT_EQ(req.param("top"), "5");
  EXPECT_FALSE(req.param("limit"));
}

} // namespace
} // namespace xdpgate::api
