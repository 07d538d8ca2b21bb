// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/caller_seats.hpp"

namespace xdpgate::api {

CallerSeats::Seat::~Seat() {
  std::lock_guard lock(seats_.mutex_);
  if (outsider_)
    --seats_.outsiders_;
  else if (uid_ != 0 && --seats_.by_user_[uid_] == 0)
    seats_.by_user_.erase(uid_);
}

bool CallerSeats::take(uid_t uid, bool outsider) {
  std::lock_guard lock(mutex_);
  if (outsider) {
    if (outsiders_ >= limits_.outsiders)
      return false;
    ++outsiders_;
    return true;
  }
  if (uid == 0)
    return true;
  std::size_t &held = by_user_[uid];
  if (held >= limits_.per_user) {
    if (held == 0)
      by_user_.erase(uid);
    return false;
  }
  ++held;
  return true;
}

} // namespace xdpgate::api
