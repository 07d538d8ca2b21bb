// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The egress flow recorder on one interface, as a clsact TC filter. Like
// the pinned XDP link it outlives the daemon, so replies keep passing while
// the daemon restarts; a restarted daemon replaces its program in place.
#pragma once

#include "common/result.hpp"

namespace xdpgate {

// Attaches (or replaces) the recorder on `ifindex`'s egress.
Status attach_tc_egress(int program_fd, int ifindex);
// Removes it again; a missing filter or interface is not an error.
void detach_tc_egress(int ifindex);
// Removes it only if its program uses the map `map_fd` (a pin directory's
// flow map): in another network namespace, an interface of the same name may
// carry another daemon's recorder.
void detach_tc_egress_using(int ifindex, int map_fd);

} // namespace xdpgate
