// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "support/test_run.hpp"

#include "model/verdicts.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdexcept>
#include <unistd.h>

namespace xdpgate::test {

std::string verdict_name(int verdict) {
  if (verdict < 0 || verdict >= XDPGATE_VERDICT_COUNT)
    return "none";
  return std::string(kVerdictNames[verdict]);
}

std::string action_name(int action) {
  switch (action) {
  case XDP_PASS:
    return "XDP_PASS";
  case XDP_DROP:
    return "XDP_DROP";
  case XDP_ABORTED:
    return "XDP_ABORTED";
  default:
    return "action " + std::to_string(action);
  }
}

int run_action(const DataPath &path, const std::vector<std::uint8_t> &frame,
               std::uint32_t repeat) {
  std::vector<std::uint8_t> out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<__u32>(frame.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<__u32>(out.size());
  opts.repeat = repeat;
  if (bpf_prog_test_run_opts(path.program_fd(), &opts) != 0)
    throw std::runtime_error("BPF_PROG_TEST_RUN failed: errno " +
                             std::to_string(errno));
  return static_cast<int>(opts.retval);
}

namespace {
VerdictCounters counters(const DataPath &path) {
  Result<VerdictCounters> read = path.verdict_counters();
  if (!read)
    throw std::runtime_error("reading the verdict counters failed: " +
                             read.error().message);
  return std::move(*read);
}
} // namespace

Outcome run_frame(const DataPath &path,
                  const std::vector<std::uint8_t> &frame) {
  VerdictCounters before = counters(path);
  Outcome outcome;
  outcome.action = run_action(path, frame);
  VerdictCounters after = counters(path);
  for (int v = 0; v < XDPGATE_VERDICT_COUNT; ++v)
    if (after[v].packets != before[v].packets) {
      outcome.verdict = v;
      ++outcome.moved;
    }
  return outcome;
}

bool bpf_available(std::string *why) {
  if (geteuid() != 0) {
    *why = "BPF tests need root (CAP_BPF and CAP_NET_ADMIN)";
    return false;
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    *why = "the kernel has no BTF (/sys/kernel/btf/vmlinux)";
    return false;
  }
  return true;
}

DataPath load_data_path(const DataPathOptions &options) {
  Result<DataPath> loaded = DataPath::load(options);
  if (!loaded)
    throw std::runtime_error("loading the data path failed: " +
                             loaded.error().message);
  return std::move(loaded.value());
}

Fd program_map(const DataPath &path, const std::string &name) {
  bpf_prog_info info{};
  std::uint32_t ids[64] = {};
  info.nr_map_ids = 64;
  info.map_ids = reinterpret_cast<std::uintptr_t>(ids);
  std::uint32_t length = sizeof(info);
  if (bpf_obj_get_info_by_fd(path.program_fd(), &info, &length) != 0)
    return Fd();
  for (std::uint32_t i = 0; i < info.nr_map_ids && i < 64; ++i) {
    Fd map(bpf_map_get_fd_by_id(ids[i]));
    bpf_map_info map_info{};
    std::uint32_t map_length = sizeof(map_info);
    if (map.valid() &&
        bpf_obj_get_info_by_fd(map.get(), &map_info, &map_length) == 0 &&
        name == map_info.name)
      return map;
  }
  return Fd();
}

namespace {
void fill_filter(const DataPath &path, const char *name, std::uint32_t words,
                 std::uint64_t word) {
  Fd filter = program_map(path, name);
  if (!filter.valid())
    throw std::runtime_error(std::string("the program has no map ") + name);
  for (std::uint32_t w = 0; w < words; ++w)
    if (bpf_map_update_elem(filter.get(), &w, &word, BPF_ANY) != 0)
      throw std::runtime_error(std::string("writing ") + name + " failed");
}
} // namespace

void fill_host_filter(const DataPath &path, std::uint64_t word) {
  fill_filter(path, "host_filter", XDPGATE_HOST_FILTER_WORDS, word);
}

void fill_block_filter(const DataPath &path, std::uint64_t word) {
  fill_filter(path, "block_filter", XDPGATE_BLOCK_FILTER_WORDS, word);
}

IpPrefix prefix(const std::string &text) {
  Result<IpPrefix> parsed = IpPrefix::parse(text);
  if (!parsed)
    throw std::invalid_argument(parsed.error().message);
  return *parsed;
}

std::vector<IpPrefix> prefixes(const std::vector<std::string> &texts) {
  std::vector<IpPrefix> out;
  for (const std::string &t : texts)
    out.push_back(prefix(t));
  return out;
}

} // namespace xdpgate::test
