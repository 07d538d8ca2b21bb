// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// One accepted API connection as a Beast synchronous stream (its public
// SyncReadStream and SyncWriteStream concepts), with the limits that keep a
// slow or silent client from harming the daemon: every wait is bounded, a
// request must arrive within a deadline and its answer leave within another.
// A wait that runs out is beast::error::timeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

namespace xdpgate::api {

struct StreamLimits {
  std::chrono::milliseconds io_wait{5000};        // each read or write
  std::chrono::milliseconds request_time{30000};  // headers and body
  std::chrono::milliseconds response_time{60000}; // the whole answer
  std::size_t header_bytes = 64 * 1024;
  // Bodies of the routes that take a whole list (add, replace, import):
  // a 1M-entry CSV file is ~20 to 40 MB.
  std::size_t body_bytes = 64 * 1024 * 1024;
  // Bodies of every other route (an entry, an address, an activation).
  std::size_t small_body_bytes = 64 * 1024;
};

class PeerSocket {
public:
  using error_code = boost::system::error_code;

  PeerSocket(int sock, const StreamLimits &limits);

  // Waits for the first byte of the next request; false when the peer stays
  // idle past `idle` or `keep_going` turns false.
  bool wait_for_request(std::chrono::milliseconds idle,
                        const std::function<bool()> &keep_going);
  // Starts the deadlines of a new request and its answer.
  void begin_request();
  // Starts the write deadline of one piece of a streamed answer: io_wait,
  // rather than response_time for the whole of an endless answer.
  void begin_piece();
  // True once the peer has closed or shut down its side.
  bool peer_gone() const;
  // Bytes read and written since begin_request(): the request and answer.
  std::uint64_t exchanged_bytes() const { return exchanged_; }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers &buffers, error_code &ec) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::mutable_buffer b = *it; b.size() > 0)
        return receive(b.data(), b.size(), ec);
    ec = {};
    return 0;
  }

  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers &buffers, error_code &ec) {
    iovec parts[kMaxWriteParts];
    std::size_t count = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers) &&
         count < kMaxWriteParts;
         ++it)
      if (boost::asio::const_buffer b = *it; b.size() > 0)
        parts[count++] = {const_cast<void *>(b.data()), b.size()};
    ec = {};
    return count == 0 ? 0 : send(parts, count, ec);
  }

  // The throwing forms the concepts also require.
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers &buffers) {
    error_code ec;
    std::size_t n = read_some(buffers, ec);
    if (ec)
      throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers &buffers) {
    error_code ec;
    std::size_t n = write_some(buffers, ec);
    if (ec)
      throw boost::system::system_error(ec);
    return n;
  }

private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxWriteParts = 16;

  std::size_t receive(void *data, std::size_t size, error_code &ec);
  std::size_t send(const iovec *parts, std::size_t count, error_code &ec);
  // Polls for `events` until the per-call wait or `deadline` runs out.
  bool wait(short events, Clock::time_point deadline) const;

  int sock_;
  StreamLimits limits_;
  std::uint64_t exchanged_ = 0;
  Clock::time_point request_deadline_{};
  std::optional<Clock::time_point> response_deadline_;
};

} // namespace xdpgate::api
