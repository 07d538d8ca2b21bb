// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/connection_threads.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <system_error>

namespace xdpgate::api {

ConnectionThreads::ConnectionThreads(std::size_t max_threads,
                                     std::function<bool()> stopping)
    : max_(std::max<std::size_t>(max_threads, 1)),
      stopping_(std::move(stopping)) {}

ConnectionThreads::~ConnectionThreads() { shutdown(); }

void ConnectionThreads::reap(std::unique_lock<std::mutex> &lock) {
  std::vector<std::thread> done;
  for (std::thread::id id : finished_) {
    auto it =
        std::find_if(threads_.begin(), threads_.end(),
                     [id](const std::thread &t) { return t.get_id() == id; });
    if (it != threads_.end()) {
      done.push_back(std::move(*it));
      threads_.erase(it);
    }
  }
  finished_.clear();
  // A finished thread has only its return left to run: joining is short,
  // but there is no need to hold the lock for it.
  lock.unlock();
  for (std::thread &t : done)
    t.join();
  lock.lock();
}

void ConnectionThreads::wait_for_change(std::unique_lock<std::mutex> &lock) {
  // Slices, because `stopping_` is polled rather than signalled.
  changed_.wait_for(lock, std::chrono::milliseconds(100),
                    [this] { return !finished_.empty(); });
}

void ConnectionThreads::enqueue(std::function<void()> fn) {
  // Shared, so that a failed thread start leaves it for the retry.
  auto task = std::make_shared<std::function<void()>>(std::move(fn));
  std::unique_lock lock(mutex_);
  for (;;) {
    reap(lock);
    if (running_ >= max_ && !stopping_()) {
      wait_for_change(lock);
      continue;
    }
    try {
      threads_.emplace_back([this, task] {
        (*task)();
        std::lock_guard done(mutex_);
        --running_;
        finished_.push_back(std::this_thread::get_id());
        changed_.notify_all();
      });
      ++running_;
      return;
    } catch (const std::system_error &) {
      // No thread to be had (EAGAIN): wait for one of ours to end and retry;
      // the connection waits meanwhile. With none of ours running and the
      // server stopping, end the connection here.
      if (running_ == 0 && stopping_()) {
        lock.unlock();
        (*task)();
        return;
      }
      wait_for_change(lock);
    }
  }
}

void ConnectionThreads::shutdown() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return running_ == 0; });
  reap(lock);
}

} // namespace xdpgate::api
