// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A listening socket, owned by us from bind to close, and its accept loop,
// which ends at once when another thread calls stop(). The API's is a Unix
// socket: its file is mode 0666 (anyone may connect; the handlers decide by
// the peer's credentials, since a read group and a write group cannot both
// be given connect permission by one file's owner and group), a stale file
// is replaced but a live server's never. The metrics' is TCP.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <sys/types.h>

#include "common/fd.hpp"
#include "common/result.hpp"
#include "net/tcp_address.hpp"

namespace xdpgate::api {

class Listener {
public:
  // Creates the parent directory (0755) when missing, replaces a stale
  // socket (one nothing answers on), binds and listens. Refuses a path that
  // is not a socket or that another server answers on.
  static Result<std::unique_ptr<Listener>>
  bind_unix(const std::filesystem::path &path);
  // Listens on a TCP address (SO_REUSEADDR, so that a restart does not wait
  // for the last connections' TIME_WAIT).
  static Result<std::unique_ptr<Listener>> bind_tcp(const TcpAddress &address);
  // Closes the socket and removes a Unix socket's file, if it is still ours.
  ~Listener();
  Listener(const Listener &) = delete;
  Listener &operator=(const Listener &) = delete;

  // Accepts connections until stop(), handing each (close-on-exec) to
  // `serve`, which owns it from then on and may block to apply back
  // pressure: connections then wait in the listen backlog.
  void run(const std::function<void(Fd)> &serve);
  // Ends run() soon; callable from any thread, any number of times.
  void stop();

private:
  Listener(std::filesystem::path path, Fd sock, Fd wake);

  const std::filesystem::path path_; // empty for TCP
  Fd sock_;
  Fd wake_;       // an eventfd: stop() makes it readable
  dev_t dev_ = 0; // the file we bound, so that only ours is removed
  ino_t ino_ = 0;
};

} // namespace xdpgate::api
