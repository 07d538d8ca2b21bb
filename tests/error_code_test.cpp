// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The error codes' one table (common/error_code.hpp): every code has its own
// wire name, in the API's snake_case, and an HTTP status the API documents.
#include "common/error_code.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace xdpgate {
namespace {

#define XDPGATE_ERROR_LISTED(name, wire, status) ErrorCode::name,
constexpr ErrorCode kEveryCode[] = {XDPGATE_ERROR_CODES(XDPGATE_ERROR_LISTED)};
#undef XDPGATE_ERROR_LISTED

TEST(ErrorCode, EveryCodeHasItsOwnWireName) {
  std::set<std::string> seen;
  const std::regex snake_case("[a-z]+(_[a-z]+)*");
  for (ErrorCode code : kEveryCode) {
    const std::string name(wire_name(code));
    EXPECT_TRUE(std::regex_match(name, snake_case)) << name;
    EXPECT_TRUE(seen.insert(name).second) << name << " is listed twice";
  }
}

TEST(ErrorCode, EveryCodeHasADocumentedStatus) {
  const std::set<int> documented = {400, 403, 404, 405, 409, 413,
                                    414, 415, 422, 500, 503};
  for (ErrorCode code : kEveryCode)
    EXPECT_TRUE(documented.count(http_status(code)))
        << code << " answers " << http_status(code);
}

TEST(ErrorCode, RefusalsOfTheRequestAreClientErrors) {
  EXPECT_EQ(http_status(ErrorCode::InvalidIpRange), 422);
  EXPECT_EQ(http_status(ErrorCode::UnsupportedMediaType), 415);
  EXPECT_EQ(http_status(ErrorCode::LastEnabledEntry), 409);
  EXPECT_EQ(http_status(ErrorCode::StoreWriteFailed), 503);
  EXPECT_EQ(http_status(ErrorCode::KernelUpdateFailed), 500);
}

} // namespace
} // namespace xdpgate
