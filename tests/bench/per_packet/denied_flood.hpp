// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// What one denied packet costs under a flood (SPEC §1: "the cost per denied
// packet under a flood stays measured and small"). xdpgate enforcing a
// 1k-prefix IPv4 list, as the daemon runs it, meets denied frames (misses,
// so each is counted in the denied-source sample) in two floods:
//   repeat source: one source, past its exact counts, `repeat` runs a call;
//   new source:    a different source every run, rotating through up to
//                  `cold_frames` of them (the LRU sample holds 4,096), net
//                  of the rotator's own cost as in the main table.
// Each at the daemon's default sample rate (64) and at rate 1 (every packet
// counted, every new source inserted: what sampling saves). Beside them, the
// plain one-lookup LPM program on the same frames and the bare XDP_DROP.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "per_packet/report.hpp"

namespace xdpgate::bench {

class BareDrop;

struct DeniedFloodRow {
  std::string flood;             // "repeat_source" or "new_source"
  std::string program;           // "xdpgate", "plain_lpm" or "bare_drop"
  std::uint32_t sample_rate = 0; // xdpgate's; 0 for the others
  std::vector<double> ns;        // per run, net of the rotator (new source)
  std::size_t sources = 0;
  std::string after; // what the sample held after the last run
};

struct DeniedFlood {
  std::vector<DeniedFloodRow> rows;
  std::vector<double> rotator_ns; // per run: the rotator's own cost
};

DeniedFlood measure_denied_flood(const Settings &settings, BareDrop &bare,
                                 std::uint32_t capacity);
void print_denied_flood(std::ostream &out, const DeniedFlood &flood,
                        const Settings &settings);
nlohmann::json to_json(const DeniedFlood &flood);

} // namespace xdpgate::bench
