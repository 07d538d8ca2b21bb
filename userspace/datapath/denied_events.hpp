// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// The reader of the denied_events ring buffer (bpf/maps.h): one thread that
// polls it with a bounded timeout and hands each event, decoded, to a
// callback. The callback runs on that thread and must not block; stopping
// (the destructor) waits at most one poll timeout. A failed poll ends the
// thread and is handed to `on_error`.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "common/result.hpp"
#include "model/denied_event.hpp"

struct ring_buffer;

namespace xdpgate {

// Decodes one raw event (an xdpgate_denied_event); nullopt if malformed.
std::optional<DeniedEvent> decode_denied_event(const void *data,
                                               std::size_t size);

class DeniedEventReader {
public:
  using Sink = std::function<void(const DeniedEvent &)>;
  using ErrorSink = std::function<void(const Error &)>;

  static Result<std::unique_ptr<DeniedEventReader>> start(
      int ring_fd, Sink sink, ErrorSink on_error = {},
      std::chrono::milliseconds poll_timeout = std::chrono::milliseconds(100));
  ~DeniedEventReader();
  DeniedEventReader(const DeniedEventReader &) = delete;
  DeniedEventReader &operator=(const DeniedEventReader &) = delete;

private:
  DeniedEventReader(Sink sink, ErrorSink on_error,
                    std::chrono::milliseconds poll_timeout);
  static int on_sample(void *self, void *data, std::size_t size);
  void run();

  Sink sink_;
  ErrorSink on_error_;
  std::chrono::milliseconds poll_timeout_;
  ring_buffer *ring_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

} // namespace xdpgate
