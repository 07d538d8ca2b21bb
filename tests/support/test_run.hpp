// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Runs the XDP program on crafted frames through BPF_PROG_TEST_RUN: no
// interface is involved. Reports the XDP action and which verdict counter
// the frame moved. No GoogleTest in here: the verdict fuzz target links it too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "datapath/data_path.hpp"

namespace xdpgate::test {

struct Outcome {
  int action = -1;  // XDP_PASS, XDP_DROP, ...
  int verdict = -1; // enum xdpgate_verdict, -1 if no counter moved
  int moved = 0;    // how many verdict counters moved (the program moves one)
};

std::string verdict_name(int verdict);
std::string action_name(int action);

// Runs `frame` `repeat` times in one test run (one CPU, back to back, as a
// burst from one source) and returns the last action (no counter
// bookkeeping). Throws std::runtime_error if the kernel refuses the run.
int run_action(const DataPath &path, const std::vector<std::uint8_t> &frame,
               std::uint32_t repeat = 1);
// Runs `frame` once and returns the action and the verdict counter it moved.
// Throws if the run or reading the counters fails.
Outcome run_frame(const DataPath &path, const std::vector<std::uint8_t> &frame);

// Loads the program or throws with the loader's message.
DataPath load_data_path(const DataPathOptions &options = {});
// False, with the reason, where BPF truly cannot run (not root, no BTF):
// tests then GTEST_SKIP. On the project's machines and in CI they must run.
bool bpf_available(std::string *why);

// A map the program uses, found by its name through the program's map ids
// (no pins needed); invalid if the program has none of that name.
Fd program_map(const DataPath &path, const std::string &name);
// Writes every word of the host presence filter (0: empty, ~0: full).
void fill_host_filter(const DataPath &path, std::uint64_t word);
// The same for every word of the block filter.
void fill_block_filter(const DataPath &path, std::uint64_t word);

IpPrefix prefix(const std::string &text);
std::vector<IpPrefix> prefixes(const std::vector<std::string> &texts);

} // namespace xdpgate::test
