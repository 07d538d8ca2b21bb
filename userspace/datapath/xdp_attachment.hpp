// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The XDP program attached to one interface through a BPF link. The link is
// the attachment: while its fd or its pin lives, the program stays attached.
// Pinning the link is what keeps filtering running while the daemon restarts;
// a restarted daemon adopts the pinned link and swaps its own program in
// atomically (bpf_link_update), so there is no instant without a filter.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "model/attach_mode.hpp"

namespace xdpgate {

enum class XdpMode { Native, Generic }; // what the kernel gave

const char *to_string(XdpMode mode);

// True when the XDP link pinned at `pin` holds an interface other than
// `ifname` of this network namespace: another namespace's, whatever its
// ifindex (namespaces reuse them). False when nothing is pinned there or the
// interface it held is gone.
bool pinned_link_elsewhere(const std::filesystem::path &pin,
                           const std::string &ifname);

class XdpAttachment {
public:
  // Adopts the link pinned at `pin` if it still holds `ifname` (swapping
  // `program_fd` in), else attaches anew and pins the link there.
  static Result<XdpAttachment>
  attach(int program_fd, const std::string &ifname, AttachMode mode,
         const std::optional<std::filesystem::path> &pin);

  const std::string &ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  XdpMode mode() const { return mode_; }
  std::uint32_t program_id() const;
  // False once the interface is gone (the kernel detaches the link).
  bool still_attached() const;

private:
  XdpAttachment(Fd link, std::string ifname, int ifindex, XdpMode mode)
      : link_(std::move(link)), ifname_(std::move(ifname)), ifindex_(ifindex),
        mode_(mode) {}

  Fd link_;
  std::string ifname_;
  int ifindex_ = 0;
  XdpMode mode_ = XdpMode::Native;
};

} // namespace xdpgate
