// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/peer_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>

namespace xdpgate::api {

namespace {
// Chunk-size lines and trailers around a chunked body.
constexpr std::uint64_t kChunkFramingAllowance = 1024 * 1024;
} // namespace

PeerStream::PeerStream(int sock, const StreamLimits &limits)
    : sock_(sock), limits_(limits) {}

bool PeerStream::wait_for_request(std::chrono::milliseconds idle,
                                  const std::function<bool()> &keep_going) {
  if (buffer_begin_ < buffer_end_)
    return true;
  // Short slices so that a stopping server does not wait for idle peers.
  constexpr std::chrono::milliseconds kSlice{100};
  const Clock::time_point until = Clock::now() + idle;
  while (keep_going() && Clock::now() < until) {
    pollfd p{sock_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(kSlice.count()));
    if (n > 0)
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
  return false;
}

void PeerStream::begin_request() {
  budget_ = limits_.header_bytes;
  eof_at_budget_ = false;
  in_body_ = false;
  head_.clear();
  exchanged_ = 0;
  request_deadline_ = Clock::now() + limits_.request_time;
  response_deadline_.reset();
}

void PeerStream::begin_body(BodyFraming framing, std::uint64_t length,
                            std::uint64_t limit) {
  in_body_ = true;
  switch (framing) {
  case BodyFraming::None:
    budget_ = 0;
    eof_at_budget_ = true;
    break;
  case BodyFraming::Length:
    // httplib reads (or, past its payload limit, skips) exactly this much.
    budget_ = length;
    eof_at_budget_ = false;
    break;
  case BodyFraming::Chunked:
    budget_ = limit + kChunkFramingAllowance;
    eof_at_budget_ = false;
    break;
  }
}

bool PeerStream::wait(short events, Clock::time_point deadline) const {
  for (;;) {
    auto left =
        std::min<Clock::duration>(limits_.io_wait, deadline - Clock::now());
    if (left <= Clock::duration::zero())
      return false;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(left);
    pollfd p{sock_, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(ms.count()));
    if (n > 0)
      return true;
    if (n == 0 || errno != EINTR)
      return false;
  }
}

bool PeerStream::is_readable() const {
  return buffer_begin_ < buffer_end_ || wait(POLLIN, request_deadline_);
}

bool PeerStream::is_writable() const {
  return wait(POLLOUT, response_deadline_.value_or(Clock::now() +
                                                   limits_.response_time));
}

ssize_t PeerStream::read(char *ptr, size_t size) {
  if (budget_ == 0) {
    if (eof_at_budget_)
      return 0;
    overflow_ = in_body_ ? Overflow::Body : Overflow::Headers;
    return -1;
  }
  if (buffer_begin_ == buffer_end_) {
    if (!wait(POLLIN, request_deadline_))
      return -1;
    ssize_t n;
    do
      n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
      return n;
    buffer_begin_ = 0;
    buffer_end_ = static_cast<std::size_t>(n);
  }
  std::size_t count =
      std::min<std::uint64_t>({size, buffer_end_ - buffer_begin_, budget_});
  std::memcpy(ptr, buffer_.data() + buffer_begin_, count);
  if (!in_body_)
    head_.append(ptr, count);
  buffer_begin_ += count;
  budget_ -= count;
  exchanged_ += count;
  return static_cast<ssize_t>(count);
}

ssize_t PeerStream::write(const char *ptr, size_t size) {
  if (!response_deadline_)
    response_deadline_ = Clock::now() + limits_.response_time;
  for (;;) {
    if (!wait(POLLOUT, *response_deadline_))
      return -1;
    ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
      exchanged_ += static_cast<std::uint64_t>(n);
    if (n >= 0 || (errno != EAGAIN && errno != EINTR))
      return n;
  }
}

// Unix sockets have no addresses worth reporting; the peer is its creds.
void PeerStream::get_remote_ip_and_port(std::string &ip, int &port) const {
  ip.clear();
  port = 0;
}

void PeerStream::get_local_ip_and_port(std::string &ip, int &port) const {
  ip.clear();
  port = 0;
}

} // namespace xdpgate::api
