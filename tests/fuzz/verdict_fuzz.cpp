// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Differential fuzzing of the XDP program against the reference model of
// SPEC §1 (verdict_model.hpp): every input frame runs through the real
// program (BPF_PROG_TEST_RUN) and through the model, under one fixed list;
// any difference in action or verdict counter aborts with both stories.
// Input: byte 0 picks the configuration (bits 0-1 the mode, bit 2 a scoped
// port set), the rest is the Ethernet frame. Needs root and BPF.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "datapath/data_path.hpp"
#include "fuzz/verdict_model.hpp"
#include "support/test_run.hpp"

namespace xdpgate::fuzz {
namespace {

// Nested prefixes of both families, lone hosts, and the first and last
// address of each family.
const char *const kAllow[] = {"10.0.0.0/8",
                              "10.1.0.0/16",
                              "10.1.2.0/24",
                              "10.1.2.3",
                              "203.0.113.0/25",
                              "172.16.5.4",
                              "0.0.0.0",
                              "255.255.255.255",
                              "2001:db8:a::/48",
                              "2001:db8:a:b::/64",
                              "2001:db8:a:b::1",
                              "2001:db8:ff00::/40",
                              "::",
                              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
const char *const kExemptSources[] = {"192.0.2.0/24", "2001:db8:ee::/48",
                                      "10.1.2.128/25"};
// The seeds' sources come from the verdict suite: 198.51.100.9 and
// 2001:db8:bad::1 are denied, the ones above allowed or exempt.

[[noreturn]] void die(const std::string &why) {
  std::fprintf(stderr, "verdict_fuzz: %s\n", why.c_str());
  std::abort();
}

IpPrefix prefix(const char *text) {
  Result<IpPrefix> parsed = IpPrefix::parse(text);
  if (!parsed)
    die(std::string("bad prefix in the fixture: ") + text);
  return *parsed;
}

struct Setup {
  ModelConfig model;
  DesiredState desired;
};

Setup setup_for(std::uint8_t selector) {
  Setup s;
  switch (selector & 3) {
  case 0:
    s.model.mode = XDPGATE_MODE_OFF;
    break;
  case 1:
    s.model.mode = XDPGATE_MODE_MONITOR;
    break;
  default:
    s.model.mode = XDPGATE_MODE_ENFORCE;
    break;
  }
  for (const char *p : kAllow)
    s.model.allow.push_back(prefix(p));
  for (const char *p : kExemptSources)
    s.model.exempt_sources.push_back(prefix(p));
  s.model.exempt_tcp_ports = {10943, 8443};
  s.model.exempt_udp_ports = {3784};
  if (selector & 4) {
    s.model.protected_tcp_ports = {22, 443, 8443};
    s.model.protected_udp_ports = {53};
  }

  RuntimeConfig &config = s.desired.config;
  config.mode = static_cast<Mode>(s.model.mode);
  config.exempt_tcp_ports = s.model.exempt_tcp_ports;
  config.exempt_udp_ports = s.model.exempt_udp_ports;
  config.protected_tcp_ports = s.model.protected_tcp_ports;
  config.protected_udp_ports = s.model.protected_udp_ports;
  config.track_replies = false;
  s.desired.allow = s.model.allow;
  s.desired.exempt_sources = s.model.exempt_sources;
  return s;
}

struct Program {
  std::optional<DataPath> path;
  std::optional<std::uint8_t> selector; // what the maps hold now
};

Program &program() {
  static Program p;
  return p;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i && i % 16 == 0)
      out += '\n';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
    out += ' ';
  }
  return out;
}

} // namespace
} // namespace xdpgate::fuzz

using namespace xdpgate;
using namespace xdpgate::fuzz;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  if (geteuid() != 0)
    die("needs root (BPF_PROG_TEST_RUN and map access)");
  Result<DataPath> loaded = DataPath::load({});
  if (!loaded)
    die("loading the data path failed: " + loaded.error().message);
  program().path.emplace(std::move(*loaded));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  if (size < 1)
    return 0;
  Program &p = program();
  std::uint8_t selector = data[0] & 7;
  if (selector == 3) // modes 2 and 3 are both enforce: one configuration
    selector = 2;
  if (selector == 7)
    selector = 6;
  Setup setup = setup_for(selector);
  if (p.selector != selector) {
    Status synced = p.path->sync(setup.desired);
    if (!synced)
      die("sync failed: " + synced.error().message);
    p.selector = selector;
  }

  const std::vector<std::uint8_t> frame(data + 1, data + size);
  // BPF_PROG_TEST_RUN refuses what no NIC could deliver; nothing to compare.
  if (frame.size() < 14 || frame.size() > 1518 + 8)
    return 0;

  test::Outcome got;
  try {
    got = test::run_frame(*p.path, frame);
  } catch (const std::exception &e) {
    die(std::string(e.what()) + " on a frame of " +
        std::to_string(frame.size()) + " bytes");
  }

  ModelTrace trace;
  ModelOutcome want = model_verdict(setup.model, frame, &trace);
  if (got.moved != 1 || got.action != want.action ||
      got.verdict != want.verdict) {
    std::fprintf(stderr,
                 "\nverdict_fuzz: the program and the SPEC model disagree\n"
                 "  configuration: selector %u (mode %d%s)\n"
                 "  program: %s, %s (%d counters moved)\n"
                 "  model:   %s, %s\n"
                 "  model trace: %s\n"
                 "  frame (%zu bytes):\n%s\n",
                 selector, setup.model.mode, selector & 4 ? ", scoped" : "",
                 test::action_name(got.action).c_str(),
                 test::verdict_name(got.verdict).c_str(), got.moved,
                 test::action_name(want.action).c_str(),
                 test::verdict_name(want.verdict).c_str(), trace.steps.c_str(),
                 frame.size(), hex(frame).c_str());
    std::abort();
  }
  return 0;
}
