// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// One handler per subcommand, each one API call (activate and stats --watch
// make a few). main.cpp binds them to their names and options.
#pragma once

#include "cli/args.hpp"
#include "cli/session.hpp"

namespace xdpgate::cli {

// The entries (entries.cpp).
int run_list(const Session &session, const Args &args);
int run_get(const Session &session, const Args &args);
int run_add(const Session &session, const Args &args);
int run_update(const Session &session, const Args &args);
int run_delete(const Session &session, const Args &args);
int run_enable(const Session &session, const Args &args);
int run_disable(const Session &session, const Args &args);
int run_check(const Session &session, const Args &args);

// The whole list as a file (transfer.cpp).
int run_import(const Session &session, const Args &args);
int run_export(const Session &session, const Args &args);
int run_replace(const Session &session, const Args &args);

// The restriction (activation.cpp).
int run_activate(const Session &session, const Args &args);
int run_deactivate(const Session &session, const Args &args);
int run_confirm(const Session &session, const Args &args);

// What the data path does (status.cpp), who changed it and who was turned
// away (audit.cpp), which hosts of a fleet enforce the list (fleet.cpp).
int run_status(const Session &session, const Args &args);
int run_stats(const Session &session, const Args &args);
int run_audit(const Session &session, const Args &args);
int run_denied(const Session &session, const Args &args);
int run_fleet(const Session &session, const Args &args);

} // namespace xdpgate::cli
