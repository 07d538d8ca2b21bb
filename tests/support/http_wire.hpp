// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Raw HTTP/1.1 on a Unix socket, for tests about the wire itself: write any
// bytes, read what the server answers, and split that into responses while
// checking that each is well formed (status line, headers, a body framed by
// Content-Length). No GoogleTest in here: the fuzz targets link it too.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace xdpgate::test {

// A connected stream socket, or an invalid Fd.
Fd connect_unix(const std::filesystem::path &path);

struct RawAnswer {
  std::string bytes;   // everything the server sent
  bool closed = false; // the server closed (or reset) before `wait` ran out
};

// On a fresh connection: writes `request` (stopping early if the server
// closes), half-closes the writing side when `half_close`, then reads until
// the server closes or `wait` passes.
RawAnswer raw_exchange(const std::filesystem::path &socket,
                       std::string_view request, std::chrono::milliseconds wait,
                       bool half_close = false);

// The status of the first response in `answer`, or 0 when it is none.
int status_of_raw(std::string_view answer);

struct WireResponse {
  int status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  bool headless = false; // a HEAD answer: a length but no body
};

// Splits the server's side of a connection into responses; an Error
// ("malformed response: ...") says what is wrong with it. `head_possible`: a
// HEAD request may have been answered (headers only, with the Content-Length a
// GET would have). Every answer of this API carries Content-Length; a
// chunked one is refused too.
Result<std::vector<WireResponse>> parse_responses(std::string_view wire,
                                                  bool head_possible);

// The error code of a JSON error body, or "" when it has none.
std::string error_code_of(const WireResponse &response);

} // namespace xdpgate::test
