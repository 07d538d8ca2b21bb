// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "support/http_wire.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <nlohmann/json.hpp>

namespace xdpgate::test {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

Error malformed(const std::string &why) {
  return Error{ErrorCode::BadRequest, "malformed response: " + why};
}

} // namespace

Fd connect_unix(const std::filesystem::path &path) {
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (!sock.valid() ||
      ::connect(sock.get(), reinterpret_cast<sockaddr *>(&addr),
                sizeof(addr)) != 0)
    return Fd();
  return sock;
}

RawAnswer raw_exchange(const std::filesystem::path &socket,
                       std::string_view request, std::chrono::milliseconds wait,
                       bool half_close) {
  RawAnswer answer;
  Fd sock = connect_unix(socket);
  if (!sock.valid())
    return answer;
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent,
                       MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // the server may close early (413, malformed): fine
    sent += static_cast<std::size_t>(n);
  }
  if (half_close)
    ::shutdown(sock.get(), SHUT_WR);
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return answer;
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0)
      continue;
    char buffer[8192];
    ssize_t n = ::recv(sock.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      answer.closed = true;
      return answer;
    }
    if (n > 0)
      answer.bytes.append(buffer, static_cast<std::size_t>(n));
  }
}

int status_of_raw(std::string_view answer) {
  // "HTTP/1.1 413 Payload Too Large"
  if (answer.size() < 12 || !answer.starts_with("HTTP/1.1 "))
    return 0;
  int status = 0;
  for (char c : answer.substr(9, 3)) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

Result<std::vector<WireResponse>> parse_responses(std::string_view wire,
                                                  bool head_possible) {
  std::vector<WireResponse> out;
  std::size_t at = 0;
  while (at < wire.size()) {
    WireResponse r;
    std::size_t line_end = wire.find("\r\n", at);
    if (line_end == std::string_view::npos)
      return malformed("a response cut off in its status line");
    std::string_view status_line = wire.substr(at, line_end - at);
    r.status = status_of_raw(status_line);
    if (status_line.size() < 13 || status_line[12] != ' ' || r.status < 100 ||
        r.status > 599)
      return malformed("malformed status line \"" + std::string(status_line) +
                       "\"");
    at = line_end + 2;
    for (;;) {
      line_end = wire.find("\r\n", at);
      if (line_end == std::string_view::npos)
        return malformed("a response cut off in its headers");
      std::string_view line = wire.substr(at, line_end - at);
      at = line_end + 2;
      if (line.empty())
        break;
      std::size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos)
        return malformed("malformed header \"" + std::string(line) + "\"");
      std::string value(line.substr(colon + 1));
      value.erase(0, value.find_first_not_of(" \t"));
      r.headers[lower(std::string(line.substr(0, colon)))] = value;
    }
    const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless && r.headers.contains("transfer-encoding"))
      return malformed("a chunked response (the API always sends a length)");
    if (!bodiless) {
      auto length = r.headers.find("content-length");
      if (length == r.headers.end() || length->second.empty() ||
          !std::all_of(length->second.begin(), length->second.end(),
                       [](unsigned char c) { return std::isdigit(c); }))
        return malformed("a response without a valid Content-Length");
      std::size_t n = std::stoull(length->second);
      const bool next_follows =
          wire.substr(at).starts_with("HTTP/1.1 ") || at == wire.size();
      if (head_possible && n > 0 && next_follows &&
          r.headers["content-type"].rfind("application/json", 0) == 0) {
        r.headless = true; // the length is announced, the body not sent
      } else {
        if (wire.size() - at < n)
          return malformed("a response body cut short");
        r.body = std::string(wire.substr(at, n));
        at += n;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string error_code_of(const WireResponse &response) {
  if (response.headers.count("content-type") == 0 ||
      response.headers.at("content-type").rfind("application/json", 0) != 0)
    return "";
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") ||
      !body["error"].is_object() || !body["error"].contains("code") ||
      !body["error"]["code"].is_string())
    return "";
  return body["error"]["code"].get<std::string>();
}

} // namespace xdpgate::test
