// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What every handler shares: the API client, the output mode, and the one
// place that turns an answer into output and an exit status.
//
// Exit status: 0 success, 1 the API refused or answered nonsense, 2 usage
// error, 3 the daemon cannot be reached.
#pragma once

#include <functional>
#include <string>

#include "cli/args.hpp"
#include "cli/client.hpp"
#include "cli/json.hpp"
#include "common/result.hpp"

namespace xdpgate::cli {

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

// Prints "error: <message>" (and the field at fault) to stderr.
int report(const Error &error);
// Prints "error: <message>" to stderr for a mistake CLI11 cannot catch.
int usage_error(const std::string &message);

// On success prints the answer, pretty JSON with --json or through `human`
// otherwise; on failure reports the error. Returns the exit status.
int show(const Session &session, const Result<Reply> &reply,
         const std::function<void(const json &)> &human);

// The query string "?a=b&c=d" from the pairs whose value is not empty.
std::string
query(std::initializer_list<std::pair<const char *, std::string>> params);

} // namespace xdpgate::cli
