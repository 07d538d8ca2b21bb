// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/timing.hpp"

#include <algorithm>
#include <bpf/bpf.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <stdexcept>
#include <time.h>
#include <unistd.h>

namespace xdpgate::bench {

namespace {

constexpr const char *kStatsSysctl = "/proc/sys/kernel/bpf_stats_enabled";

// What the signal handler writes back: '0' or '1', or 0 when nothing is
// to be restored.
volatile std::sig_atomic_t saved_stats = 0;

void write_stats(char value) {
  int fd = open(kStatsSysctl, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  char text[2] = {value, '\n'};
  ssize_t ignored = write(fd, text, sizeof(text));
  (void)ignored;
  close(fd);
}

extern "C" void restore_on_signal(int sig) {
  if (saved_stats)
    write_stats(static_cast<char>(saved_stats));
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

} // namespace

void FrameSet::add(const std::vector<std::uint8_t> &frame) {
  if (frame_size == 0)
    frame_size = frame.size();
  if (frame.size() != frame_size)
    throw std::invalid_argument("FrameSet: frames differ in size");
  bytes.insert(bytes.end(), frame.begin(), frame.end());
}

WarmRun run_warm(int prog_fd, const std::uint8_t *frame, std::size_t size,
                 std::uint32_t repeat) {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = frame;
  opts.data_size_in = static_cast<std::uint32_t>(size);
  opts.repeat = repeat;
  double start = now_ns();
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
    throw std::runtime_error(std::string("BPF_PROG_TEST_RUN failed: ") +
                             std::strerror(errno));
  double wall = now_ns() - start;
  return {static_cast<double>(opts.duration), wall / repeat, opts.retval};
}

std::vector<double> run_each_once(int prog_fd, const FrameSet &frames,
                                  std::uint32_t expected_action,
                                  const std::string &what) {
  std::vector<double> ns;
  ns.reserve(frames.size());
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_size_in = static_cast<std::uint32_t>(frames.frame_size);
  opts.repeat = 1;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    opts.data_in = frames.frame(i);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
      throw std::runtime_error(std::string("BPF_PROG_TEST_RUN failed: ") +
                               std::strerror(errno));
    if (opts.retval != expected_action)
      throw std::runtime_error(what + ": frame " + std::to_string(i) +
                               " got XDP action " +
                               std::to_string(opts.retval) + ", expected " +
                               std::to_string(expected_action));
    ns.push_back(static_cast<double>(opts.duration));
  }
  return ns;
}

double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  double upper = values[mid];
  if (values.size() % 2)
    return upper;
  double lower = *std::max_element(values.begin(), values.begin() + mid);
  return (lower + upper) / 2;
}

BpfStatsOff::BpfStatsOff() {
  std::ifstream in(kStatsSysctl);
  if (!(in >> original_))
    throw std::runtime_error(std::string("cannot read ") + kStatsSysctl);
  saved_stats = original_ ? '1' : '0';
  for (int sig : kSignals)
    std::signal(sig, restore_on_signal);
  write_stats('0');
  std::ifstream check(kStatsSysctl);
  int now = -1;
  if (!(check >> now) || now != 0) {
    write_stats(static_cast<char>(saved_stats));
    saved_stats = 0;
    throw std::runtime_error(std::string("cannot set ") + kStatsSysctl +
                             " to 0 (run as root)");
  }
}

BpfStatsOff::~BpfStatsOff() {
  write_stats(static_cast<char>(saved_stats));
  saved_stats = 0;
  for (int sig : kSignals)
    std::signal(sig, SIG_DFL);
}

} // namespace xdpgate::bench
