// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Who a pin directory belongs to. One xdpgated owns a pin directory; it is
// named by its state directory's (device, inode), which tells apart two
// containers' /var/lib/xdpgate where the path cannot, and needs to hold only
// for one boot, as the pins do. The owner is recorded in a one-entry array
// pinned at <pin_dir>/owner (bpffs holds BPF objects and directories only),
// and a running daemon holds an exclusive flock on the directory, so that a
// second daemon, in another network namespace or container, never re-opens
// and rewrites another's list, and never both run on one directory.
#pragma once

#include <filesystem>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace xdpgate {

class PinOwner {
public:
  // For xdpgated's start, before anything is loaded or pinned: takes the
  // directory's lock (creating the directory if it is missing) and records
  // `state_dir` as its owner, or finds it is already. Pins with no record
  // (an older xdpgated's) are adopted. Refused with nothing changed when
  // another state directory owns the pins or another xdpgated holds them.
  static Result<PinOwner> claim(const std::filesystem::path &pin_dir,
                                const std::filesystem::path &state_dir);
  // For --uninstall: the lock, once `state_dir` owns the directory or no
  // record says who does. Records nothing.
  static Result<PinOwner> for_removal(const std::filesystem::path &pin_dir,
                                      const std::filesystem::path &state_dir);

  // claim() found pins and no owner record, and recorded itself.
  bool adopted() const { return adopted_; }

private:
  PinOwner(Fd lock, bool adopted) : lock_(std::move(lock)), adopted_(adopted) {}

  Fd lock_; // flock(LOCK_EX) on the pin directory, released with the fd
  bool adopted_ = false;
};

} // namespace xdpgate
