// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/tc_egress.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <string>
#include <vector>

#include "common/fd.hpp"

namespace xdpgate {

namespace {
// Fixed so that a restarted daemon finds and replaces its own filter.
constexpr __u32 kHandle = 0x7867; // "xg"
constexpr __u32 kPriority = 1;

bool program_uses_map(__u32 program_id, int map_fd) {
  bpf_map_info map{};
  __u32 length = sizeof(map);
  if (bpf_obj_get_info_by_fd(map_fd, &map, &length) != 0)
    return false;
  Fd program(bpf_prog_get_fd_by_id(program_id));
  bpf_prog_info info{};
  length = sizeof(info);
  if (!program.valid() ||
      bpf_obj_get_info_by_fd(program.get(), &info, &length) != 0)
    return false;
  std::vector<__u32> ids(info.nr_map_ids);
  info = {};
  info.nr_map_ids = static_cast<__u32>(ids.size());
  info.map_ids = reinterpret_cast<__u64>(ids.data());
  length = sizeof(info);
  if (bpf_obj_get_info_by_fd(program.get(), &info, &length) != 0)
    return false;
  for (__u32 id : ids)
    if (id == map.id)
      return true;
  return false;
}

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
    return system_error(ErrorCode::AttachFailed,
                        "creating the clsact qdisc for egress failed", -err);
  opts.prog_id = 0;
  err = bpf_tc_attach(&hook, &opts);
  if (err)
    return system_error(ErrorCode::AttachFailed,
                        "attaching the egress flow recorder failed", -err);
  return {};
}

void detach_tc_egress(int ifindex) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  bpf_tc_detach(&hook, &opts);
}

void detach_tc_egress_using(int ifindex, int map_fd) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  if (bpf_tc_query(&hook, &opts) == 0 && program_uses_map(opts.prog_id, map_fd))
    detach_tc_egress(ifindex);
}

} // namespace xdpgate
