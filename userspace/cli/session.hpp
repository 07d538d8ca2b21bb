// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What every handler shares: the API client, the output mode, and the one
// place that turns an answer into output and an exit status.
//
// Exit status: 0 success, 1 the API refused or answered nonsense, 2 usage
// error, 3 the daemon cannot be reached. A failure is told on stderr and,
// with --json, also printed on stdout as one line of JSON in the API's error
// shape, so that a script always gets an answer to parse.
#pragma once

#include <functional>
#include <string>

#include "cli/args.hpp"
#include "cli/client.hpp"
#include "cli/json.hpp"
#include "common/result.hpp"

namespace xdpgate::cli {

// The error code of a usage error, besides the API's and the client's own.
inline constexpr const char *kInvalidUsage = "invalid_usage";

enum ExitCode : int {
  kExitOk = 0,
  kExitApiError = 1,
  kExitUsage = 2,
  kExitUnreachable = 3,
};

struct Session {
  ApiClient api;
  bool json = false; // print the API's JSON instead of tables
};

using Handler = int (*)(const Session &, const Args &);

// Prints "error: <message>" (and the field at fault) to stderr, and with
// --json the error object to stdout. Returns the exit status.
int report(const Session &session, const Failure &failure);
// The same for a mistake in the command line; exit status kExitUsage.
int usage_error(const Session &session, const std::string &message);
// The --json half of both: the error object as one line on stdout.
void print_error_object(const Failure &failure);

// On success prints the answer, pretty JSON with --json or through `human`
// otherwise; on failure reports the error. Returns the exit status.
int show(const Session &session, const CallResult<Reply> &reply,
         const std::function<void(const json &)> &human);

// The query string "?a=b&c=d" from the pairs whose value is not empty.
std::string
query(std::initializer_list<std::pair<const char *, std::string>> params);

} // namespace xdpgate::cli
