// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers for the restriction: activate (after the SSH lock-out guard),
// deactivate, confirm.
#include <iostream>
#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/ssh_guard.hpp"
#include "cli/views.hpp"

namespace xdpgate::cli {

namespace {

// The CLI's own error code for an activation it refused to make.
constexpr const char *kSshCutOff = "ssh_session_would_be_dropped";

bool ask_yes(const std::string &question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer))
    return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

// Returns the exit status when activation must not go ahead.
std::optional<int> guard_ssh_session(const Session &session, const Args &args) {
  auto exposure = ssh_session_exposure(session.api);
  if (!exposure)
    return report(session, exposure.error());
  if (!*exposure || !(*exposure)->dropped)
    return std::nullopt;

  const std::string &address = (*exposure)->address;
  std::cerr << "warning: this SSH session comes from " << address
            << ", which enforcing would drop (" << (*exposure)->reason
            << ").\n         Allow it first: xdpgate add " << address
            << " -d 'admin access'\n";
  if (args.yes)
    return std::nullopt;
  if (!::isatty(STDIN_FILENO))
    return report(session, Reason{kSshCutOff, "not activating; pass --yes to "
                                              "activate anyway"});
  if (!ask_yes("Activate anyway?"))
    return report(session, Reason{kSshCutOff, "not activated"});
  return std::nullopt;
}

void print_state(const json &state) { print_restriction(std::cout, state); }

} // namespace

int run_activate(const Session &session, const Args &args) {
  // Monitor mode drops nothing, so it cannot lock anyone out.
  if (!args.monitor)
    if (auto refused = guard_ssh_session(session, args))
      return *refused;

  json body = {{"mode", args.monitor ? "monitor" : "enforce"}};
  if (args.allow_empty)
    body["allow_empty"] = true;
  if (args.confirm_within_s)
    body["confirm_within_s"] = *args.confirm_within_s;
  return show(session, session.api.call("POST", "/activate", body),
              print_state);
}

int run_deactivate(const Session &session, const Args &) {
  return show(session, session.api.call("POST", "/deactivate", json::object()),
              print_state);
}

int run_confirm(const Session &session, const Args &) {
  return show(session, session.api.call("POST", "/confirm", json::object()),
              print_state);
}

} // namespace xdpgate::cli
