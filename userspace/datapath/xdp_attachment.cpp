// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/xdp_attachment.hpp"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>

namespace xdpgate {

const char *to_string(XdpMode mode) {
  return mode == XdpMode::Native ? "native" : "generic";
}

namespace {
int link_xdp(int program_fd, int ifindex, XdpMode mode) {
  LIBBPF_OPTS(bpf_link_create_opts, opts);
  opts.flags =
      mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  return bpf_link_create(program_fd, ifindex, BPF_XDP, &opts);
}
} // namespace

Result<XdpAttachment> XdpAttachment::attach(int program_fd,
                                            const std::string &ifname,
                                            AttachMode mode) {
  int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0)
    return system_error("interface_not_found",
                        "interface " + ifname + " does not exist");
  int fd = -1;
  int native_errno = 0;
  if (mode != AttachMode::Generic) {
    fd = link_xdp(program_fd, ifindex, XdpMode::Native);
    if (fd >= 0)
      return XdpAttachment(Fd(fd), ifname, ifindex, XdpMode::Native);
    native_errno = errno;
    if (mode == AttachMode::Native)
      return system_error("attach_failed",
                          "attaching XDP in native mode to " + ifname +
                              " failed; its driver may not support XDP: try "
                              "attach_mode = \"auto\" or \"generic\"",
                          native_errno);
  }
  fd = link_xdp(program_fd, ifindex, XdpMode::Generic);
  if (fd < 0)
    return system_error("attach_failed",
                        "attaching XDP to " + ifname +
                            " failed (is another XDP program attached?)");
  return XdpAttachment(Fd(fd), ifname, ifindex, XdpMode::Generic);
}

} // namespace xdpgate
