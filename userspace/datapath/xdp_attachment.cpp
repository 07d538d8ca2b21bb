// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "datapath/xdp_attachment.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

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

std::optional<bpf_link_info> link_info(int fd) {
  bpf_link_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return std::nullopt;
  return info;
}

// The mode the kernel reports for what is attached to `ifindex`.
XdpMode attached_mode(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  if (bpf_xdp_query(ifindex, 0, &query) == 0 &&
      query.attach_mode == XDP_ATTACHED_SKB)
    return XdpMode::Generic;
  return XdpMode::Native;
}

Result<Fd> create_link(int program_fd, int ifindex, const std::string &ifname,
                       AttachMode mode) {
  if (mode != AttachMode::Generic) {
    int fd = link_xdp(program_fd, ifindex, XdpMode::Native);
    if (fd >= 0)
      return Fd(fd);
    if (mode == AttachMode::Native)
      return system_error(ErrorCode::AttachFailed,
                          "attaching XDP in native mode to " + ifname +
                              " failed; its driver may not support XDP: "
                              "use attach_mode = \"auto\" or \"generic\"");
  }
  int fd = link_xdp(program_fd, ifindex, XdpMode::Generic);
  if (fd < 0)
    return system_error(ErrorCode::AttachFailed,
                        "attaching XDP to " + ifname +
                            " failed (is another XDP program attached?)");
  return Fd(fd);
}

} // namespace

bool pinned_link_elsewhere(const std::filesystem::path &pin,
                           const std::string &ifname) {
  Fd link(bpf_obj_get(pin.c_str()));
  auto info = link.valid() ? link_info(link.get()) : std::nullopt;
  if (!info || info->xdp.ifindex == 0)
    return false;
  // Program ids are global: the same ifindex here with another program on
  // it is another namespace's interface.
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  LIBBPF_OPTS(bpf_xdp_query_opts, query);
  return ifindex != static_cast<int>(info->xdp.ifindex) ||
         bpf_xdp_query(ifindex, 0, &query) != 0 ||
         (query.drv_prog_id != info->prog_id &&
          query.skb_prog_id != info->prog_id);
}

Result<XdpAttachment>
XdpAttachment::attach(int program_fd, const std::string &ifname,
                      AttachMode mode,
                      const std::optional<std::filesystem::path> &pin) {
  int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0)
    return system_error(ErrorCode::InterfaceNotFound,
                        "interface " + ifname + " does not exist");

  if (pin) {
    Fd pinned(bpf_obj_get(pin->c_str()));
    if (pinned.valid()) {
      auto info = link_info(pinned.get());
      if (info && static_cast<int>(info->xdp.ifindex) == ifindex) {
        if (bpf_link_update(pinned.get(), program_fd, nullptr) != 0)
          return system_error(ErrorCode::AttachFailed,
                              "swapping the program on the pinned link of " +
                                  ifname + " failed");
        return XdpAttachment(std::move(pinned), ifname, ifindex,
                             attached_mode(ifindex));
      }
      // The interface it held is gone: the pin is stale.
      ::unlink(pin->c_str());
    }
  }

  Result<Fd> link = create_link(program_fd, ifindex, ifname, mode);
  if (!link)
    return link.error();
  if (pin) {
    std::error_code ec;
    std::filesystem::create_directories(pin->parent_path(), ec);
    if (bpf_obj_pin(link->get(), pin->c_str()) != 0)
      return system_error(ErrorCode::AttachFailed,
                          "pinning the XDP link at " + pin->string() +
                              " failed (is bpffs mounted at /sys/fs/bpf?)");
  }
  return XdpAttachment(std::move(link.value()), ifname, ifindex,
                       attached_mode(ifindex));
}

std::uint32_t XdpAttachment::program_id() const {
  auto info = link_info(link_.get());
  return info ? info->prog_id : 0;
}

bool XdpAttachment::still_attached() const {
  auto info = link_info(link_.get());
  return info && static_cast<int>(info->xdp.ifindex) == ifindex_ &&
         static_cast<int>(if_nametoindex(ifname_.c_str())) == ifindex_;
}

} // namespace xdpgate
