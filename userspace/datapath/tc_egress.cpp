// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/tc_egress.hpp"

#include <bpf/libbpf.h>
#include <cerrno>
#include <string>

namespace xdpgate {

namespace {
// Fixed so that a restarted daemon finds and replaces its own filter.
constexpr __u32 kHandle = 0x7867; // "xg"
constexpr __u32 kPriority = 1;
} // namespace

Status attach_tc_egress(int program_fd, int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = program_fd,
              .flags = BPF_TC_F_REPLACE, .handle = kHandle,
              .priority = kPriority);
  // On a restart the clsact qdisc is already there: try it first, so the
  // kernel is not asked to create it twice.
  if (bpf_tc_attach(&hook, &opts) == 0)
    return {};
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    return system_error("attach_failed",
                        "creating the clsact qdisc for egress failed", -err);
  opts.prog_id = 0;
  err = bpf_tc_attach(&hook, &opts);
  if (err)
    return system_error("attach_failed",
                        "attaching the egress flow recorder failed", -err);
  return {};
}

void detach_tc_egress(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  bpf_tc_detach(&hook, &opts);
}

} // namespace xdpgate
