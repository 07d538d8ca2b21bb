// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/peer_socket.hpp"

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

namespace xdpgate::api {

PeerSocket::PeerSocket(int sock, const StreamLimits &limits)
    : sock_(sock), limits_(limits) {}

bool PeerSocket::wait_for_request(std::chrono::milliseconds idle,
                                  const std::function<bool()> &keep_going) {
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

void PeerSocket::begin_request() {
  exchanged_ = 0;
  request_deadline_ = Clock::now() + limits_.request_time;
  response_deadline_.reset();
}

void PeerSocket::begin_piece() {
  response_deadline_ = Clock::now() + limits_.io_wait;
}

bool PeerSocket::peer_gone() const {
  pollfd p{sock_, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 &&
         (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool PeerSocket::wait(short events, Clock::time_point deadline) const {
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

std::size_t PeerSocket::receive(void *data, std::size_t size, error_code &ec) {
  ec = {};
  for (;;) {
    if (!wait(POLLIN, request_deadline_)) {
      ec = boost::beast::error::timeout;
      return 0;
    }
    ssize_t n = ::recv(sock_, data, size, MSG_DONTWAIT);
    if (n > 0) {
      exchanged_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (n == 0) {
      ec = boost::asio::error::eof;
      return 0;
    }
    if (errno != EAGAIN && errno != EINTR) {
      ec = error_code(errno, boost::system::system_category());
      return 0;
    }
  }
}

std::size_t PeerSocket::send(const iovec *parts, std::size_t count,
                             error_code &ec) {
  ec = {};
  if (!response_deadline_)
    response_deadline_ = Clock::now() + limits_.response_time;
  msghdr message{};
  message.msg_iov = const_cast<iovec *>(parts);
  message.msg_iovlen = count;
  for (;;) {
    if (!wait(POLLOUT, *response_deadline_)) {
      ec = boost::beast::error::timeout;
      return 0;
    }
    ssize_t n = ::sendmsg(sock_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      exchanged_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno != EAGAIN && errno != EINTR) {
      ec = error_code(errno, boost::system::system_category());
      return 0;
    }
  }
}

} // namespace xdpgate::api
