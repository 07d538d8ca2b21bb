// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// A request and its answer as the routes see them. No HTTP library's types
// cross this line: the server (http_connection.cpp) fills a Request from
// whatever parses the wire and writes a Response back, so the routes and
// their tests depend on xdpgate's types only.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/peer.hpp"
#include "common/error_code.hpp"

namespace xdpgate::api {

struct Header {
  std::string name;
  std::string value;
};

// Header fields in the order they came; names compare case-insensitively.
class Headers {
public:
  void add(std::string name, std::string value);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  std::size_t count(std::string_view name) const;

  std::vector<Header>::const_iterator begin() const { return items_.begin(); }
  std::vector<Header>::const_iterator end() const { return items_.end(); }

private:
  std::vector<Header> items_;
};

struct QueryParameter {
  std::string name;
  std::string value;
  bool operator==(const QueryParameter &) const = default;
};

struct Request {
  std::string method; // as sent: "GET", "POST", …
  std::string target; // as sent: path and query, percent-encoded
  std::string path;   // the target's path, percent-decoded
  // The query's name=value pairs, decoded, in order, repeats kept.
  std::vector<QueryParameter> query;
  Headers headers;
  std::string body;
  // Who sent it, as the kernel saw the socket's peer: never from the request.
  Peer peer;
  Access access = Access::None;

  // The first value of query parameter `name`, or nullopt.
  std::optional<std::string_view> param(std::string_view name) const;
};

// Where a streamed answer's body goes, piece by piece, as it is made.
class ChunkSink {
public:
  virtual ~ChunkSink() = default;
  // Sends one piece, which must leave within the connection's wait for a
  // write; false once the client is gone or too slow, or the server stops.
  virtual bool write(std::string_view piece) = 0;
  // False once the client has gone away or the server is stopping: a
  // producer with nothing to write checks it at least every few 100 ms.
  virtual bool open() = 0;
};

// Writes a streamed body until it has nothing more to say or the sink
// closes; the connection ends with it.
using ChunkProducer = std::function<void(ChunkSink &)>;

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  Headers headers; // besides Content-Type and Content-Length
  // Ends the connection once sent: the rest of the request was left unread,
  // so the byte stream cannot be trusted to start another.
  bool close = false;
  // Set: the body is streamed by it (chunked), and `body` is ignored.
  ChunkProducer stream;
  // The error the body reports, if it reports one (send_error).
  std::optional<ErrorCode> error;

  void set_content(std::string content, std::string type) {
    body = std::move(content);
    content_type = std::move(type);
  }
};

// Splits a request target into its decoded path and query parameters
// ("%2F" is a slash, "+" in the query a space); malformed escapes stay as
// they came.
void split_target(std::string_view target, std::string &path,
                  std::vector<QueryParameter> &query);

bool iequals(std::string_view a, std::string_view b);
// Without leading and trailing spaces and tabs (HTTP's optional white space).
std::string_view trim_ows(std::string_view s);

} // namespace xdpgate::api
