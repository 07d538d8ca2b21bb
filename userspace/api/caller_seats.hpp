// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// How many connections each caller holds at once. The socket is 0666, so
// anyone may connect; these limits keep one local user, or the callers
// without access together, from taking every serving thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <sys/types.h>

namespace xdpgate::api {

// Connections beyond these are closed at once, unanswered.
struct ConnectionLimits {
  // Held at once by one user other than root (root is not limited: it owns
  // the daemon anyway).
  std::size_t per_user = 32;
  // Held at once by callers outside both groups, together. Their answer is
  // a 403 whatever they send, so their request must arrive sooner.
  std::size_t outsiders = 8;
  std::chrono::milliseconds outsider_request_time{2000};
};

class CallerSeats {
public:
  explicit CallerSeats(ConnectionLimits limits) : limits_(limits) {}

  // A connection counted against its caller's limit while it lives.
  class Seat {
  public:
    Seat(CallerSeats &seats, uid_t uid, bool outsider)
        : seats_(seats), uid_(uid), outsider_(outsider) {}
    ~Seat();
    Seat(const Seat &) = delete;
    Seat &operator=(const Seat &) = delete;

  private:
    CallerSeats &seats_;
    uid_t uid_;
    bool outsider_;
  };

  // Counts a connection of `uid`, or false when its caller is at its
  // limit. A Seat made after a true answer gives it back.
  bool take(uid_t uid, bool outsider);

private:
  const ConnectionLimits limits_;
  std::mutex mutex_;
  std::map<uid_t, std::size_t> by_user_;
  std::size_t outsiders_ = 0;
};

} // namespace xdpgate::api
