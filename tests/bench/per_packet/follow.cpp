// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/follow.hpp"

#include <bpf/libbpf.h>
#include <cstdio>
#include <iostream>
#include <limits>
#include <linux/bpf.h>
#include <stdexcept>

#include "datapath/data_path.hpp"
#include "per_packet/timing.hpp"
#include "support/frame.hpp"

namespace xdpgate::bench {

namespace {

// 4000 events of 48 bytes (40 and the ring's 8-byte header) fit the 256 KiB
// ring buffer: drained between calls, it never refuses one.
constexpr std::uint32_t kUnderRepeat = 4000;
constexpr int kUnderCalls = 250; // 1M packets per figure, as the others

void check(const Status &s) {
  if (!s)
    throw std::runtime_error("follow bench: " + s.error().message);
}

std::uint64_t ring_full(const DataPath &path) {
  Result<std::uint64_t> full = path.follow_ring_full();
  if (!full)
    throw std::runtime_error("follow bench: " + full.error().message);
  return *full;
}

int count_event(void *ctx, void *, std::size_t) {
  ++*static_cast<std::uint64_t *>(ctx);
  return 0;
}

} // namespace

FollowFigures measure_follow(const Settings &settings) {
  std::cerr << "[per_packet] denied path, following on and off" << std::endl;
  DataPathOptions options;
  options.capacity = 1024;
  Result<DataPath> loaded = DataPath::load(options);
  if (!loaded)
    throw std::runtime_error("loading xdpgate: " + loaded.error().message);
  DataPath path = std::move(loaded.value());
  DesiredState desired;
  desired.config.mode = Mode::Enforce;
  desired.config.track_replies = true;
  desired.config.exempt_tcp_ports = {10943};
  desired.allow = {*IpPrefix::parse("192.0.2.0/24", "bench")};
  check(path.sync(desired));
  auto follow = [&](bool on) {
    RuntimeConfig config = desired.config;
    config.follow_denied = on;
    check(path.apply(config, {}, {}));
  };
  test::Frame frame = test::Frame::ipv4("198.51.100.9");
  frame.udp(9).payload(settings.frame_bytes - (14 + 20 + 8));
  const std::vector<std::uint8_t> bytes = frame.bytes();

  std::uint64_t events = 0;
  ring_buffer *ring =
      ring_buffer__new(path.denied_events_fd(), &count_event, &events, nullptr);
  if (!ring)
    throw std::runtime_error("follow bench: opening the ring buffer failed");
  auto drain = [&] {
    if (ring_buffer__consume(ring) < 0)
      throw std::runtime_error("follow bench: draining the ring failed");
  };

  FollowFigures f;
  f.repeat = settings.repeat;
  f.under_repeat = kUnderRepeat;
  auto timed = [&](std::uint32_t repeat) {
    WarmRun w = run_warm(path.program_fd(), bytes.data(), bytes.size(), repeat);
    if (w.action != XDP_DROP)
      throw std::runtime_error("follow bench: the frame was not dropped");
    return w.kernel_ns;
  };
  try {
    for (int run = 0; run < settings.runs; ++run) {
      follow(false);
      f.off_ns.push_back(timed(settings.repeat));

      // Past the budget: one event per window, every other packet checked.
      check(path.set_follow_limit(1));
      follow(true);
      f.past_ns.push_back(timed(settings.repeat));
      drain();

      check(path.set_follow_limit(std::numeric_limits<std::uint32_t>::max()));
      const std::uint64_t lost_before = ring_full(path);
      double sum = 0;
      for (int call = 0; call < kUnderCalls; ++call) {
        events = 0;
        sum += timed(kUnderRepeat);
        drain();
        if (events != kUnderRepeat)
          throw std::runtime_error("follow bench: " + std::to_string(events) +
                                   " events for " +
                                   std::to_string(kUnderRepeat) + " packets");
      }
      if (ring_full(path) != lost_before)
        throw std::runtime_error("follow bench: the ring buffer was full");
      f.under_ns.push_back(sum / kUnderCalls);
      follow(false);
    }
  } catch (...) {
    ring_buffer__free(ring);
    throw;
  }
  ring_buffer__free(ring);
  return f;
}

void print_follow(std::ostream &out, const FollowFigures &f) {
  const double off = median(f.off_ns), under = median(f.under_ns),
               past = median(f.past_ns);
  char line[160];
  out << "\nDenied path (IPv4, unlisted source, enforce), following "
         "(xdpgate denied --follow), ns/packet, warm, median of "
      << f.off_ns.size() << " runs\n";
  std::snprintf(line, sizeof line, "  %-42s %8.1f\n", "nobody following", off);
  out << line;
  std::snprintf(line, sizeof line, "  %-42s %8.1f  (+%.1f)\n",
                "following, under the budget (1 event/pkt)", under,
                under - off);
  out << line;
  std::snprintf(line, sizeof line, "  %-42s %8.1f  (+%.1f)\n",
                "following, past the budget", past, past - off);
  out << line;
  out << "  under the budget: " << f.under_repeat
      << " runs per call, the ring drained between calls\n";
}

nlohmann::json follow_json(const FollowFigures &f) {
  return {{"off_ns", median(f.off_ns)},
          {"off_ns_runs", f.off_ns},
          {"under_budget_ns", median(f.under_ns)},
          {"under_budget_ns_runs", f.under_ns},
          {"under_budget_repeat", f.under_repeat},
          {"past_budget_ns", median(f.past_ns)},
          {"past_budget_ns_runs", f.past_ns},
          {"repeat", f.repeat}};
}

} // namespace xdpgate::bench
