// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The per-packet group's figures: the table on stdout and the JSON file
// (machine, method, every figure, ratios, targets) that scripts/run-bench.sh
// merges into build/bench/summary.json.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace xdpgate::bench {

// A near miss is a miss from a /20 block that holds an entry: the block
// filter cannot decide it, so it pays every lookup.
enum class Case { HostHit, PrefixHit, Miss, NearMiss, AnyFrame };
const char *case_key(Case c);   // "host_hit", ...
const char *case_label(Case c); // "/32 hit", ... (IPv4 wording)

// The programs, in table order.
enum class Prog { Xdpgate, PlainLpm, XdpFilterIp, XdpFilterAll, BareDrop };
const char *prog_key(Prog p);
const char *prog_label(Prog p);

// One (family, list size, program, case): each run's figure.
struct Measurement {
  int family = 4; // 4 or 6
  std::size_t n = 0;
  Prog prog = Prog::Xdpgate;
  Case kase = Case::HostHit;
  std::vector<double> warm_ns;      // per run: mean over the warm sources
  std::vector<double> warm_wall_ns; // the same runs by wall clock
  std::vector<double> cold_ns;      // per run: rotating sources, in-kernel
  std::vector<double> syscall_ns;   // per run: median, one call per frame
  std::size_t warm_sources = 0;
  std::size_t cold_sources = 0;    // rotated through
  std::size_t syscall_sources = 0; // frames per run
  std::string note;
};

// Writing one (family, list size)'s list into a new, empty kernel
// structure, each round's seconds: xdpgate's DataPath::sync into a new data
// path, and one batched update of a new LPM trie (the plain program's).
struct WriteTimes {
  int family = 4;
  std::size_t n = 0;
  std::vector<double> xdpgate_s;
  std::vector<double> plain_lpm_s;
};

struct Settings {
  std::uint32_t repeat = 1000000;
  int runs = 5;
  std::size_t warm_sources = 4;
  std::size_t cold_frames = 100000;   // sources the rotator cycles through
  std::uint32_t cold_repeat = 300000; // runs per cold call: 3 laps of them
  std::size_t syscall_frames = 2000;  // frames per run, one call each
  std::size_t frame_bytes = 64;
  int write_rounds = 3;
};

struct Results {
  Settings settings;
  int stats_enabled_before = 0;
  std::uint32_t capacity = 0; // xdpgate's per family, at least N
  std::vector<Measurement> figures;
  std::vector<WriteTimes> writes;
  std::vector<std::string> notes; // printed under the table, kept in JSON

  const Measurement *find(int family, std::size_t n, Prog prog,
                          Case kase) const;
  // The floor: bare XDP_DROP, measured in every scenario.
  const Measurement *floor(int family, std::size_t n) const {
    return find(family, n, Prog::BareDrop, Case::AnyFrame);
  }
};

void print_table(std::ostream &out, const Results &results);
nlohmann::json to_json(const Results &results);

} // namespace xdpgate::bench
