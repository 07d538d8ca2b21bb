// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/serving.hpp"

#include <csignal>
#include <pthread.h>

namespace xdpgate::api {

namespace {

// Signals belong to the daemon's main thread. Connection threads inherit
// the accepting thread's mask.
void block_async_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
    sigdelset(&set, sync);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace

Serving::Serving(std::unique_ptr<Listener> listener,
                 std::size_t max_connections, Serve serve)
    : listener_(std::move(listener)), serve_(std::move(serve)),
      threads_(max_connections, [this] { return stopping_.load(); }) {
  accepting_ = std::thread([this] {
    block_async_signals();
    listener_->run([this](Fd conn) {
      const int fd = conn.release();
      threads_.enqueue(
          [this, fd] { serve_(Fd(fd), [this] { return !stopping_.load(); }); });
    });
  });
}

void Serving::stop() {
  if (!accepting_.joinable())
    return;
  stopping_ = true;
  listener_->stop();
  accepting_.join();
  threads_.shutdown();
  listener_.reset();
}

Serving::~Serving() { stop(); }

} // namespace xdpgate::api
