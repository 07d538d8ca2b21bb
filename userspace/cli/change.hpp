// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Every command that changes the list or the restriction sends its request
// through make_change (SPEC §3): --dry-run sends it as a preview and prints
// what it would do; otherwise, in an SSH session, a preview goes first, and a
// change that would cut this session off is refused unless --yes (asked on a
// terminal).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "cli/args.hpp"
#include "cli/session.hpp"

namespace xdpgate::cli {

struct ChangeRequest {
  std::string method;
  std::string path; // relative to kApiPrefix, with its query if any
  std::optional<json> body = {};
  std::optional<std::string> csv = {}; // sent as text/csv instead of `body`
};

// `human` prints the change's answer (with --dry-run: the answer it would
// get, status and body). Returns the exit status.
int make_change(const Session &session, const Args &args,
                const ChangeRequest &change,
                const std::function<void(const Reply &)> &human);

} // namespace xdpgate::cli
