// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/denied_followers.hpp"

#include <algorithm>
#include <utility>

namespace xdpgate::api {

DeniedFollower::~DeniedFollower() { hub_.leave(this); }

FollowBatch DeniedFollower::take(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  ready_.wait_for(lock, wait,
                  [&] { return closed_ || lost_ > 0 || !queue_.empty(); });
  FollowBatch batch;
  batch.events.assign(queue_.begin(), queue_.end());
  queue_.clear();
  batch.lost = std::exchange(lost_, 0);
  batch.closed = closed_;
  return batch;
}

void DeniedFollower::push(const DeniedEvent &event, std::size_t capacity) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= capacity) {
      ++lost_;
      return; // already signalled when the queue filled
    }
    queue_.push_back(event);
  }
  ready_.notify_one();
}

void DeniedFollower::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_one();
}

DeniedFollowers::DeniedFollowers(std::function<void(bool)> on_following,
                                 std::size_t queue_capacity)
    : on_following_(std::move(on_following)),
      capacity_(std::max<std::size_t>(queue_capacity, 1)) {}

DeniedFollowers::~DeniedFollowers() { close(); }

std::unique_ptr<DeniedFollower> DeniedFollowers::follow() {
  std::lock_guard toggle(toggle_mutex_);
  std::unique_ptr<DeniedFollower> follower;
  bool first = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_)
      return nullptr;
    follower.reset(new DeniedFollower(*this));
    first = followers_.empty();
    followers_.push_back(follower.get());
  }
  if (first && on_following_)
    on_following_(true);
  return follower;
}

void DeniedFollowers::leave(DeniedFollower *follower) {
  std::lock_guard toggle(toggle_mutex_);
  bool last = false;
  {
    std::lock_guard lock(mutex_);
    auto it = std::find(followers_.begin(), followers_.end(), follower);
    if (it == followers_.end())
      return; // never joined
    followers_.erase(it);
    last = followers_.empty();
  }
  if (last && on_following_)
    on_following_(false);
}

void DeniedFollowers::publish(const DeniedEvent &event) {
  std::lock_guard lock(mutex_);
  for (DeniedFollower *f : followers_)
    f->push(event, capacity_);
}

void DeniedFollowers::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  for (DeniedFollower *f : followers_)
    f->close();
}

std::size_t DeniedFollowers::count() const {
  std::lock_guard lock(mutex_);
  return followers_.size();
}

} // namespace xdpgate::api
