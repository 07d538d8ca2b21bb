// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Group 1 of `make bench`: what one packet costs in xdpgate's XDP program
// and in its peers (bare XDP_DROP, a plain one-lookup LPM program,
// xdp-filter), through BPF_PROG_TEST_RUN with lists of 1 to 1M prefixes.
// No interface is touched. Prints a table, writes JSON; progress on stderr.
//
// Then the cost per denied packet under a flood (denied_flood.hpp).
//
// Usage: per_packet_bench [--out FILE] [--runs N] [--repeat N]
//                         [--sources K] [--cold-frames N] [--cold-repeat N]
//                         [--syscall-frames N] [--capacity N] [--quick]
//                         [--denied-flood-only] [--follow-only]
#include <bpf/libbpf.h>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <linux/bpf.h>
#include <map>
#include <optional>
#include <stdexcept>

#include "config/config.hpp"
#include "datapath/data_path.hpp"
#include "per_packet/denied_flood.hpp"
#include "per_packet/follow.hpp"
#include "per_packet/peers.hpp"
#include "per_packet/prefix_mix.hpp"
#include "per_packet/report.hpp"
#include "per_packet/rotator.hpp"
#include "per_packet/timing.hpp"
#include "support/frame.hpp"

namespace xdpgate::bench {

namespace {

struct Options {
  Settings settings;
  std::uint32_t capacity = Config{}.capacity; // xdpgate's, as the daemon's
  std::filesystem::path out = "build/bench/per_packet.json";
  std::vector<std::size_t> v4_sizes = {1, 1000, 100000, 1000000};
  std::vector<std::size_t> v6_sizes = {1000, 100000, 1000000};
  bool denied_flood_only = false;
  bool follow_only = false; // only the following figures
};

using Clock = std::chrono::steady_clock;

void progress(const std::string &message) {
  std::cerr << "[per_packet] " << message << std::endl;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::uint8_t> frame_from(const IpPrefix &source,
                                     std::size_t bytes) {
  bool v4 = source.family == Family::V4;
  std::size_t headers = 14 + (v4 ? 20 : 40) + 8;
  test::Frame f = v4 ? test::Frame::ipv4(source.to_string())
                     : test::Frame::ipv6(source.to_string());
  f.udp(9).payload(bytes - headers);
  return f.bytes();
}

std::uint64_t seed_for(Family family, std::size_t n) {
  return 0x7864706761746531ull ^
         (std::uint64_t{family == Family::V4 ? 4u : 6u} << 56) ^ n;
}

// The programs that judge one list, loaded side by side.
struct Subject {
  Prog prog;
  int fd;
  std::vector<Case> cases;
  std::string note;
};

// A list and the cases it is measured for (N = 1 needs two lists: one host
// for the host hit, one network for the prefix hit).
struct Part {
  std::vector<IpPrefix> list;
  std::vector<Case> cases;
};

struct Peers {
  BareDrop bare;
  std::optional<std::filesystem::path> filter_ip =
      XdpFilter::find("xdpfilt_dny_ip.o");
  std::optional<std::filesystem::path> filter_all =
      XdpFilter::find("xdpfilt_dny_all.o");
};

std::uint32_t expected_action(Prog prog, Case kase) {
  if (prog == Prog::BareDrop || kase == Case::Miss || kase == Case::NearMiss)
    return XDP_DROP;
  return XDP_PASS;
}

// Sources of each case, by case.
std::map<Case, const std::vector<IpPrefix> *> by_case(const Sources &s) {
  return {{Case::HostHit, &s.host_hits},
          {Case::PrefixHit, &s.prefix_hits},
          {Case::Miss, &s.misses},
          {Case::NearMiss, &s.near_misses},
          {Case::AnyFrame, &s.misses}};
}

void check_action(const std::string &where, const Subject &subject, Case c,
                  std::uint32_t action) {
  if (action != expected_action(subject.prog, c))
    throw std::runtime_error(where + ": " + prog_label(subject.prog) + ", " +
                             case_key(c) + ": XDP action " +
                             std::to_string(action) + ", expected " +
                             std::to_string(expected_action(subject.prog, c)));
}

// xdpgate's own counters must show every rotated run judged as expected:
// the cold figures then describe the verdicts the warm ones do.
void check_verdicts(const std::string &where, DataPath &ours, Case c,
                    std::uint32_t repeat) {
  Result<VerdictCounters> counters = ours.verdict_counters();
  if (!counters)
    throw std::runtime_error(where + ": " + counters.error().message);
  int expected = c == Case::Miss || c == Case::NearMiss
                     ? XDPGATE_VERDICT_DROPPED
                     : XDPGATE_VERDICT_ALLOWED;
  if ((*counters)[expected].packets != repeat)
    throw std::runtime_error(where + ": xdpgate, cold " + case_key(c) + ": " +
                             std::to_string((*counters)[expected].packets) +
                             " of " + std::to_string(repeat) +
                             " runs got the expected verdict");
}

// Writing the list into a new structure, rounds of xdpgate and the plain
// trie in turn, each freed before the next is made.
void measure_writes(Results &results, Family family, std::size_t n,
                    const std::vector<IpPrefix> &list,
                    const DataPathOptions &dp_options,
                    const DesiredState &desired, const std::string &where) {
  WriteTimes times;
  times.family = family == Family::V4 ? 4 : 6;
  times.n = n;
  for (int round = 0; round < results.settings.write_rounds; ++round) {
    {
      Result<DataPath> loaded = DataPath::load(dp_options);
      if (!loaded)
        throw std::runtime_error("loading xdpgate: " + loaded.error().message);
      auto start = Clock::now();
      if (Status st = loaded->sync(desired); !st)
        throw std::runtime_error("DataPath::sync: " + st.error().message);
      times.xdpgate_s.push_back(seconds_since(start));
    }
    PlainLpm plain(static_cast<std::uint32_t>(std::max<std::size_t>(n, 1)),
                   list);
    times.plain_lpm_s.push_back(plain.fill_seconds());
    progress(where + ": write round " + std::to_string(round + 1) +
             ": xdpgate " + std::to_string(times.xdpgate_s.back()) +
             " s, plain LPM " + std::to_string(times.plain_lpm_s.back()) +
             " s");
  }
  results.writes.push_back(std::move(times));
}

void measure_part(Results &results, Family family, std::size_t n,
                  const Part &part, Peers &peers, const Options &options) {
  const Settings &s = options.settings;
  int fam = family == Family::V4 ? 4 : 6;
  std::string where = (fam == 4 ? "IPv4 N=" : "IPv6 N=") + std::to_string(n);
  auto start = Clock::now();

  PrefixIndex index(part.list);
  Sources sources =
      pick_sources(part.list, index, std::max(s.warm_sources, s.cold_frames),
                   seed_for(family, n) + 1);
  auto cases = by_case(sources);

  // xdpgate as the daemon runs it: default capacity (unless --capacity),
  // enforce mode, the default exempt port, replies tracked, 1 in 64 denied
  // packets sampled.
  const Config defaults;
  DataPathOptions dp_options;
  dp_options.capacity =
      static_cast<std::uint32_t>(std::max<std::size_t>(n, options.capacity));
  DesiredState desired;
  desired.config.mode = Mode::Enforce;
  desired.config.track_replies = true;
  desired.config.exempt_tcp_ports = {defaults.exempt_tcp_ports.begin(),
                                     defaults.exempt_tcp_ports.end()};
  desired.allow = part.list;
  if (n > 1)
    measure_writes(results, family, n, part.list, dp_options, desired, where);
  Result<DataPath> loaded = DataPath::load(dp_options);
  if (!loaded)
    throw std::runtime_error("loading xdpgate: " + loaded.error().message);
  DataPath ours = std::move(loaded.value());
  auto sync_start = Clock::now();
  if (Status st = ours.sync(desired); !st)
    throw std::runtime_error("DataPath::sync: " + st.error().message);
  progress(where + ": xdpgate holds " + std::to_string(part.list.size()) +
           " prefixes (sync " + std::to_string(seconds_since(sync_start)) +
           " s)");

  PlainLpm plain(static_cast<std::uint32_t>(std::max<std::size_t>(n, 1)),
                 part.list);

  std::vector<IpPrefix> hosts;
  for (const IpPrefix &p : part.list)
    if (p.is_single_address())
      hosts.push_back(p);
  std::vector<Subject> subjects = {
      {Prog::Xdpgate, ours.program_fd(), part.cases, ""},
      {Prog::PlainLpm, plain.program_fd(), part.cases, ""}};

  std::vector<Case> exact_cases;
  for (Case c : part.cases)
    if (c != Case::PrefixHit)
      exact_cases.push_back(c);
  std::optional<XdpFilter> filter_ip, filter_all;
  for (auto [path, slot, prog] :
       {std::tuple{&peers.filter_ip, &filter_ip, Prog::XdpFilterIp},
        std::tuple{&peers.filter_all, &filter_all, Prog::XdpFilterAll}}) {
    if (!*path || exact_cases.empty())
      continue;
    slot->emplace(**path, hosts);
    std::string note = "holds the list's " + std::to_string(hosts.size()) +
                       " host entries (exact match only)";
    if ((*slot)->resized())
      note += ", its address map enlarged from the 10,000 it ships with";
    subjects.push_back({prog, (*slot)->program_fd(), exact_cases, note});
  }
  if (!results.floor(fam, n))
    subjects.push_back(
        {Prog::BareDrop, peers.bare.program_fd(), {Case::AnyFrame}, ""});

  // The kernel's trie must agree with the userspace index on the sources
  // timed warm, or the benchmark measures something else than it says.
  for (Case c : part.cases)
    for (std::size_t i = 0; i < cases[c]->size() && i < s.warm_sources; ++i) {
      const IpPrefix &a = (*cases[c])[i];
      if (ours.lookup(a) != index.longest_match(a))
        throw std::runtime_error(where + ": the kernel's match for " +
                                 a.to_string() + " differs from the list's");
    }

  // Per case: warm frames, the rotator, and the one-syscall-per-packet set.
  std::map<Case, FrameSet> warm_frames, syscall_frames;
  std::map<Case, std::unique_ptr<SourceRotator>> rotators;
  for (auto &[c, list] : cases) {
    std::size_t cold = std::min(list->size(), s.cold_frames);
    for (std::size_t i = 0; i < list->size(); ++i) {
      std::vector<std::uint8_t> frame = frame_from((*list)[i], s.frame_bytes);
      if (i < s.warm_sources)
        warm_frames[c].add(frame);
      if (i < cold && cold >= 2)
        syscall_frames[c].add(frame);
    }
    if (cold >= 2)
      rotators[c] = std::make_unique<SourceRotator>(
          family, std::vector<IpPrefix>(list->begin(), list->begin() + cold));
  }

  for (Case c : part.cases)
    if (!rotators.count(c))
      results.notes.push_back(where + ": " + case_key(c) +
                              " has one source only: no cold figures");

  // One Measurement per (subject, case), filled run by run; programs and
  // cases interleave within each run so drift touches them all alike.
  struct Slot {
    const Subject *subject;
    Measurement m;
  };
  std::vector<Slot> slots;
  for (const Subject &subject : subjects)
    for (Case c : subject.cases) {
      Measurement m;
      m.family = fam;
      m.n = n;
      m.prog = subject.prog;
      m.kase = c;
      m.warm_sources = warm_frames[c].size();
      m.cold_sources = rotators.count(c) ? rotators[c]->size() : 0;
      m.note = subject.note;
      if (m.warm_sources == 0) {
        results.notes.push_back(where + ": no sources for " + case_key(c) +
                                "; skipped");
        continue;
      }
      slots.push_back({&subject, std::move(m)});
    }

  for (int run = 0; run < s.runs; ++run) {
    progress(where + ": run " + std::to_string(run + 1) + "/" +
             std::to_string(s.runs));
    for (auto &[subject, m] : slots) {
      const FrameSet &frames = warm_frames[m.kase];
      double kernel = 0, wall = 0;
      for (std::size_t i = 0; i < frames.size(); ++i) {
        WarmRun w =
            run_warm(subject->fd, frames.frame(i), frames.frame_size, s.repeat);
        check_action(where, *subject, m.kase, w.action);
        kernel += w.kernel_ns;
        wall += w.wall_ns;
      }
      m.warm_ns.push_back(kernel / static_cast<double>(frames.size()));
      m.warm_wall_ns.push_back(wall / static_cast<double>(frames.size()));
    }
    for (auto &[subject, m] : slots) {
      if (m.cold_sources == 0)
        continue;
      const FrameSet &frames = warm_frames[m.kase];
      std::vector<std::uint8_t> frame(frames.frame(0),
                                      frames.frame(0) + frames.frame_size);
      if (subject->prog == Prog::Xdpgate)
        if (Status st = ours.reset_verdict_counters(); !st)
          throw std::runtime_error(st.error().message);
      WarmRun w = rotators[m.kase]->run(subject->fd, frame, s.cold_repeat);
      check_action(where, *subject, m.kase, w.action);
      if (subject->prog == Prog::Xdpgate)
        check_verdicts(where, ours, m.kase, s.cold_repeat);
      m.cold_ns.push_back(w.kernel_ns);
    }
    for (auto &[subject, m] : slots) {
      if (m.cold_sources == 0 || s.syscall_frames == 0)
        continue;
      // Each run takes the next slice of the set: more distinct sources.
      const FrameSet &all = syscall_frames[m.kase];
      FrameSet slice;
      for (std::size_t i = 0; i < std::min(s.syscall_frames, all.size()); ++i)
        slice.add(std::vector<std::uint8_t>(
            all.frame((run * s.syscall_frames + i) % all.size()),
            all.frame((run * s.syscall_frames + i) % all.size()) +
                all.frame_size));
      m.syscall_sources = slice.size();
      m.syscall_ns.push_back(median(run_each_once(
          subject->fd, slice, expected_action(subject->prog, m.kase),
          where + " " + prog_label(subject->prog) + " " + case_key(m.kase))));
    }
  }
  for (Slot &slot : slots)
    results.figures.push_back(std::move(slot.m));
  progress(where + ": done in " + std::to_string(seconds_since(start)) + " s");
}

void measure_scenario(Results &results, Family family, std::size_t n,
                      Peers &peers, const Options &options) {
  std::vector<Case> all = {Case::HostHit, Case::PrefixHit, Case::Miss,
                           Case::NearMiss};
  if (n > 1) {
    measure_part(results, family, n,
                 {generate_list(family, n, seed_for(family, n)), all}, peers,
                 options);
    return;
  }
  Rng rng(seed_for(family, 1));
  measure_part(results, family, 1,
               {{generate_host(family, rng)},
                {Case::HostHit, Case::Miss, Case::NearMiss}},
               peers, options);
  measure_part(results, family, 1,
               {{generate_network(family, rng)}, {Case::PrefixHit}}, peers,
               options);
}

int quiet_libbpf(libbpf_print_level level, const char *format, va_list args) {
  if (level != LIBBPF_WARN)
    return 0;
  return std::vfprintf(stderr, format, args);
}

std::size_t parse_count(const std::string &flag, const char *value) {
  if (!value)
    throw std::invalid_argument(flag + " needs a value");
  return std::stoul(value);
}

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--out" && next) {
      o.out = argv[++i];
    } else if (a == "--runs") {
      o.settings.runs = static_cast<int>(parse_count(a, next));
      ++i;
    } else if (a == "--repeat") {
      o.settings.repeat = static_cast<std::uint32_t>(parse_count(a, next));
      ++i;
    } else if (a == "--sources") {
      o.settings.warm_sources = parse_count(a, next);
      ++i;
    } else if (a == "--cold-frames") {
      o.settings.cold_frames = parse_count(a, next);
      ++i;
    } else if (a == "--cold-repeat") {
      o.settings.cold_repeat = static_cast<std::uint32_t>(parse_count(a, next));
      ++i;
    } else if (a == "--capacity") {
      o.capacity = static_cast<std::uint32_t>(parse_count(a, next));
      ++i;
    } else if (a == "--syscall-frames") {
      o.settings.syscall_frames = parse_count(a, next);
      ++i;
    } else if (a == "--denied-flood-only") {
      o.denied_flood_only = true;
    } else if (a == "--follow-only") {
      o.follow_only = true;
    } else if (a == "--quick") {
      // For development: smaller lists, fewer frames. Not for reporting.
      o.v4_sizes = {1, 1000};
      o.v6_sizes = {1000};
      o.settings.cold_frames = 10000;
      o.settings.cold_repeat = 100000;
      o.settings.syscall_frames = 500;
    } else {
      throw std::invalid_argument(
          "usage: per_packet_bench [--out FILE] [--runs N] [--repeat N] "
          "[--sources K] [--cold-frames N] [--cold-repeat N] "
          "[--syscall-frames N] [--capacity N] [--quick] "
          "[--denied-flood-only] [--follow-only]");
    }
  }
  if (o.settings.runs < 1 || o.settings.repeat < 1 ||
      o.settings.warm_sources < 1 || o.settings.cold_repeat < 1)
    throw std::invalid_argument(
        "--runs, --repeat, --sources and --cold-repeat must be > 0");
  return o;
}

int run(int argc, char **argv) {
  Options options = parse(argc, argv);
  libbpf_set_print(quiet_libbpf);
  Results results;
  results.settings = options.settings;
  results.capacity = options.capacity;
  if (options.capacity != Config{}.capacity)
    results.notes.push_back(
        "xdpgate capacity set to max(N, " + std::to_string(options.capacity) +
        ") instead of the daemon's default " +
        std::to_string(Config{}.capacity) + ": not the shipped setup");
  if (options.settings.runs < 5 || options.settings.repeat < 1000000)
    results.notes.push_back("fewer than 5 runs or 1M repeats: a trial run, "
                            "not for reporting");

  BpfStatsOff stats_off;
  results.stats_enabled_before = stats_off.original();
  progress("kernel.bpf_stats_enabled was " +
           std::to_string(stats_off.original()) + ", set to 0 while timing");

  Peers peers;
  for (auto [path, name] : {std::pair{&peers.filter_ip, "xdpfilt_dny_ip.o"},
                            std::pair{&peers.filter_all, "xdpfilt_dny_all.o"}})
    if (!*path)
      results.notes.push_back(std::string("xdp-filter object ") + name +
                              " not found (install xdp-tools or set "
                              "XDP_OBJECT_PATH): not measured");

  if (options.denied_flood_only || options.follow_only) {
    results.notes.push_back(
        "--denied-flood-only or --follow-only: the list scenarios were not "
        "measured");
  } else {
    for (std::size_t n : options.v4_sizes)
      measure_scenario(results, Family::V4, n, peers, options);
    for (std::size_t n : options.v6_sizes)
      measure_scenario(results, Family::V6, n, peers, options);
  }
  std::optional<DeniedFlood> flood;
  if (!options.follow_only)
    flood =
        measure_denied_flood(options.settings, peers.bare, options.capacity);
  std::optional<FollowFigures> follow;
  if (!options.denied_flood_only)
    follow = measure_follow(options.settings);

  if (!options.denied_flood_only && !options.follow_only)
    print_table(std::cout, results);
  if (flood)
    print_denied_flood(std::cout, *flood, options.settings);
  if (follow)
    print_follow(std::cout, *follow);
  if (options.out.has_parent_path())
    std::filesystem::create_directories(options.out.parent_path());
  nlohmann::json out = to_json(results);
  if (flood)
    out["denied_flood"] = to_json(*flood);
  if (follow)
    out["denied_follow"] = follow_json(*follow);
  std::ofstream json(options.out);
  json << out.dump(2) << "\n";
  if (!json.flush())
    throw std::runtime_error("cannot write " + options.out.string());
  std::cout << "\nJSON: " << options.out.string() << "\n";
  return 0;
}

} // namespace

} // namespace xdpgate::bench

int main(int argc, char **argv) {
  try {
    return xdpgate::bench::run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "per_packet_bench: " << e.what() << std::endl;
    return 1;
  }
}
