// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Every option and operand of the command line, filled in by CLI11 (main.cpp)
// and read by the handlers. Only the parsed subcommand's fields are set.
#pragma once

#include <optional>
#include <string>

namespace xdpgate::cli {

struct Args {
  // Global.
  std::string socket;
  bool json = false;

  // Operands.
  std::string id;
  std::string range;
  std::string ip;
  std::string file;
  std::optional<std::string> output;

  // add, update.
  std::optional<std::string> new_range;
  std::optional<std::string> description;
  bool no_description = false;
  std::optional<std::string> expires_at;
  bool no_expiry = false;
  bool disabled = false;
  bool enable = false;
  bool disable = false;

  // Changes that may empty the list or rewrite it.
  bool force = false;
  bool all = false;
  bool dry_run = false;
  bool replace = false;

  // activate.
  bool monitor = false;
  bool allow_empty = false;
  std::optional<unsigned> confirm_within_s;
  bool yes = false;

  // stats.
  bool watch = false;
  double interval_s = 1.0;
  std::optional<unsigned> count;

  // audit, denied (--count also bounds denied --follow).
  std::optional<unsigned> limit;
  std::optional<unsigned> offset;
  std::optional<unsigned> top;
  // denied --follow, with --count (above) and --for as bounds.
  bool follow = false;
  std::optional<double> for_s;
};

} // namespace xdpgate::cli
