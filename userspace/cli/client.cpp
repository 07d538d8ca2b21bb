// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "cli/client.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <httplib.h>

#include "common/fd.hpp"

namespace xdpgate::cli {

namespace {

// A whole-list import or replace may take a while on a large list.
constexpr time_t kConnectTimeoutS = 5;
constexpr time_t kReplyTimeoutS = 300;

// httplib reports only "connection failed"; connecting once more by hand
// recovers the errno that tells the operator what to fix.
int connect_errno(const std::string &path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path)
    return ENAMETOOLONG;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    return errno;
  if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) ==
      0)
    return 0;
  return errno;
}

Reason unreachable(const std::string &path, httplib::Error failure) {
  std::string where = "cannot reach xdpgated at " + path + ": ";
  if (failure != httplib::Error::Connection)
    return Reason{kUnreachable, where + httplib::to_string(failure) +
                                    " (did the daemon stop or restart?)"};
  int err = connect_errno(path);
  switch (err) {
  case EACCES:
  case EPERM:
    // xdpgated makes its socket 0666 in a 0755 directory and decides access
    // by the caller's groups; a refusal here comes from the file system.
    return Reason{kUnreachable,
                  where + "permission denied by the file system; check that "
                          "you may enter every directory on the path and write "
                          "the socket (ls -ld)"};
  case ENOENT:
    return Reason{kUnreachable,
                  where + "no such socket; is xdpgated running? (--socket or "
                          "XDPGATE_SOCKET choose another path)"};
  case ECONNREFUSED:
    return Reason{kUnreachable,
                  where + "connection refused; is xdpgated running?"};
  default:
    return Reason{kUnreachable,
                  where + (err ? std::strerror(err) : "connection failed") +
                      "; is xdpgated running?"};
  }
}

std::string excerpt(const std::string &body) {
  constexpr std::size_t kMax = 200;
  if (body.empty())
    return "(empty body)";
  return body.size() <= kMax ? body : body.substr(0, kMax) + "…";
}

Reason bad_answer(int status, const std::string &why, const std::string &body) {
  return Reason{kBadAnswer, "unexpected answer from xdpgated (HTTP " +
                                std::to_string(status) + ", " + why +
                                "): " + excerpt(body)};
}

// The daemon's error object, with every bad CSV line in the message.
Failure api_error(int status, const std::string &body) {
  json answer = json::parse(body, nullptr, false);
  const json *error = nullptr;
  if (answer.is_object() && answer.contains("error") &&
      answer["error"].is_object())
    error = &answer["error"];
  if (!error || !error->contains("message") || !(*error)["message"].is_string())
    return bad_answer(status, "no error object", body);

  Reason out{
      error->value("code", std::string("http_") + std::to_string(status)),
      (*error)["message"].get<std::string>()};
  if (auto field = error->find("field");
      field != error->end() && field->is_string())
    out.field = field->get<std::string>();
  if (auto lines = error->find("lines");
      lines != error->end() && lines->is_array())
    for (const json &line : *lines)
      if (line.is_object())
        out.message += "\n  line " + line.value("line", json()).dump() + ": " +
                       line.value("message", std::string("?"));
  return Failure(std::move(out), std::move(answer));
}

struct Raw {
  int status;
  std::string body;
};

// One request; a 2xx answer as is, any other as the daemon's error.
CallResult<Raw> exchange(const std::string &socket_path,
                         const std::string &method, const std::string &path,
                         std::string body, const std::string &content_type,
                         const ExtraHeaders &headers = {}) {
  // With AF_UNIX, httplib takes the host string as the socket path.
  httplib::Client client(socket_path, 80);
  client.set_address_family(AF_UNIX);
  client.set_connection_timeout(kConnectTimeoutS);
  client.set_read_timeout(kReplyTimeoutS);
  client.set_write_timeout(kReplyTimeoutS);
  // Paths are built encoded already (path_segment); do not encode twice.
  client.set_url_encode(false);

  httplib::Request request;
  request.method = method;
  request.path = std::string(kApiPrefix) + path;
  // What curl --unix-socket sends; the socket path is no host name.
  request.set_header("Host", "localhost");
  for (const auto &[name, value] : headers)
    request.set_header(name, value);
  if (!content_type.empty()) {
    request.set_header("Content-Type", content_type);
    request.body = std::move(body);
  }
  auto result = client.send(request);
  if (!result)
    return Failure(unreachable(socket_path, result.error()));
  if (result->status < 200 || result->status > 299)
    return api_error(result->status, result->body);
  return Raw{result->status, std::move(result->body)};
}

CallResult<Reply> json_reply(CallResult<Raw> raw) {
  if (!raw)
    return raw.error();
  json parsed = json::parse(raw->body, nullptr, false);
  if (parsed.is_discarded())
    return Failure(bad_answer(raw->status, "not JSON", raw->body));
  return Reply{raw->status, std::move(parsed)};
}

} // namespace

Failure::Failure(const Error &e)
    : Failure(Reason{std::string(wire_name(e.code)), e.message, e.field}) {}

Failure::Failure(Reason e) : error(std::move(e)) {
  json inner = {{"code", error.code}, {"message", error.message}};
  if (!error.field.empty())
    inner["field"] = error.field;
  object = {{"error", std::move(inner)}};
}

Failure::Failure(Reason e, json daemon_object)
    : error(std::move(e)), object(std::move(daemon_object)) {}

ApiClient::ApiClient(std::string socket_path)
    : socket_path_(std::move(socket_path)) {}

CallResult<Reply> ApiClient::call(const std::string &method,
                                  const std::string &path,
                                  const std::optional<json> &body,
                                  const ExtraHeaders &headers) const {
  if (!body)
    return json_reply(exchange(socket_path_, method, path, "", "", headers));
  std::string text;
  try {
    text = body->dump();
  } catch (const json::type_error &) {
    // Operator input from a non-UTF-8 terminal; the API takes UTF-8 only.
    return Failure(Error{ErrorCode::InvalidValue,
                         "the request holds text that is not valid UTF-8 "
                         "(check the terminal's locale)"});
  }
  return json_reply(exchange(socket_path_, method, path, std::move(text),
                             "application/json", headers));
}

CallResult<Reply> ApiClient::post_csv(const std::string &path, std::string csv,
                                      const ExtraHeaders &headers) const {
  return json_reply(exchange(socket_path_, "POST", path, std::move(csv),
                             "text/csv", headers));
}

CallResult<std::string> ApiClient::get_text(const std::string &path) const {
  auto raw = exchange(socket_path_, "GET", path, "", "");
  if (!raw)
    return raw.error();
  return std::move(raw->body);
}

CallResult<bool>
ApiClient::follow_lines(const std::string &path,
                        const std::function<void()> &on_open,
                        const std::function<bool(const std::string &)> &on_line,
                        std::optional<std::chrono::milliseconds> within) const {
  using Clock = std::chrono::steady_clock;
  const std::optional<Clock::time_point> until =
      within ? std::optional(Clock::now() + *within) : std::nullopt;
  httplib::Client client(socket_path_, 80);
  client.set_address_family(AF_UNIX);
  client.set_connection_timeout(kConnectTimeoutS);
  client.set_write_timeout(kReplyTimeoutS);
  client.set_url_encode(false);
  // Events come when packets are denied, which may be never: wait until the
  // bound, or a week (httplib's wait is an int of milliseconds).
  const auto wait_ms = within ? within->count() + 100 : 7LL * 86400 * 1000;
  client.set_read_timeout(static_cast<time_t>(wait_ms / 1000),
                          static_cast<time_t>(wait_ms % 1000 * 1000));

  int status = 0;
  std::string pending, error_body;
  bool stopped = false; // by on_line, or by the bound
  auto out_of_time = [&] { return until && Clock::now() >= *until; };
  auto result = client.Get(
      (std::string(kApiPrefix) + path).c_str(), {{"Host", "localhost"}},
      [&](const httplib::Response &head) {
        status = head.status;
        if (status >= 200 && status <= 299 && on_open)
          on_open();
        return true;
      },
      [&](const char *data, std::size_t size) {
        if (status < 200 || status > 299) {
          error_body.append(data, size);
          return true;
        }
        pending.append(data, size);
        std::size_t start = 0;
        for (std::size_t end;
             (end = pending.find('\n', start)) != std::string::npos;
             start = end + 1)
          if (!on_line(pending.substr(start, end - start))) {
            stopped = true;
            return false;
          }
        pending.erase(0, start);
        stopped = out_of_time();
        return !stopped;
      });
  if (stopped || (!result && out_of_time()))
    return true;
  if (!result)
    return Failure(unreachable(socket_path_, result.error()));
  if (result->status < 200 || result->status > 299)
    return api_error(result->status, error_body);
  return false;
}

std::string path_segment(const std::string &text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

} // namespace xdpgate::cli
