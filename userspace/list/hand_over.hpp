// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Hands items from one thread to another in order, at most `capacity`
// waiting: the giver waits while the taker lags, so what is in flight stays
// bounded. Either side can end it: the giver by close() (the taker drains
// what is left), the taker by stop() (the giver's next give() says so).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace xdpgate {

template <typename T> class HandOver {
public:
  explicit HandOver(std::size_t capacity) : capacity_(capacity) {}
  HandOver(const HandOver &) = delete;
  HandOver &operator=(const HandOver &) = delete;

  // False once the taker has stopped: the item is dropped.
  bool give(T item) {
    std::unique_lock lock(mutex_);
    room_.wait(lock,
               [this] { return stopped_ || waiting_.size() < capacity_; });
    if (stopped_)
      return false;
    waiting_.push_back(std::move(item));
    ready_.notify_one();
    return true;
  }

  // The next item; nullopt once closed and drained.
  std::optional<T> take() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !waiting_.empty(); });
    if (waiting_.empty())
      return std::nullopt;
    T item = std::move(waiting_.front());
    waiting_.pop_front();
    room_.notify_one();
    return item;
  }

  // The giver: nothing more comes.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

  // The taker: nothing more is taken.
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    waiting_.clear();
    room_.notify_all();
  }

private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable ready_; // an item waits, or closed
  std::condition_variable room_;  // room for an item, or stopped
  std::deque<T> waiting_;
  bool closed_ = false;
  bool stopped_ = false;
};

} // namespace xdpgate
