// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Raw bytes to the real control API: an ApiServer on a temporary Unix
// socket over a ListService with a real Store and a fake kernel, as
// tests/api_test.cpp builds it. Each input is written on a fresh connection
// as the client's whole side (then half-closed). Properties:
// - the server answers with well-formed HTTP/1.1 responses (status line,
//   headers, a body framed as announced) or closes; never 5xx, never junk;
// - every error answer is the JSON error shape {"error": {code, message}};
// - the list, the restriction state and the audit log are unchanged unless
//   some answer was a 2xx (a valid request);
// - the kernel holds exactly the enabled entries and the mode of the store.
// Run as root: root holds write access, so every route is reachable.
// HTTP_FUZZ_TRACE=1 prints the statuses each input got.
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_server.hpp"
#include "common/fd.hpp"
#include "list/entry_json.hpp"
#include "list/list_service.hpp"
#include "store/store.hpp"
#include "support/kernel_model.hpp"

namespace xdpgate::fuzz {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

[[noreturn]] void fail(std::string_view input, const std::string &why,
                       std::string_view answer = {}) {
  std::fprintf(stderr,
               "http_fuzz: %s\n  request (%zu bytes): \"%.*s\"\n"
               "  answer (%zu bytes): \"%.*s\"\n",
               why.c_str(), input.size(), static_cast<int>(input.size()),
               input.data(), answer.size(),
               static_cast<int>(std::min<std::size_t>(answer.size(), 4096)),
               answer.data());
  std::abort();
}

// The kernel as the service sees it: the last state it was given.
class FakeKernel {
public:
  ListService::KernelSync sync() {
    return [this](const KernelChange &change) -> Status {
      std::lock_guard lock(mutex_);
      state_ = after_change(state_, change);
      return {};
    };
  }
  ListService::KernelLookup lookup() {
    return [this](const IpPrefix &address) -> std::optional<IpPrefix> {
      std::lock_guard lock(mutex_);
      std::optional<IpPrefix> best;
      for (const IpPrefix &p : state_.allow)
        if (p.family == address.family && p.contains(address) &&
            (!best || p.length > best->length))
          best = p;
      return best;
    };
  }
  KernelState state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }

private:
  mutable std::mutex mutex_;
  KernelState state_;
};

struct World {
  std::filesystem::path dir;
  FakeKernel kernel;
  std::atomic<EpochMs> now{1'763'880'000'000};
  std::unique_ptr<ListService> service;
  std::unique_ptr<api::ApiServer> server;
  std::filesystem::path socket;
};

World &world() {
  static World w;
  return w;
}

void seed_list(ListService &service) {
  std::vector<NewEntry> entries = {
      {"10.0.0.0/8", "office", true, std::nullopt},
      {"10.1.2.3", std::nullopt, true, std::nullopt},
      {"2001:db8:a::/48", "vpn \"east\"", true, std::nullopt},
      {"198.51.100.0/24", "disabled", false, std::nullopt}};
  if (!service.add(entries, "fuzz"))
    fail("", "seeding the list failed");
}

// Everything a rejected request must leave alone.
std::string snapshot(const ListService &service) {
  json s = json::object();
  s["state"] = to_json(service.state());
  json items = json::array();
  for (const EntryView &view : service.list(true))
    items.push_back(to_json(view.entry));
  s["items"] = items;
  auto audit = service.audit(0, 1);
  s["audit_total"] = audit ? audit->total : -1;
  return s.dump();
}

void check_kernel_matches_store(std::string_view input) {
  World &w = world();
  KernelState kernel = w.kernel.state();
  std::set<IpPrefix> enabled;
  for (const EntryView &view : w.service->list(true))
    if (view.entry.enabled)
      enabled.insert(view.entry.range);
  std::set<IpPrefix> in_kernel(kernel.allow.begin(), kernel.allow.end());
  if (in_kernel != enabled)
    fail(input, "the kernel does not hold the store's enabled entries");
  if (kernel.mode != w.service->state().mode)
    fail(input, "the kernel runs another mode than the store's");
}

// Writes the whole input, half-closes, reads until the server closes.
std::string exchange(std::string_view input) {
  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  world().socket.string().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(sock.get(), reinterpret_cast<sockaddr *>(&addr),
                sizeof(addr)) != 0)
    fail(input, "cannot connect to the API socket");
  std::size_t sent = 0;
  while (sent < input.size()) {
    ssize_t n = ::send(sock.get(), input.data() + sent, input.size() - sent,
                       MSG_NOSIGNAL);
    if (n <= 0)
      break; // the server may close early (413, malformed): fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(sock.get(), SHUT_WR);
  std::string answer;
  auto until = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      fail(input, "the server neither finished nor closed within 20 s", answer);
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0)
      continue;
    char buffer[8192];
    ssize_t n = ::recv(sock.get(), buffer, sizeof(buffer), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET))
      return answer;
    if (n < 0)
      continue;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers; // names lowercased
  std::string body;
  bool headless = false; // a HEAD answer: a length but no body
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

// Splits the server's side of the connection into responses, or says what
// is wrong with it. `head_possible`: a HEAD request may have been answered
// (headers only, with the Content-Length a GET would have).
std::vector<Response> parse_responses(std::string_view input,
                                      std::string_view wire,
                                      bool head_possible) {
  std::vector<Response> out;
  std::size_t at = 0;
  while (at < wire.size()) {
    Response r;
    std::size_t line_end = wire.find("\r\n", at);
    if (line_end == std::string_view::npos)
      fail(input, "a response cut off in its status line", wire);
    std::string_view status_line = wire.substr(at, line_end - at);
    if (status_line.size() < 13 || !status_line.starts_with("HTTP/1.1 ") ||
        !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[11])) ||
        status_line[12] != ' ')
      fail(input, "malformed status line \"" + std::string(status_line) + "\"",
           wire);
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    if (r.status < 100 || r.status > 599)
      fail(input, "status out of range", wire);
    at = line_end + 2;
    for (;;) {
      line_end = wire.find("\r\n", at);
      if (line_end == std::string_view::npos)
        fail(input, "a response cut off in its headers", wire);
      std::string_view line = wire.substr(at, line_end - at);
      at = line_end + 2;
      if (line.empty())
        break;
      std::size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos)
        fail(input, "malformed header \"" + std::string(line) + "\"", wire);
      std::string value(line.substr(colon + 1));
      value.erase(0, value.find_first_not_of(" \t"));
      r.headers[lower(std::string(line.substr(0, colon)))] = value;
    }
    bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless && r.headers.contains("transfer-encoding"))
      fail(input, "a chunked response (the API always sends a length)", wire);
    if (!bodiless) {
      auto length = r.headers.find("content-length");
      if (length == r.headers.end())
        fail(input, "a response without Content-Length", wire);
      std::size_t n = std::stoull(length->second);
      bool next_follows =
          wire.substr(at).starts_with("HTTP/1.1 ") || at == wire.size();
      if (head_possible && n > 0 && next_follows &&
          r.headers["content-type"].rfind("application/json", 0) == 0) {
        r.headless = true; // the length is announced, the body not sent
      } else {
        if (wire.size() - at < n)
          fail(input, "a response body cut short", wire);
        r.body = std::string(wire.substr(at, n));
        at += n;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

void check_response(std::string_view input, std::string_view wire,
                    const Response &r) {
  if (r.status >= 500)
    fail(input, "status " + std::to_string(r.status) + ": " + r.body, wire);
  const std::string type = r.headers.contains("content-type")
                               ? r.headers.at("content-type")
                               : std::string();
  if (r.headless)
    return;
  if (r.status >= 400) {
    if (type.rfind("application/json", 0) != 0)
      fail(input, "an error answer that is not JSON", wire);
    json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("error") ||
        !body["error"].is_object() || !body["error"]["code"].is_string() ||
        !body["error"]["message"].is_string() ||
        body["error"]["code"].get<std::string>().empty())
      fail(input, "an error answer without {error: {code, message}}", wire);
  } else if (type.rfind("application/json", 0) == 0 && !r.body.empty()) {
    if (json::parse(r.body, nullptr, false).is_discarded())
      fail(input, "a JSON answer that does not parse", wire);
  }
}

} // namespace
} // namespace xdpgate::fuzz

using namespace xdpgate;
using namespace xdpgate::fuzz;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  World &w = world();
  char pattern[] = "/tmp/xdpgate-http-fuzz-XXXXXX";
  if (!::mkdtemp(pattern))
    fail("", "mkdtemp failed");
  w.dir = pattern;
  w.socket = w.dir / "api.sock";
  std::atexit([] {
    world().server.reset();
    world().service.reset();
    std::error_code ec;
    std::filesystem::remove_all(world().dir, ec);
  });
  auto store = Store::open(w.dir / "state");
  if (!store)
    fail("", "opening the store failed: " + store.error().message);
  auto service = ListService::open(
      std::move(*store), w.kernel.sync(),
      [](const IpPrefix &) {
        return std::optional<std::pair<std::uint64_t, EpochMs>>();
      },
      w.kernel.lookup(), [] { return world().now.load(); });
  if (!service)
    fail("", "opening the list service failed: " + service.error().message);
  w.service = std::move(*service);
  seed_list(*w.service);

  api::ApiServerOptions options;
  options.socket_path = w.socket;
  options.access = {std::nullopt, std::nullopt}; // root writes
  options.threads = 2;
  options.keep_alive_idle = 1s;
  options.limits.io_wait = 500ms;
  options.limits.request_time = 3000ms;
  options.limits.response_time = 5000ms;
  options.limits.body_bytes = 1 << 20;
  api::ApiBackend backend{*w.service};
  backend.interfaces = [] { return json::array(); };
  backend.exemptions = [] {
    return json{{"tcp_ports", {10943}},
                {"udp_ports", json::array()},
                {"sources", json::array()}};
  };
  backend.scope = [] {
    return json{{"protected_tcp_ports", json::array()},
                {"protected_udp_ports", json::array()}};
  };
  backend.denied = [](std::size_t) {
    return json{{"interfaces", json::array()}};
  };
  backend.last_sync_at = [] { return std::optional<EpochMs>(); };
  auto server = api::ApiServer::start(options, backend);
  if (!server)
    fail("", "starting the API failed: " + server.error().message);
  w.server = std::move(*server);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  World &w = world();
  std::string_view input(reinterpret_cast<const char *>(data), size);
  w.now += 1000;
  // Keep the list small so that every input meets much the same state.
  if (w.service->total_count() > 64 || w.service->total_count() == 0) {
    (void)w.service->remove_all("fuzz");
    seed_list(*w.service);
  }
  std::string before = snapshot(*w.service);

  std::string wire = exchange(input);
  bool head_possible = input.find("HEAD") != std::string_view::npos;
  std::vector<Response> responses = parse_responses(input, wire, head_possible);
  bool accepted = false;
  for (const Response &r : responses) {
    check_response(input, wire, r);
    accepted = accepted || (r.status >= 200 && r.status < 300);
  }

  if (std::getenv("HTTP_FUZZ_TRACE")) {
    std::fprintf(stderr, "http_fuzz: %zu bytes in, statuses:", size);
    for (const Response &r : responses)
      std::fprintf(stderr, " %d", r.status);
    std::fprintf(stderr, "\n");
  }
  std::string after = snapshot(*w.service);
  if (!accepted && after != before)
    fail(input,
         "the state changed though no request was accepted\n  before: " +
             before + "\n  after:  " + after,
         wire);
  check_kernel_matches_store(input);
  return 0;
}
