// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// One accepted API connection as an httplib::Stream, with the limits that
// keep a slow, silent or oversized client from harming the daemon: every wait
// is bounded, a request must arrive (and its answer leave) within a deadline,
// and a request may not grow past its headers' budget or its declared body.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <httplib.h>

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

// How the body of the current request is framed (RFC 9112 §6.3).
enum class BodyFraming { None, Length, Chunked };

// Which budget a request outgrew.
enum class Overflow { None, Headers, Body };

class PeerStream final : public httplib::Stream {
public:
  PeerStream(int sock, const StreamLimits &limits);

  // Waits for the first byte of the next request; false when the peer stays
  // idle past `idle` or `keep_going` turns false.
  bool wait_for_request(std::chrono::milliseconds idle,
                        const std::function<bool()> &keep_going);
  // Starts the budgets and deadlines of a new request (its headers first).
  void begin_request();
  // Switches from the headers to the body, once they are parsed; a chunked
  // body may bring `limit` bytes (and its framing).
  void begin_body(BodyFraming framing, std::uint64_t length,
                  std::uint64_t limit);
  // Once set, the connection cannot be trusted to start a new request.
  Overflow overflow() const { return overflow_; }
  // Bytes read and written since begin_request(): the request and answer.
  std::uint64_t exchanged_bytes() const { return exchanged_; }
  // The current request's line and headers as they came (httplib skips
  // lines it cannot parse; they are judged from this).
  const std::string &head() const { return head_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char *ptr, size_t size) override;
  ssize_t write(const char *ptr, size_t size) override;
  void get_remote_ip_and_port(std::string &ip, int &port) const override;
  void get_local_ip_and_port(std::string &ip, int &port) const override;
  socket_t socket() const override { return sock_; }

private:
  using Clock = std::chrono::steady_clock;
  // Polls for `events` until the per-call wait or `deadline` runs out.
  bool wait(short events, Clock::time_point deadline) const;

  int sock_;
  StreamLimits limits_;
  std::array<char, 4096> buffer_{}; // headers are read a byte at a time
  std::size_t buffer_begin_ = 0;
  std::size_t buffer_end_ = 0;
  std::uint64_t budget_ = 0;   // bytes the current phase may still deliver
  bool eof_at_budget_ = false; // a body without framing has length 0
  bool in_body_ = false;
  std::string head_; // at most StreamLimits::header_bytes
  Overflow overflow_ = Overflow::None;
  std::uint64_t exchanged_ = 0;
  Clock::time_point request_deadline_{};
  std::optional<Clock::time_point> response_deadline_;
};

} // namespace xdpgate::api
