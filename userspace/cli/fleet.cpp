// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// `xdpgate fleet`: the hosts that share the list through etcd (SPEC §7),
// one line each, so an operator sees which hosts enforce a change.
#include <iomanip>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/tables.hpp"

namespace xdpgate::cli {

namespace {

void print_fleet(const json &fleet) {
  const json &hosts = member(fleet, "hosts");
  std::cout << "etcd revision " << text(member(fleet, "revision")) << ", "
            << hosts.size() << " host" << (hosts.size() == 1 ? "" : "s")
            << "\n";
  if (hosts.empty())
    return;
  std::cout << std::left << std::setw(24) << "HOST" << ' ' << std::setw(10)
            << "REVISION" << ' ' << std::setw(24) << "APPLIED AT" << ' '
            << "STATE\n";
  for (const json &host : hosts)
    std::cout << std::setw(24) << cell(text(member(host, "host_name"))) << ' '
              << std::setw(10) << text(member(host, "revision")) << ' '
              << std::setw(24) << time_text(member(host, "applied_at")) << ' '
              << (member(host, "behind") == true ? "BEHIND" : "current")
              << '\n';
}

} // namespace

int run_fleet(const Session &session, const Args &) {
  return show(session, session.api.call("GET", "/fleet"), print_fleet);
}

} // namespace xdpgate::cli
