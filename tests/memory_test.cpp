// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// docs/MEMORY.md's formula against what the kernel reports: the growth of
// Slab + VmallocUsed + Percpu in /proc/meminfo across loading the program,
// and across writing a list of both families (hosts, /24s and /48s, and
// ranges of every length), must be what the formula says, within the noise
// of a machine that allocates other things meanwhile.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/memory_formula.hpp"
#include "support/test_run.hpp"

namespace xdpgate::test {
namespace {

// Kernel memory as /proc/meminfo counts it, in bytes.
struct KernelMemory {
  double slab = 0, vmalloc = 0, percpu = 0;
  double total() const { return slab + vmalloc + percpu; }
};

KernelMemory kernel_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::map<std::string, double> kib;
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string name;
    double value = 0;
    fields >> name >> value;
    kib[name] = value;
  }
  return {kib["Slab:"] * 1024, kib["VmallocUsed:"] * 1024,
          kib["Percpu:"] * 1024};
}

// Read once the maps freed before (by this test or an earlier one) have
// gone: the kernel frees a map after an RCU grace period, from a work
// queue. Settled when two readings half a second apart differ by less than
// 256 KiB; at most 20 readings.
KernelMemory settled_kernel_memory() {
  KernelMemory last = kernel_memory();
  for (int reading = 0; reading < 20; ++reading) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    KernelMemory now = kernel_memory();
    bool settled = std::abs(now.total() - last.total()) < 256 * 1024;
    last = now;
    if (settled)
      break;
  }
  return last;
}

// The mix of the benchmarks: 40 % hosts, 40 % /24 (IPv4) or /48 (IPv6),
// 20 % ranges of any length, at random addresses.
std::vector<IpPrefix> mixed_list(Family family, std::size_t count,
                                 std::mt19937_64 &rng) {
  std::set<IpPrefix> list;
  while (list.size() < count) {
    IpPrefix p;
    p.family = family;
    std::uint64_t bits[2] = {rng(), rng()};
    for (std::size_t i = 0; i < 16; ++i)
      p.addr[i] = static_cast<std::uint8_t>(bits[i / 8] >> (8 * (i % 8)));
    int kind = static_cast<int>(rng() % 10);
    int longest = p.max_length();
    int length = kind < 4   ? longest
                 : kind < 8 ? (family == Family::V4 ? 24 : 48)
                            : 8 + static_cast<int>(rng() % (longest - 8));
    if (family == Family::V4)
      p.addr[0] = static_cast<std::uint8_t>(1 + p.addr[0] % 223);
    list.insert(p.widened_to(static_cast<std::uint8_t>(length)));
  }
  return {list.begin(), list.end()};
}

std::string mib(double bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << bytes / kMiB << " MiB";
  return out.str();
}

class MemoryFormulaTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string why;
    if (!bpf_available(&why))
      GTEST_SKIP() << why;
  }
};

TEST_F(MemoryFormulaTest, TheKernelGrowsAsTheFormulaSays) {
  constexpr std::uint32_t kCapacity = 131072;
  std::mt19937_64 rng(13);
  std::vector<IpPrefix> list = mixed_list(Family::V4, 50000, rng);
  std::vector<IpPrefix> ipv6 = mixed_list(Family::V6, 30000, rng);
  list.insert(list.end(), ipv6.begin(), ipv6.end());

  KernelMemory before = settled_kernel_memory();
  DataPathOptions options;
  options.capacity = kCapacity;
  std::optional<DataPath> path(load_data_path(options));
  KernelMemory loaded = settled_kernel_memory();
  DesiredState desired;
  desired.allow = list;
  ASSERT_TRUE(path->sync(desired));
  KernelMemory listed = settled_kernel_memory();

  MemoryFormula empty = memory_formula({}, kCapacity);
  MemoryFormula full = memory_formula(list, kCapacity);
  double load_growth = loaded.total() - before.total();
  double list_growth = listed.total() - loaded.total();
  std::string seen = "loading: " + mib(load_growth) + " (formula " +
                     mib(empty.fixed + empty.list()) + "); the list of " +
                     std::to_string(list.size()) + ": " + mib(list_growth) +
                     " (Slab " + mib(listed.slab - loaded.slab) +
                     ", VmallocUsed " + mib(listed.vmalloc - loaded.vmalloc) +
                     "; formula " + mib(full.list() - empty.list()) +
                     ": IPv4 table " + mib(full.ipv4_table) + ", IPv6 table " +
                     mib(full.ipv6_table) + ", hosts " + mib(full.hosts) +
                     ", IPv6 record " + mib(full.ipv6_record) + ")";
  // Other processes allocate too: a few MiB either way, more than the
  // formula's own error (1 % at 1M entries, docs/MEMORY.md).
  EXPECT_NEAR(load_growth, empty.fixed + empty.list(), 2 * kMiB) << seen;
  EXPECT_NEAR(list_growth, full.list() - empty.list(),
              0.1 * (full.list() - empty.list()) + 1 * kMiB)
      << seen;
  std::cout << "[ memory ] " << seen << "\n";
}

} // namespace
} // namespace xdpgate::test
