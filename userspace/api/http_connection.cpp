// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/http_connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <malloc.h>
#include <string>
#include <string_view>
#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "api/responses.hpp"

namespace xdpgate::api {

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using Parser = http::request_parser<http::string_body>;

// An exchange this large (an import, a replace, an export of a big list)
// leaves tens of megabytes free in the heap once its request and answer
// are gone: give them back to the system rather than keep the daemon at its
// peak (the list service trims too, but before the answer).
constexpr std::uint64_t kLargeExchangeBytes = 1 << 20;

Error bad_request(std::string message) {
  return {ErrorCode::BadRequest, std::move(message)};
}

bool digits_only(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

// The values of the Content-Length lines of a head that failed to parse
// (Beast has consumed its request line by then, perhaps more).
std::vector<std::string_view> content_lengths(std::string_view head) {
  std::vector<std::string_view> values;
  constexpr std::string_view kName = "content-length:";
  while (!head.empty()) {
    std::string_view line = head.substr(0, head.find('\n'));
    head.remove_prefix(std::min(head.size(), line.size() + 1));
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      break; // the end of the head
    if (line.size() > kName.size() &&
        iequals(line.substr(0, kName.size()), kName))
      values.push_back(trim_ows(line.substr(kName.size())));
  }
  return values;
}

// A Content-Length that is a plain number, given once or always the same,
// but past 2^64-1: Beast refuses it as malformed, but it is a body too
// large, and said so.
bool content_length_overflows(std::string_view head) {
  std::vector<std::string_view> values = content_lengths(head);
  return !values.empty() &&
         std::all_of(values.begin(), values.end(),
                     [&](std::string_view v) {
                       return digits_only(v) && v == values.front();
                     }) &&
         values.front().find_first_not_of('0') != std::string_view::npos &&
         values.front().size() - values.front().find_first_not_of('0') > 19;
}

// Why a request whose head did not parse is refused.
Error unreadable_head(const beast::error_code &ec, std::string_view head,
                      const StreamLimits &limits) {
  if (ec == http::error::header_limit)
    return bad_request("the request line and headers exceed the size limit");
  if (ec == http::error::bad_content_length && content_length_overflows(head))
    return too_large(limits.body_bytes);
  if (ec == beast::error::timeout)
    return bad_request("the request did not arrive in time");
  if (ec == http::error::partial_message)
    return bad_request("the request ended before its head did");
  return bad_request("malformed HTTP request: " + ec.message());
}

bool known_method(std::string_view method) {
  for (std::string_view m :
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    if (method == m)
      return true;
  return false;
}

// What Beast parses but we refuse: other versions and methods, long
// targets, and framing that another reader could take differently.
std::optional<Error> refused_head(const Parser &parser, const Request &req) {
  const auto &head = parser.get();
  if (head.version() != 10 && head.version() != 11)
    return bad_request("HTTP/" + std::to_string(head.version() / 10) + "." +
                       std::to_string(head.version() % 10) +
                       " is not served; send HTTP/1.1");
  if (!known_method(req.method))
    return bad_request(
        "unknown method " +
        req.method.substr(0, std::min<std::size_t>(req.method.size(), 32)));
  if (req.target.size() > kMaxTargetBytes)
    return Error{ErrorCode::UriTooLong, "the request target exceeds " +
                                            std::to_string(kMaxTargetBytes) +
                                            " bytes"};
  const Error framing = bad_request(
      "the request's Content-Length or Transfer-Encoding is malformed, "
      "repeated or ambiguous");
  for (const Header &h : req.headers)
    if (iequals(h.name, "Content-Length") && !digits_only(trim_ows(h.value)))
      return framing;
  if (const std::size_t codings = req.headers.count("Transfer-Encoding");
      codings > 0 &&
      (codings > 1 ||
       !iequals(trim_ows(*req.headers.get("Transfer-Encoding")), "chunked")))
    return framing;
  return std::nullopt;
}

std::string what_of(const std::exception_ptr &ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception &e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

// The sink of a streamed answer: each piece one chunk (HTTP/1.0: the bare
// bytes, the body ending with the connection), each with a write deadline
// of its own.
class StreamSink final : public ChunkSink {
public:
  StreamSink(PeerSocket &socket, bool chunked,
             const std::function<bool()> &keep_going)
      : socket_(socket), chunked_(chunked), keep_going_(keep_going) {}

  bool write(std::string_view piece) override {
    if (!open())
      return false;
    if (piece.empty())
      return true; // an empty chunk would end the body
    socket_.begin_piece();
    beast::error_code ec;
    const boost::asio::const_buffer data(piece.data(), piece.size());
    if (chunked_)
      boost::asio::write(socket_, http::make_chunk(data), ec);
    else
      boost::asio::write(socket_, data, ec);
    failed_ = failed_ || ec;
    return !failed_;
  }

  bool open() override {
    return !failed_ && keep_going_() && !socket_.peer_gone();
  }

  // The end of the body, if the connection is still good for it.
  void finish() {
    if (failed_ || !chunked_)
      return;
    socket_.begin_piece();
    beast::error_code ec;
    boost::asio::write(socket_, http::make_chunk_last(), ec);
  }

private:
  PeerSocket &socket_;
  const bool chunked_;
  const std::function<bool()> &keep_going_;
  bool failed_ = false;
};

class Connection {
public:
  Connection(int sock, const Peer &peer, Access access,
             const ConnectionOptions &options, const HttpHandlers &handlers)
      : socket_(sock, options.limits), peer_(peer), access_(access),
        options_(options), handlers_(handlers) {}

  void serve(const std::function<bool()> &keep_going) {
    keep_going_ = &keep_going;
    for (std::size_t served = 0; served < options_.max_requests; ++served) {
      if (buffer_.size() == 0 &&
          !socket_.wait_for_request(options_.idle, keep_going))
        return;
      socket_.begin_request();
      const bool again = exchange(served + 1 == options_.max_requests);
      if (socket_.exchanged_bytes() >= kLargeExchangeBytes)
        malloc_trim(0);
      if (!again)
        return;
    }
  }

private:
  // One request and its answer; false when the connection must end.
  bool exchange(bool last) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options_.limits.header_bytes, UINT32_MAX)));
    // The route's limit is set once the head is read. Not boost::none:
    // Beast 1.74 compares a Content-Length with it as `len > none`, true.
    parser.body_limit(UINT64_MAX);
    beast::error_code ec;
    http::read_header(socket_, buffer_, parser, ec);
    if (ec == http::error::end_of_stream)
      return false; // closed between requests
    if (ec) {
      if (ec == beast::error::timeout && buffer_.size() == 0)
        return false; // nothing of a request came
      const std::string_view head(
          static_cast<const char *>(buffer_.data().data()), buffer_.size());
      answer_error("GET", 11, unreadable_head(ec, head, options_.limits));
      return false;
    }

    Request req = request_of(parser);
    const int version = parser.get().version();
    if (std::optional<Error> refused = refused_head(parser, req)) {
      answer_error(req.method, version, *refused);
      return false;
    }
    const bool close = last || !parser.get().keep_alive();
    std::optional<std::uint64_t> length;
    if (parser.content_length())
      length = *parser.content_length();
    const bool carries_body = parser.chunked() || length.value_or(0) > 0;
    const bool waits_for_continue = iequals(
        trim_ows(req.headers.get("Expect").value_or("")), "100-continue");

    HeadDecision decision = handlers_.on_head(req, carries_body);
    if (!decision.refusal && length && *length > decision.body_limit)
      decision.refusal = error_response(too_large(decision.body_limit));
    if (decision.refusal) {
      // Read and dropped (so that the client, which may still be sending
      // it, gets the answer), or left unsent and unread.
      const bool unread =
          carries_body &&
          (waits_for_continue || parser.chunked() || !discard(*length));
      decision.refusal->close |= unread;
      return answer(req.method, version, std::move(*decision.refusal), close);
    }

    if (waits_for_continue && carries_body) {
      static constexpr std::string_view kContinue =
          "HTTP/1.1 100 Continue\r\n\r\n";
      socket_.write_some(
          boost::asio::buffer(kContinue.data(), kContinue.size()), ec);
      if (ec)
        return false;
    }
    parser.body_limit(decision.body_limit);
    http::read(socket_, buffer_, parser, ec);
    if (ec) {
      answer_error(
          req.method, version,
          ec == http::error::body_limit ? too_large(decision.body_limit)
          : ec == beast::error::timeout
              ? bad_request("the request body did not arrive in time")
              : bad_request("malformed HTTP request body: " + ec.message()));
      return false;
    }
    req.body = std::move(parser.get().body());
    return answer(req.method, version, respond(req), close);
  }

  Request request_of(const Parser &parser) const {
    const auto &head = parser.get();
    Request req;
    req.method = std::string(head.method_string());
    req.target = std::string(head.target());
    split_target(req.target, req.path, req.query);
    for (const auto &field : head)
      req.headers.add(std::string(field.name_string()),
                      std::string(field.value()));
    req.peer = peer_;
    req.access = access_;
    return req;
  }

  Response respond(const Request &req) const {
    try {
      return handlers_.on_request(req);
    } catch (...) {
      return error_response(
          {ErrorCode::Internal,
           "internal error: " + what_of(std::current_exception())});
    }
  }

  // Reads and drops `length` body bytes; false when they did not all come.
  bool discard(std::uint64_t length) {
    const std::size_t buffered = static_cast<std::size_t>(
        std::min<std::uint64_t>(buffer_.size(), length));
    buffer_.consume(buffered);
    length -= buffered;
    std::array<char, 16384> scratch;
    while (length > 0) {
      beast::error_code ec;
      const std::size_t n = socket_.read_some(
          boost::asio::buffer(scratch.data(),
                              static_cast<std::size_t>(std::min<std::uint64_t>(
                                  scratch.size(), length))),
          ec);
      if (ec)
        return false;
      length -= n;
    }
    return true;
  }

  void answer_error(const std::string &method, int version,
                    const Error &error) {
    Response res = error_response(error);
    res.close = true;
    answer(method, version, std::move(res), true);
  }

  // The head of an answer: HTTP/1.1 whatever the request's version (RFC
  // 9112 §2.3: the highest the server conforms to; a 1.0 client is told of
  // keep-alive by the caller), its status and headers.
  static http::response_header<> head_of(const Response &res) {
    http::response_header<> head;
    head.version(11);
    head.result(static_cast<unsigned>(res.status));
    for (const Header &h : res.headers)
      head.insert(h.name, h.value);
    if (!res.content_type.empty())
      head.set(http::field::content_type, res.content_type);
    return head;
  }

  // Writes the answer; false when the connection must end.
  bool answer(const std::string &method, int version, Response res,
              bool close) {
    if (res.stream)
      return stream(method, version, std::move(res));
    close |= res.close;
    http::response<http::string_body> out(head_of(res));
    out.body() = std::move(res.body);
    out.keep_alive(!close);
    if (!close && version == 10)
      out.set(http::field::connection, "keep-alive");
    out.prepare_payload();
    beast::error_code ec;
    if (method == "HEAD") {
      // The head of the GET answer, its Content-Length included.
      http::response<http::empty_body> head(std::move(out.base()));
      http::write(socket_, head, ec);
    } else {
      http::write(socket_, out, ec);
    }
    return !ec && !close;
  }

  // A streamed answer: its head, then its producer's pieces until it ends,
  // the client goes away or the server stops. Always the connection's last.
  bool stream(const std::string &method, int version, Response res) {
    http::response<http::empty_body> out(head_of(res));
    out.keep_alive(false);
    const bool chunked = version != 10; // a 1.0 client reads to the close
    out.chunked(chunked);
    http::response_serializer<http::empty_body> head(out);
    beast::error_code ec;
    http::write_header(socket_, head, ec);
    if (ec || method == "HEAD")
      return false;
    StreamSink sink(socket_, chunked, *keep_going_);
    try {
      res.stream(sink);
    } catch (...) {
      return false; // the head is gone: no error answer can follow
    }
    sink.finish();
    return false;
  }

  PeerSocket socket_;
  beast::flat_buffer buffer_; // read ahead: may hold pipelined requests
  const Peer &peer_;
  const Access access_;
  const ConnectionOptions &options_;
  const HttpHandlers &handlers_;
  const std::function<bool()> *keep_going_ = nullptr;
};

} // namespace

void serve_http(int sock, const Peer &peer, Access access,
                const ConnectionOptions &options, const HttpHandlers &handlers,
                const std::function<bool()> &keep_going) {
  Connection(sock, peer, access, options, handlers).serve(keep_going);
  ::shutdown(sock, SHUT_RDWR);
}

} // namespace xdpgate::api
