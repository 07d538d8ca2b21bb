// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/peers.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "bare_drop.skel.h"
#include "datapath/lpm_key.hpp"
#include "plain_lpm.skel.h"

namespace xdpgate::bench {

namespace {

// As xdp-filter's common_kern_user.h: the flag of a source-address rule.
constexpr std::uint64_t kXdpFilterFlagSrc = 1u << 0;

std::runtime_error failure(const std::string &what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

void update_batch(int fd, const void *keys, const void *values,
                  std::uint32_t count, const std::string &what) {
  if (count == 0)
    return;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  std::uint32_t n = count;
  if (bpf_map_update_batch(fd, keys, values, &n, &opts) != 0 || n != count)
    throw failure(what, errno);
}

std::size_t count_family(const std::vector<IpPrefix> &list, Family family) {
  std::size_t n = 0;
  for (const IpPrefix &p : list)
    n += p.family == family;
  return n;
}

std::size_t address_size(Family family) {
  return family == Family::V4 ? 4 : 16;
}

} // namespace

void BareDrop::Deleter::operator()(bare_drop_bpf *skel) const {
  bare_drop_bpf__destroy(skel);
}

BareDrop::BareDrop() : skel_(bare_drop_bpf__open_and_load()) {
  if (!skel_)
    throw failure("loading the bare XDP_DROP program", errno);
}

int BareDrop::program_fd() const {
  return bpf_program__fd(skel_->progs.bare_drop);
}

void PlainLpm::Deleter::operator()(plain_lpm_bpf *skel) const {
  plain_lpm_bpf__destroy(skel);
}

PlainLpm::PlainLpm(std::uint32_t capacity, const std::vector<IpPrefix> &list)
    : skel_(plain_lpm_bpf__open()) {
  if (!skel_)
    throw failure("opening the plain LPM program", errno);
  bpf_map__set_max_entries(skel_->maps.allow_v4, capacity);
  bpf_map__set_max_entries(skel_->maps.allow_v6, capacity);
  if (int err = plain_lpm_bpf__load(skel_.get()))
    throw failure("loading the plain LPM program", -err);

  for (auto [family, map] : {std::pair{Family::V4, skel_->maps.allow_v4},
                             std::pair{Family::V6, skel_->maps.allow_v6}}) {
    std::size_t key_size = lpm_key_size(family);
    std::vector<std::uint8_t> keys;
    keys.reserve(count_family(list, family) * key_size);
    for (const IpPrefix &p : list) {
      if (p.family != family)
        continue;
      LpmKey key = lpm_key(p);
      keys.insert(keys.end(), key.bytes.begin(), key.bytes.begin() + key_size);
    }
    std::uint32_t n = static_cast<std::uint32_t>(keys.size() / key_size);
    std::vector<std::uint32_t> values(n, 0);
    auto start = std::chrono::steady_clock::now();
    update_batch(bpf_map__fd(map), keys.data(), values.data(), n,
                 "filling the plain LPM trie");
    fill_seconds_ +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  }
}

int PlainLpm::program_fd() const {
  return bpf_program__fd(skel_->progs.plain_lpm);
}

std::optional<std::filesystem::path> XdpFilter::find(const std::string &file) {
  std::vector<std::filesystem::path> dirs;
  if (const char *env = std::getenv("XDP_OBJECT_PATH"))
    dirs.emplace_back(env);
  for (const char *root : {"/usr/lib", "/usr/local/lib", "/usr/lib64"}) {
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(root, ec))
      if (entry.is_directory(ec))
        dirs.push_back(entry.path() / "bpf"); // multiarch: /usr/lib/<triplet>
    dirs.push_back(std::filesystem::path(root) / "bpf");
  }
  for (const auto &dir : dirs) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / file, ec))
      return dir / file;
  }
  return std::nullopt;
}

void XdpFilter::Deleter::operator()(bpf_object *obj) const {
  bpf_object__close(obj);
}

XdpFilter::XdpFilter(const std::filesystem::path &object,
                     const std::vector<IpPrefix> &hosts)
    : obj_(bpf_object__open_file(object.c_str(), nullptr)) {
  if (!obj_)
    throw failure("opening " + object.string(), errno);
  // Its maps are pinned by name for sharing between interfaces; a benchmark
  // copy must neither touch nor leave pins.
  bpf_map *map;
  bpf_object__for_each_map(map, obj_.get()) bpf_map__set_pin_path(map, nullptr);

  struct Table {
    Family family;
    bpf_map *map;
  };
  std::vector<Table> tables;
  for (auto [family, name] : {std::pair{Family::V4, "filter_ipv4"},
                              std::pair{Family::V6, "filter_ipv6"}}) {
    bpf_map *m = bpf_object__find_map_by_name(obj_.get(), name);
    std::size_t n = count_family(hosts, family);
    if (!m) {
      if (n)
        throw std::runtime_error(object.string() + " has no map " + name);
      continue;
    }
    if (n > bpf_map__max_entries(m)) {
      bpf_map__set_max_entries(m, static_cast<std::uint32_t>(n));
      resized_ = true;
    }
    tables.push_back({family, m});
  }
  if (int err = bpf_object__load(obj_.get()))
    throw failure("loading " + object.string(), -err);
  bpf_program *prog = bpf_object__next_program(obj_.get(), nullptr);
  if (!prog)
    throw std::runtime_error(object.string() + " has no program");
  program_fd_ = bpf_program__fd(prog);

  // Per-CPU values: xdp-filter's map_set_flags() writes the flags into
  // every possible CPU's copy (the hit counter lives above the flags).
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0)
    throw failure("counting possible CPUs", -cpus);
  for (const Table &t : tables) {
    std::size_t key_size = address_size(t.family);
    std::vector<std::uint8_t> keys;
    for (const IpPrefix &h : hosts)
      if (h.family == t.family)
        keys.insert(keys.end(), h.addr.begin(), h.addr.begin() + key_size);
    std::uint32_t n = static_cast<std::uint32_t>(keys.size() / key_size);
    std::vector<std::uint64_t> values(std::size_t{n} * cpus, kXdpFilterFlagSrc);
    update_batch(bpf_map__fd(t.map), keys.data(), values.data(), n,
                 "filling xdp-filter's " + std::string(bpf_map__name(t.map)));
  }
}

} // namespace xdpgate::bench
