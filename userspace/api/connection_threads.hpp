// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Each accepted connection is served on a thread of its own, up to a
// maximum; when all are busy, the accept loop waits for one to finish, so
// further connections wait in the kernel's listen backlog (costing the
// daemon no file descriptor and no memory).
//
// Why not a fixed pool of workers behind a queue: there, a handful of slow
// clients (one header byte a second) hold every worker until their request
// deadline, and every other client waits behind them, each holding a file
// descriptor (slowloris). Here a slow client holds only its own thread; others
// are served at once as long as fewer than the maximum are slow, and per-user
// limits (CallerSeats) keep one local user from taking them all.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace xdpgate::api {

class ConnectionThreads {
public:
  // `stopping` turns true when the server stops: from then on enqueue() no
  // longer waits for a free thread (the connections end at once, as the
  // server no longer serves). It is polled, so it must stay callable until
  // the queue is gone.
  ConnectionThreads(std::size_t max_threads, std::function<bool()> stopping);
  ~ConnectionThreads();
  ConnectionThreads(const ConnectionThreads &) = delete;
  ConnectionThreads &operator=(const ConnectionThreads &) = delete;

  // Runs `fn` (one connection, start to end) on a new thread; waits while
  // `max_threads` are running, unless the server is stopping.
  void enqueue(std::function<void()> fn);
  // Waits for every thread to finish.
  void shutdown();

private:
  // Joins the threads that have finished. Needs mutex_ held.
  void reap(std::unique_lock<std::mutex> &lock);

  // Waits until a thread finishes, or at most 100 ms (to poll `stopping_`).
  void wait_for_change(std::unique_lock<std::mutex> &lock);

  const std::size_t max_;
  const std::function<bool()> stopping_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t running_ = 0;
  std::list<std::thread> threads_;
  std::vector<std::thread::id> finished_;
};

} // namespace xdpgate::api
