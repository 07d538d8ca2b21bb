// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "api/api_server.hpp"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <strings.h>
#include <sys/stat.h>

#include "api/connection.hpp"
#include "api/connection_threads.hpp"
#include "api/request.hpp"
#include "api/responses.hpp"
#include "api/routes.hpp"

namespace xdpgate::api {

namespace {

using httplib::Request;
using httplib::Response;
using HandlerResponse = httplib::Server::HandlerResponse;

std::vector<Route> all_routes(const ApiBackend &backend) {
  std::vector<Route> routes = list_routes(backend);
  for (std::vector<Route> more :
       {state_routes(backend), metrics_routes(backend)})
    routes.insert(routes.end(), std::make_move_iterator(more.begin()),
                  std::make_move_iterator(more.end()));
  return routes;
}

struct Framing {
  BodyFraming kind;
  std::uint64_t length;
};

// A Content-Length value: decimal digits only; past 2^64-1, the largest.
std::optional<std::uint64_t> decimal(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty())
    return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    n = n > (UINT64_MAX - digit) / 10 ? UINT64_MAX : n * 10 + digit;
  }
  return n;
}

// Decided as httplib 0.11.4 reads the body: chunked first, then
// Content-Length, else none (it would read to EOF; RFC 9112 says the body
// is empty, and PeerStream makes it so). nullopt for framing that httplib
// would misread, so that a request could hide another in its body: a
// Content-Length that is not a plain number (strtoull reads "12abc" as 12
// and "-1" as 2^64-1), several different ones, a transfer coding other than
// "chunked" alone ("gzip, chunked" would read as no body), or both kinds
// (RFC 9112 §6.1: a sign of request smuggling).
std::optional<Framing> framing_of(const Request &req) {
  const std::size_t codings = req.get_header_value_count("Transfer-Encoding");
  const std::size_t lengths = req.get_header_value_count("Content-Length");
  if (codings > 0) {
    if (codings > 1 || lengths > 0 ||
        strcasecmp(req.get_header_value("Transfer-Encoding").c_str(),
                   "chunked") != 0)
      return std::nullopt;
    return Framing{BodyFraming::Chunked, 0};
  }
  if (lengths == 0)
    return Framing{BodyFraming::None, 0};
  std::optional<std::uint64_t> length;
  auto [it, end] = req.headers.equal_range("Content-Length");
  for (; it != end; ++it) {
    std::optional<std::uint64_t> n = decimal(it->second);
    if (!n || (length && *length != *n))
      return std::nullopt;
    length = n;
  }
  return Framing{BodyFraming::Length, *length};
}

// RFC 9112 §5.1: a header line is a token, a colon right after it, and the
// value. httplib skips other lines silently (and folded ones); they are
// refused instead.
bool well_formed_head(std::string_view head) {
  auto is_tchar = [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  };
  std::size_t at = head.find('\n');
  while (at != std::string_view::npos && at + 1 < head.size()) {
    head.remove_prefix(at + 1);
    at = head.find('\n');
    std::string_view line = head.substr(0, at);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      return true; // the end of the headers
    std::size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + colon,
                     [&](char c) { return is_tchar(c) && c != 0; }))
      return false;
  }
  return true;
}

const Error kBadHead{ErrorCode::BadRequest,
                     "a header line is malformed (a name, then a colon)"};

const Error kBadFraming{ErrorCode::BadRequest,
                        "the request's Content-Length or Transfer-Encoding "
                        "is malformed, repeated or ambiguous"};

std::string size_text(std::uint64_t bytes) {
  constexpr std::uint64_t kKiB = 1024, kMiB = 1024 * 1024;
  if (bytes % kMiB == 0)
    return std::to_string(bytes / kMiB) + " MiB";
  if (bytes % kKiB == 0)
    return std::to_string(bytes / kKiB) + " KiB";
  return std::to_string(bytes) + " bytes";
}

Error too_large(std::uint64_t limit) {
  return {ErrorCode::BodyTooLarge, "the request body exceeds " +
                                       size_text(limit) +
                                       ", the limit of this route"};
}

// The methods whose body httplib 0.11.4 reads; it leaves others' unread.
bool body_is_read(const std::string &method) {
  return method == "POST" || method == "PUT" || method == "PATCH" ||
         method == "DELETE" || method == "PRI";
}

bool carries_body(const Framing &f) {
  return f.kind == BodyFraming::Chunked ||
         (f.kind == BodyFraming::Length && f.length > 0);
}

std::string joined(const std::vector<std::string> &items) {
  std::string out;
  for (const std::string &item : items)
    out += (out.empty() ? "" : ", ") + item;
  return out;
}

// 404 for a path no route has, else 405 with the path's methods in Allow.
Error unrouted(const Router::Match &m, const Request &req, Response &res) {
  if (m.allowed.empty())
    return {ErrorCode::NoRoute, "no route for " + req.path};
  res.set_header("Allow", joined(m.allowed));
  return {ErrorCode::MethodNotAllowed, req.method + " is not allowed on " +
                                           req.path + "; use " +
                                           joined(m.allowed)};
}

// A body no route takes, or one not of its route's media type, is refused
// before httplib reads it: httplib would turn a form body (what curl -d
// sends) into query parameters, and hold a multipart one in memory.
std::optional<Error> body_refusal(const Router &router, const Request &req,
                                  Response &res) {
  Router::Match m = router.match(req.method, req.path);
  if (!m.route)
    return unrouted(m, req, res);
  if (!body_is_read(req.method))
    return std::nullopt;
  if (Status s = body_media_type(req, m.route->body); !s)
    return s.error();
  return std::nullopt;
}

// Refuses without reading the body, so the connection must end after.
void refuse_early(Connection &connection, Response &res, const Error &error) {
  send_error(res, error);
  res.set_header("Connection", "close");
  connection.close_after_response = true;
}

// Reads and drops a body httplib will not read, so that the client, which
// may still be sending it, gets the answer instead of a broken pipe.
bool discard(httplib::Stream &stream, std::uint64_t length) {
  char scratch[4096];
  while (length > 0) {
    ssize_t n =
        stream.read(scratch, std::min<std::uint64_t>(length, sizeof(scratch)));
    if (n <= 0)
      return false;
    length -= static_cast<std::uint64_t>(n);
  }
  return true;
}

std::string what_of(const std::exception_ptr &ep) {
  try {
    if (ep)
      std::rethrow_exception(ep);
  } catch (const std::exception &e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

// Signals belong to the daemon's main thread: httplib's accept loop ends on
// an accept() error such as EINTR. Workers inherit the listener's mask.
void block_async_signals() {
  sigset_t set;
  sigfillset(&set);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
    sigdelset(&set, sync);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace

ApiServer::ApiServer(ApiServerOptions options, ApiBackend backend)
    : options_(std::move(options)), backend_(std::move(backend)),
      router_(all_routes(backend_)),
      http_(options_.access, options_.limits, options_.per_caller) {
  http_.new_task_queue = [this] {
    return new ConnectionThreads(options_.connections,
                                 [this] { return stopping_.load(); });
  };
  http_.set_keep_alive_max_count(options_.keep_alive_max);
  http_.set_keep_alive_timeout(options_.keep_alive_idle.count());
  install_handlers();
}

Result<std::unique_ptr<ApiServer>> ApiServer::start(ApiServerOptions options,
                                                    ApiBackend backend) {
  std::unique_ptr<ApiServer> server(
      new ApiServer(std::move(options), std::move(backend)));
  const std::filesystem::path &path = server->options_.socket_path;
  if (Status s = server->http_.bind_unix(path); !s)
    return s.error();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    server->socket_dev_ = st.st_dev;
    server->socket_ino_ = st.st_ino;
  }
  ApiServer *s = server.get();
  s->listener_ = std::thread([s] {
    block_async_signals();
    s->http_.listen_after_bind();
    s->listener_done_ = true;
  });
  // stop() only takes effect once httplib runs; wait so it cannot race.
  while (!s->http_.is_running() && !s->listener_done_)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (s->listener_done_)
    return Error{ErrorCode::ApiSocketFailed,
                 "the API stopped serving " + path.string() + " at once"};
  return server;
}

void ApiServer::stop() {
  if (!listener_.joinable())
    return;
  stopping_ = true;
  http_.stop();
  listener_.join();
  struct stat st {};
  const std::filesystem::path &path = options_.socket_path;
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == socket_dev_ &&
      st.st_ino == socket_ino_)
    ::unlink(path.c_str());
}

ApiServer::~ApiServer() { stop(); }

std::uint64_t ApiServer::body_limit(const Request &req) const {
  Router::Match m = router_.match(req.method, req.path);
  return m.route && m.route->bulk ? options_.limits.body_bytes
                                  : options_.limits.small_body_bytes;
}

std::optional<Error> ApiServer::refusal(const Request &req) const {
  const Connection &c = *current_connection();
  Router::Match m = router_.match(req.method, req.path);
  if (c.access == Access::None || (m.route && c.access < m.route->needs))
    return Error{
        ErrorCode::Forbidden,
        refusal_message(c.access, options_.access, user_name(c.peer.uid))};
  return std::nullopt;
}

void ApiServer::install_handlers() {
  // Before a client sends a body it announced with "Expect: 100-continue":
  // refuse what would be refused anyway, so the body is never sent.
  http_.set_expect_100_continue_handler(
      [this](const Request &req, Response &res) {
        Connection &c = *current_connection();
        if (!well_formed_head(c.stream.head())) {
          refuse_early(c, res, kBadHead);
          return res.status;
        }
        if (std::optional<Error> refused = refusal(req)) {
          refuse_early(c, res, *refused);
          return res.status;
        }
        std::optional<Framing> f = framing_of(req);
        if (!f) {
          refuse_early(c, res, kBadFraming);
          return res.status;
        }
        if (carries_body(*f))
          if (std::optional<Error> refused = body_refusal(router_, req, res)) {
            refuse_early(c, res, *refused);
            return res.status;
          }
        const std::uint64_t limit = body_limit(req);
        if (f->kind == BodyFraming::Length && f->length > limit) {
          refuse_early(c, res, too_large(limit));
          return res.status;
        }
        return 100;
      });

  // After the headers, before httplib reads the body.
  http_.set_pre_routing_handler([this](const Request &req, Response &res) {
    Connection &c = *current_connection();
    const bool well_formed = well_formed_head(c.stream.head());
    std::optional<Framing> f = framing_of(req);
    if (!well_formed || !f) {
      c.stream.begin_body(BodyFraming::None, 0, 0);
      refuse_early(c, res, well_formed ? kBadFraming : kBadHead);
      return HandlerResponse::Handled;
    }
    c.body_limit = body_limit(req);
    c.stream.begin_body(f->kind, f->length, c.body_limit);
    const bool unread =
        f->kind != BodyFraming::None && !body_is_read(req.method);
    if (unread)
      c.close_after_response = true;
    // Read and dropped (so that the client gets its answer), or left unread
    // (and the connection ends): bodies that are refused anyway.
    auto refuse = [&](const Error &error) {
      const bool drained = f->kind == BodyFraming::None ||
                           (f->kind == BodyFraming::Length &&
                            f->length <= options_.limits.body_bytes &&
                            discard(c.stream, f->length));
      if (drained)
        send_error(res, error);
      else
        refuse_early(c, res, error);
      return HandlerResponse::Handled;
    };
    if (std::optional<Error> refused = refusal(req))
      return refuse(*refused);
    if (carries_body(*f))
      if (std::optional<Error> refused = body_refusal(router_, req, res))
        return refuse(*refused);
    // Past the route's limit: read, dropped and refused here (httplib itself
    // knows only the largest limit, and past it does the same).
    if (f->kind == BodyFraming::Length && f->length > c.body_limit &&
        f->length <= options_.limits.body_bytes && !unread)
      return refuse(too_large(c.body_limit));
    return HandlerResponse::Unhandled;
  });

  auto dispatch = [this](const Request &req, Response &res) {
    this->dispatch(req, res);
  };
  http_.Get(".*", dispatch);
  http_.Post(".*", dispatch);
  http_.Put(".*", dispatch);
  http_.Patch(".*", dispatch);
  http_.Delete(".*", dispatch);
  http_.Options(".*", dispatch);

  // Answers httplib makes itself (malformed HTTP, 413, 414) get our shape.
  // They may leave part of the request unread, so the connection ends.
  http_.set_error_handler([](const Request &, Response &res) {
    if (!res.body.empty())
      return;
    Connection *c = current_connection();
    if (c) {
      c->close_after_response = true;
      res.set_header("Connection", "close");
    }
    Overflow overflow = c ? c->stream.overflow() : Overflow::None;
    if (overflow == Overflow::Body)
      res.status = 413;
    Error error = error_for_status(res.status);
    if (res.status == 413 && c && c->body_limit > 0)
      error = too_large(c->body_limit);
    if (overflow == Overflow::Headers)
      error.message = "the request line and headers exceed the size limit";
    send_json(res, res.status, error_body(error));
  });

  http_.set_exception_handler([](const Request &, Response &res,
                                 std::exception_ptr ep) {
    send_error(res, {ErrorCode::Internal, "internal error: " + what_of(ep)});
  });
}

void ApiServer::dispatch(const Request &req, Response &res) const {
  Router::Match m = router_.match(req.method, req.path);
  if (!m.route)
    return send_error(res, unrouted(m, req, res));
  if (Status s = only_query(req, m.route->query); !s)
    return send_error(res, s.error());
  // A chunked body is only known here.
  if (const std::uint64_t limit = body_limit(req); req.body.size() > limit)
    return send_error(res, too_large(limit));
  const Connection &c = *current_connection();
  Call call{req, std::move(m.params), user_name(c.peer.uid)};
  m.route->handler(call, res);
}

} // namespace xdpgate::api
