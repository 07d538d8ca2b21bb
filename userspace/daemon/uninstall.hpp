// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpgated --uninstall: removes what this daemon pinned, and nothing of
// another daemon's.
#pragma once

#include "daemon/daemon.hpp"

namespace xdpgate {

// Without --interface, detaches every interface pinned in the pin directory
// and removes the directory; with --interface, only those interfaces'
// programs and pins. Removes nothing while xdpgated runs on the directory,
// when another state directory owns it, or when an interface is not in this
// network namespace. Returns the exit status.
int uninstall(const DaemonOptions &options);

} // namespace xdpgate
