// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The CLI's side of the control API: HTTP/1.1 over the daemon's Unix socket.
// Every failure comes back as an Error the operator can act on: an API error
// keeps the daemon's code, message and field (and, for invalid_csv, every bad
// line); a daemon that cannot be reached has code kUnreachable and says why
// (not running, wrong socket path, file permissions). With it comes the
// error object that --json prints.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/json.hpp"

#include "common/result.hpp"

namespace xdpgate::cli {

inline constexpr const char *kDefaultSocket = "/run/xdpgate/xdpgate.sock";
inline constexpr const char *kApiPrefix = "/api/admin/ip-allowlist";
// Error codes the CLI itself gives, besides the API's own.
inline constexpr const char *kUnreachable = "daemon_unreachable";
inline constexpr const char *kBadAnswer = "bad_answer";

struct Reply {
  int status = 0;
  json body; // parsed JSON answer
};

// Why a command failed, as the operator reads it. Its code is a string: the
// daemon's error code as it came on the wire (a newer daemon may send one
// this CLI does not know), or one of the CLI's own.
struct Reason {
  std::string code;
  std::string message;
  std::string field = {};
};

// A failure: `error` for the operator; `object` for scripts, in the API's
// shape {"error": {code, message, field?}}: the daemon's own as it came
// ("lines" of invalid_csv and all), else made from `error`.
struct Failure {
  // Implicit: a reason the CLI finds itself, or an Error of the code it
  // shares with the daemon, is a Failure of the same shape.
  Failure(Reason e);
  Failure(const Error &e);
  Failure(Reason e, json daemon_object);
  Reason error;
  json object;
};

template <typename T> using CallResult = Result<T, Failure>;

// Request headers besides those every request carries.
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

class ApiClient {
public:
  explicit ApiClient(std::string socket_path);

  const std::string &socket_path() const { return socket_path_; }

  // `path` is relative to kApiPrefix ("" for the collection, "/check", …);
  // a body, when given, is sent as application/json.
  CallResult<Reply> call(const std::string &method, const std::string &path,
                         const std::optional<json> &body = {},
                         const ExtraHeaders &headers = {}) const;
  // POSTs a CSV document (text/csv) and reads the JSON answer.
  CallResult<Reply> post_csv(const std::string &path, std::string csv,
                             const ExtraHeaders &headers = {}) const;
  // GETs a text document (the CSV export) as is.
  CallResult<std::string> get_text(const std::string &path) const;

  // GETs a streamed answer of JSON lines: `on_open` once the daemon has
  // accepted it, then `on_line` with each line as it arrives, until
  // `on_line` returns false, `within` runs out (true then) or the daemon ends
  // the stream (false). An error answer is a Failure as for call().
  CallResult<bool>
  follow_lines(const std::string &path, const std::function<void()> &on_open,
               const std::function<bool(const std::string &)> &on_line,
               std::optional<std::chrono::milliseconds> within) const;

private:
  std::string socket_path_;
};

// Percent-encodes one path segment (an entry id typed by the operator).
std::string path_segment(const std::string &text);

} // namespace xdpgate::cli
