// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The XDP program attached to one interface through a BPF link. The link is
// the attachment: while its fd (or its pin) lives, the program stays
// attached; dropping the last reference detaches it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace xdpgate {

enum class AttachMode { Auto, Native, Generic }; // what the operator asks for
enum class XdpMode { Native, Generic };          // what the kernel gave

const char *to_string(XdpMode mode);

class XdpAttachment {
public:
  // Auto tries the driver (native) mode first and falls back to generic.
  static Result<XdpAttachment> attach(int program_fd, const std::string &ifname,
                                      AttachMode mode);

  const std::string &ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  XdpMode mode() const { return mode_; }
  int link_fd() const { return link_.get(); }

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
