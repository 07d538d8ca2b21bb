// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/denied_flood.hpp"

#include <bit>
#include <cstdio>
#include <linux/bpf.h>
#include <memory>
#include <stdexcept>

#include "config/config.hpp"
#include "datapath/data_path.hpp"
#include "per_packet/peers.hpp"
#include "per_packet/prefix_mix.hpp"
#include "per_packet/rotator.hpp"
#include "per_packet/timing.hpp"
#include "support/frame.hpp"

namespace xdpgate::bench {

namespace {

constexpr std::size_t kListSize = 1000;
constexpr std::uint64_t kSeed = 0x64656e6965640001ull;
constexpr std::uint32_t kRates[] = {64, 1}; // the daemon's default, and none

void expect_drop(const WarmRun &run, const std::string &what) {
  if (run.action != XDP_DROP)
    throw std::runtime_error("denied flood, " + what + ": XDP action " +
                             std::to_string(run.action) + ", expected drop");
}

// xdpgate as the daemon runs it, with the list and this sample rate.
std::unique_ptr<DataPath> load_xdpgate(const std::vector<IpPrefix> &list,
                                       std::uint32_t rate,
                                       std::uint32_t capacity) {
  DataPathOptions options;
  options.capacity = capacity;
  Result<DataPath> loaded = DataPath::load(options);
  if (!loaded)
    throw std::runtime_error("loading xdpgate: " + loaded.error().message);
  auto path = std::make_unique<DataPath>(std::move(loaded.value()));
  const Config defaults;
  DesiredState desired;
  desired.config.mode = Mode::Enforce;
  desired.config.track_replies = true;
  desired.config.exempt_tcp_ports = {defaults.exempt_tcp_ports.begin(),
                                     defaults.exempt_tcp_ports.end()};
  desired.config.denied_sample_shift =
      static_cast<std::uint8_t>(std::countr_zero(rate));
  desired.allow = list;
  if (Status st = path->sync(desired); !st)
    throw std::runtime_error("DataPath::sync: " + st.error().message);
  return path;
}

std::string sample_summary(const DataPath &path) {
  auto sources = path.denied_sources();
  if (!sources)
    return "unreadable: " + sources.error().message;
  std::size_t estimated = 0;
  for (const DeniedSource &s : *sources)
    estimated += s.estimated;
  return std::to_string(sources->size()) + " sources in the sample, " +
         std::to_string(estimated) + " of them estimates";
}

} // namespace

DeniedFlood measure_denied_flood(const Settings &s, BareDrop &bare,
                                 std::uint32_t capacity) {
  std::vector<IpPrefix> list = generate_list(Family::V4, kListSize, kSeed);
  PrefixIndex index(list);
  std::vector<IpPrefix> misses =
      pick_sources(list, index, s.cold_frames, kSeed + 1).misses;
  if (misses.size() < 2)
    throw std::runtime_error("denied flood: too few denied sources");
  std::vector<std::uint8_t> frame = test::Frame::ipv4(misses[0].to_string())
                                        .udp(9)
                                        .payload(s.frame_bytes - 14 - 20 - 8)
                                        .bytes();
  SourceRotator rotator(Family::V4, misses);
  PlainLpm plain(kListSize, list);

  struct Subject {
    int fd;
    std::size_t repeat_row, new_row;
    const DataPath *path = nullptr;
  };
  DeniedFlood flood;
  std::vector<Subject> subjects;
  std::vector<std::unique_ptr<DataPath>> paths;
  auto add_rows = [&](const std::string &program, std::uint32_t rate) {
    flood.rows.push_back({"repeat_source", program, rate, {}, 1, ""});
    flood.rows.push_back({"new_source", program, rate, {}, rotator.size(), ""});
    return flood.rows.size() - 2;
  };
  for (std::uint32_t rate : kRates) {
    paths.push_back(load_xdpgate(list, rate, capacity));
    std::size_t row = add_rows("xdpgate", rate);
    subjects.push_back(
        {paths.back()->program_fd(), row, row + 1, paths.back().get()});
  }
  std::size_t row = add_rows("plain_lpm", 0);
  subjects.push_back({plain.program_fd(), row, row + 1});
  row = add_rows("bare_drop", 0);
  subjects.push_back({bare.program_fd(), row, row + 1});

  // The repeat source is past its exact counts before it is timed.
  for (const Subject &subject : subjects)
    run_warm(subject.fd, frame.data(), frame.size(),
             2 * XDPGATE_DENIED_EXACT_PACKETS);

  for (int run = 0; run < s.runs; ++run) {
    std::fprintf(stderr, "[per_packet] denied flood: run %d/%d\n", run + 1,
                 s.runs);
    // The rotator's own cost, as the bare program shows it (last subject).
    std::vector<WarmRun> warm, cold;
    for (const Subject &subject : subjects) {
      WarmRun w = run_warm(subject.fd, frame.data(), frame.size(), s.repeat);
      expect_drop(w, flood.rows[subject.repeat_row].program + " repeat");
      WarmRun c = rotator.run(subject.fd, frame, s.cold_repeat);
      expect_drop(c, flood.rows[subject.new_row].program + " new source");
      warm.push_back(w);
      cold.push_back(c);
    }
    double rotator_ns = cold.back().kernel_ns - warm.back().kernel_ns;
    flood.rotator_ns.push_back(rotator_ns);
    for (std::size_t i = 0; i < subjects.size(); ++i) {
      flood.rows[subjects[i].repeat_row].ns.push_back(warm[i].kernel_ns);
      flood.rows[subjects[i].new_row].ns.push_back(cold[i].kernel_ns -
                                                   rotator_ns);
    }
  }
  for (const Subject &subject : subjects)
    if (subject.path)
      flood.rows[subject.new_row].after = sample_summary(*subject.path);
  return flood;
}

void print_denied_flood(std::ostream &out, const DeniedFlood &flood,
                        const Settings &s) {
  out << "\nDenied flood: ns per denied packet, IPv4, 1k-prefix list, median "
         "of "
      << s.runs << " runs\n"
      << "  repeat source: one source past its exact counts, " << s.repeat
      << " runs per call\n"
      << "  new source: a different source every run (rotating), net of the "
         "rotator ("
      << median(flood.rotator_ns) << " ns)\n";
  char line[200];
  std::snprintf(line, sizeof(line), "  %-34s %14s %12s\n", "program",
                "repeat source", "new source");
  out << line;
  for (std::size_t i = 0; i + 1 < flood.rows.size(); i += 2) {
    const DeniedFloodRow &repeat = flood.rows[i], &fresh = flood.rows[i + 1];
    std::string name = repeat.program;
    if (repeat.program == "xdpgate")
      name += ", denied_sample_rate " + std::to_string(repeat.sample_rate);
    std::snprintf(line, sizeof(line), "  %-34s %14.1f %12.1f\n", name.c_str(),
                  median(repeat.ns), median(fresh.ns));
    out << line;
    if (!fresh.after.empty())
      out << "    after the new-source flood: " << fresh.after << "\n";
  }
}

nlohmann::json to_json(const DeniedFlood &flood) {
  nlohmann::json rows = nlohmann::json::array();
  for (const DeniedFloodRow &r : flood.rows) {
    nlohmann::json j = {{"flood", r.flood},
                        {"program", r.program},
                        {"ns", median(r.ns)},
                        {"ns_runs", r.ns},
                        {"sources", r.sources}};
    if (r.program == "xdpgate")
      j["denied_sample_rate"] = r.sample_rate;
    if (!r.after.empty())
      j["sample_after"] = r.after;
    rows.push_back(j);
  }
  return {{"method",
           "xdpgate enforcing a 1k-prefix IPv4 list (daemon defaults), denied "
           "64-byte UDP frames. repeat_source: one source, already past its "
           "exact counts, `repeat` runs per BPF_PROG_TEST_RUN call "
           "(opts.duration). new_source: tests/bench/bpf/rotate_source.bpf.c "
           "writes the next of up to `cold_frames` denied sources into the "
           "frame on every run, `cold_repeat` runs per call, minus the "
           "rotator's own cost (bare XDP_DROP behind it minus bare XDP_DROP "
           "alone). At denied_sample_rate 64 (default) and 1 (no sampling)."},
          {"rotator_ns", median(flood.rotator_ns)},
          {"rows", rows}};
}

} // namespace xdpgate::bench
