// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The fan-out of the live view of denied packets: the ring-buffer reader
// publishes each event, and every follower (a streaming API answer) takes
// them from a bounded queue of its own. publish() never waits on a
// follower: a slow follower loses what its queue cannot hold and is told how
// many. The first follower in turns following on in the kernel, the last
// one out turns it off (on_following, called in order, never concurrently).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "model/denied_event.hpp"

namespace xdpgate::api {

class DeniedFollowers;

// What a follower takes at once.
struct FollowBatch {
  std::vector<DeniedEvent> events;
  std::uint64_t lost = 0; // events dropped from its full queue since last
  bool closed = false;    // the daemon is stopping: end the stream
};

class DeniedFollower {
public:
  ~DeniedFollower();
  DeniedFollower(const DeniedFollower &) = delete;
  DeniedFollower &operator=(const DeniedFollower &) = delete;

  // Whatever is queued, waiting at most `wait` for something to come.
  FollowBatch take(std::chrono::milliseconds wait);

private:
  friend class DeniedFollowers;
  explicit DeniedFollower(DeniedFollowers &hub) : hub_(hub) {}
  void push(const DeniedEvent &event, std::size_t capacity);
  void close();

  DeniedFollowers &hub_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<DeniedEvent> queue_;
  std::uint64_t lost_ = 0;
  bool closed_ = false;
};

class DeniedFollowers {
public:
  explicit DeniedFollowers(std::function<void(bool)> on_following = {},
                           std::size_t queue_capacity = 1024);
  ~DeniedFollowers();

  // A new follower, or nullptr once closed. Unregisters when destroyed;
  // the hub must outlive it.
  std::unique_ptr<DeniedFollower> follow();
  // To every follower, without waiting on any.
  void publish(const DeniedEvent &event);
  // Ends every stream and refuses new followers (the daemon is stopping).
  void close();
  std::size_t count() const;

private:
  friend class DeniedFollower;
  void leave(DeniedFollower *follower);

  const std::function<void(bool)> on_following_;
  const std::size_t capacity_;
  std::mutex toggle_mutex_;  // serialises on_following_ with the count
  mutable std::mutex mutex_; // guards followers_ and closed_
  std::vector<DeniedFollower *> followers_;
  bool closed_ = false;
};

} // namespace xdpgate::api
