// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Watches rtnetlink for links that appear, change or go away (libmnl), and
// calls back with the link's name, so a protected interface that is created
// or re-created gets the program within moments instead of at the next poll.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/fd.hpp"
#include "common/result.hpp"

struct mnl_socket;

namespace xdpgate {

struct LinkEvent {
  std::string name;
  int ifindex = 0;
  bool removed = false;
};

class LinkWatcher {
public:
  using Callback = std::function<void(const LinkEvent &)>;

  // Subscribes to link events of the caller's network namespace and starts
  // a thread that calls `on_event` for each.
  static Result<std::unique_ptr<LinkWatcher>> start(Callback on_event);
  ~LinkWatcher();

private:
  struct MnlDeleter {
    void operator()(mnl_socket *socket) const;
  };

  LinkWatcher(std::unique_ptr<mnl_socket, MnlDeleter> socket, Fd stop_event,
              Callback on_event);
  void run();

  std::unique_ptr<mnl_socket, MnlDeleter> socket_;
  Fd stop_event_; // eventfd that wakes the thread to exit
  Callback on_event_;
  std::thread thread_;
};

} // namespace xdpgate
