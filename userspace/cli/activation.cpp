// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Handlers for the restriction: activate and deactivate (changes, so
// previewed and guarded: change.hpp), confirm.
#include <iostream>

#include "cli/change.hpp"
#include "cli/commands.hpp"
#include "cli/views.hpp"

namespace xdpgate::cli {

namespace {

void print_state(const Reply &reply) {
  print_restriction(std::cout, reply.body);
}

} // namespace

int run_activate(const Session &session, const Args &args) {
  json body = {{"mode", args.monitor ? "monitor" : "enforce"}};
  if (args.allow_empty)
    body["allow_empty"] = true;
  if (args.confirm_within_s)
    body["confirm_within_s"] = *args.confirm_within_s;
  return make_change(session, args, {"POST", "/activate", body}, print_state);
}

int run_deactivate(const Session &session, const Args &args) {
  return make_change(session, args, {"POST", "/deactivate", json::object()},
                     print_state);
}

int run_confirm(const Session &session, const Args &) {
  auto reply = session.api.call("POST", "/confirm", json::object());
  return show(session, reply,
              [](const json &state) { print_restriction(std::cout, state); });
}

} // namespace xdpgate::cli
