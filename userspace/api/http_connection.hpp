// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// HTTP/1.1 on one accepted connection, start to end: requests read with
// Boost.Beast's parser under PeerSocket's deadlines, answered by the
// server's handlers, kept alive up to a number of requests.
//
// Strict where a lenient reading could let a request hide another in its
// body (RFC 9112 §6.1, request smuggling): a Content-Length that is not a
// plain number, differing ones, a transfer coding other than "chunked"
// alone, or both framings are refused with 400. Whatever is refused after
// the head (no access, no route, wrong media type, a body past the route's
// limit) is answered without holding the body: it is read and dropped so
// that the client gets its answer, or, when the client waits for
// "100 Continue", never asked for.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "api/http_message.hpp"
#include "api/peer.hpp"
#include "api/peer_socket.hpp"

namespace xdpgate::api {

// The server's decision on a request whose head has been read.
struct HeadDecision {
  std::uint64_t body_limit = 0; // the most its route takes
  std::optional<Response> refusal;
};

struct HttpHandlers {
  // With the head only (the body is still unread and empty), and whether a
  // body follows.
  std::function<HeadDecision(const Request &head, bool carries_body)> on_head;
  // With the whole request, once on_head let it through.
  std::function<Response(const Request &)> on_request;
};

struct ConnectionOptions {
  StreamLimits limits;
  std::size_t max_requests = 100; // then the connection ends
  std::chrono::milliseconds idle{5000};
};

// Longer request targets are answered 414.
inline constexpr std::size_t kMaxTargetBytes = 8192;

// Serves `sock` until the peer closes or idles, a request goes wrong at the
// HTTP level, max_requests are answered, or `keep_going` turns false between
// requests. Shuts the socket down but leaves closing it to the caller.
void serve_http(int sock, const Peer &peer, Access access,
                const ConnectionOptions &options, const HttpHandlers &handlers,
                const std::function<bool()> &keep_going);

} // namespace xdpgate::api
