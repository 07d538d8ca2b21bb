// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "per_packet/rotator.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "rotate_source.skel.h"

namespace xdpgate::bench {

namespace {
std::runtime_error failure(const std::string &what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}
} // namespace

void SourceRotator::Deleter::operator()(rotate_source_bpf *skel) const {
  rotate_source_bpf__destroy(skel);
}

SourceRotator::SourceRotator(Family family,
                             const std::vector<IpPrefix> &sources)
    : skel_(rotate_source_bpf__open()), size_(sources.size()) {
  if (!skel_)
    throw failure("opening the source rotator", errno);
  if (sources.empty())
    throw std::invalid_argument("SourceRotator: no sources");
  skel_->rodata->family = family == Family::V4 ? 4 : 6;
  bpf_map__set_max_entries(skel_->maps.sources,
                           static_cast<std::uint32_t>(size_));
  if (int err = rotate_source_bpf__load(skel_.get()))
    throw failure("loading the source rotator", -err);

  std::vector<std::uint32_t> keys(size_);
  std::vector<std::array<std::uint8_t, 16>> values(size_);
  for (std::size_t i = 0; i < size_; ++i) {
    keys[i] = static_cast<std::uint32_t>(i);
    values[i] = sources[i].addr;
  }
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  std::uint32_t n = static_cast<std::uint32_t>(size_);
  if (bpf_map_update_batch(bpf_map__fd(skel_->maps.sources), keys.data(),
                           values.data(), &n, &opts) != 0 ||
      n != size_)
    throw failure("filling the source rotator", errno);
  skel_->data->source_count = static_cast<std::uint32_t>(size_);
}

WarmRun SourceRotator::run(int prog_fd, const std::vector<std::uint8_t> &frame,
                           std::uint32_t repeat) {
  std::uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.target), &zero, &prog_fd,
                          BPF_ANY) != 0)
    throw failure("putting the program behind the source rotator", errno);
  skel_->bss->next_source = 0;
  return run_warm(bpf_program__fd(skel_->progs.rotate_source), frame.data(),
                  frame.size(), repeat);
}

} // namespace xdpgate::bench
