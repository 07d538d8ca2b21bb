// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The programs xdpgate is measured against, loaded for BPF_PROG_TEST_RUN
// only (nothing is attached): the bare XDP_DROP floor, a plain one-lookup
// LPM program (tests/bench/bpf/), and xdp-filter's own BPF objects from
// Debian's xdp-tools, filled the way `xdp-filter ip -m src ADDR` fills them.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/ip_prefix.hpp"

struct bare_drop_bpf;
struct plain_lpm_bpf;
struct bpf_object;

namespace xdpgate::bench {

class BareDrop {
public:
  BareDrop();
  int program_fd() const;

private:
  struct Deleter {
    void operator()(bare_drop_bpf *skel) const;
  };
  std::unique_ptr<bare_drop_bpf, Deleter> skel_;
};

class PlainLpm {
public:
  // Tries sized for `capacity` prefixes per family; fills them with `list`.
  PlainLpm(std::uint32_t capacity, const std::vector<IpPrefix> &list);
  int program_fd() const;
  // How long the batched updates that filled the tries took.
  double fill_seconds() const { return fill_seconds_; }

private:
  double fill_seconds_ = 0;
  struct Deleter {
    void operator()(plain_lpm_bpf *skel) const;
  };
  std::unique_ptr<plain_lpm_bpf, Deleter> skel_;
};

// One of xdp-filter's program variants, in deny-by-default ("whitelist")
// mode, allowing the given source hosts. xdp-filter matches exact
// addresses only, so shorter prefixes have nothing to go into.
class XdpFilter {
public:
  // The object file of a variant ("xdpfilt_dny_ip.o"), searched in
  // $XDP_OBJECT_PATH and the directories libxdp installs to.
  static std::optional<std::filesystem::path> find(const std::string &file);

  // Its filter_ipv4/filter_ipv6 hashes hold 10,000 entries as shipped; they
  // are enlarged when `hosts` needs more (resized() says so).
  XdpFilter(const std::filesystem::path &object,
            const std::vector<IpPrefix> &hosts);
  int program_fd() const { return program_fd_; }
  bool resized() const { return resized_; }

private:
  struct Deleter {
    void operator()(bpf_object *obj) const;
  };
  std::unique_ptr<bpf_object, Deleter> obj_;
  int program_fd_ = -1;
  bool resized_ = false;
};

} // namespace xdpgate::bench
