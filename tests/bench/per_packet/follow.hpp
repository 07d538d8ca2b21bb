// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What following denied packets (`xdpgate denied --follow`) costs a denied
// packet, through BPF_PROG_TEST_RUN on one warm frame from an unlisted
// source: nobody following (the flag's one branch), following under the
// budget (every packet writes a ring-buffer event; the ring is drained
// between calls so that none is lost) and past it (the budget check only).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <vector>

#include "per_packet/report.hpp"

namespace xdpgate::bench {

struct FollowFigures {
  std::uint32_t repeat = 0;       // runs per call, off and past the budget
  std::uint32_t under_repeat = 0; // runs per call under it: the ring holds
  std::vector<double> off_ns, under_ns, past_ns; // one figure per run
};

FollowFigures measure_follow(const Settings &settings);
void print_follow(std::ostream &out, const FollowFigures &figures);
nlohmann::json follow_json(const FollowFigures &figures);

} // namespace xdpgate::bench
