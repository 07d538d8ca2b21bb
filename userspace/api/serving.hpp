// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A listener's accept loop on a thread of its own, each accepted connection
// served on a thread of its own (ConnectionThreads, bounded), and a stop
// that ends both: what the API server and the metrics server share.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>

#include "api/connection_threads.hpp"
#include "api/listener.hpp"
#include "common/fd.hpp"

namespace xdpgate::api {

class Serving {
public:
  // One connection, start to end; `keep_going` turns false once the server
  // stops, so that a kept-alive connection ends between requests.
  using Serve =
      std::function<void(Fd conn, const std::function<bool()> &keep_going)>;

  // Starts accepting on `listener`, serving at most `max_connections` at
  // once; more wait in the listen backlog.
  Serving(std::unique_ptr<Listener> listener, std::size_t max_connections,
          Serve serve);
  // Stops accepting, lets the connections in progress finish their request,
  // joins every thread and closes the listener. Safe to call twice.
  void stop();
  ~Serving();

  Serving(const Serving &) = delete;
  Serving &operator=(const Serving &) = delete;

private:
  std::unique_ptr<Listener> listener_;
  const Serve serve_;
  std::atomic<bool> stopping_{false};
  ConnectionThreads threads_;
  std::thread accepting_;
};

} // namespace xdpgate::api
