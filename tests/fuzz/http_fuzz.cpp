// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Raw bytes to the real control API: an ApiServer on a temporary Unix
// socket over a ListService with a real Store and a fake kernel: the fixture
// of tests/api_test.cpp (tests/support/api_fixture.hpp). Each input is
// written on a fresh connection as the client's whole side (then
// half-closed). Properties:
// - the server answers with well-formed HTTP/1.1 responses (status line,
//   headers, a body framed as announced) or closes; never 5xx, never junk;
// - every error answer is the JSON error shape {"error": {code, message}};
// - the list, the restriction state and the audit log are unchanged unless
//   some answer was a 2xx (a valid request);
// - the kernel holds exactly the enabled entries and the mode of the store.
// Run as root: root holds write access, so every route is reachable.
// HTTP_FUZZ_TRACE=1 prints the statuses each input got.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "list/list_service.hpp"
#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"

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

struct World {
  std::unique_ptr<test::TempDir> dir;
  std::unique_ptr<test::InProcessApi> api;
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

std::size_t threads_of_this_process() {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/self/task", ec);
  return ec ? 0 : static_cast<std::size_t>(std::distance(tasks, {}));
}

// Writes the whole input, half-closes, reads until the server closes, then
// waits for the server's thread for this connection to end. The client sees
// the close before that thread has freed what it allocated; on a loaded
// machine it may still be running when libFuzzer counts this input's mallocs
// and frees and then runs LeakSanitizer, which reported the connection's
// buffers as leaked (a false report, seen in CI; issue 15). Bounds: the
// server's own deadlines are 3 to 5 s (LLVMFuzzerInitialize); 20 s and 10 s
// are far beyond what a loaded 2-vCPU machine needs, and both end before
// libFuzzer's per-input timeout (run-fuzzers.sh).
std::string exchange(std::string_view input) {
  const std::size_t threads_before = threads_of_this_process();
  test::RawAnswer answer =
      test::raw_exchange(world().api->socket_path(), input, 20s, true);
  if (!answer.closed)
    fail(input, "the server neither finished nor closed within 20 s",
         answer.bytes);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (threads_of_this_process() > threads_before) {
    if (std::chrono::steady_clock::now() > until)
      fail(input, "the server's connection thread was still running 10 s "
                  "after it closed the connection");
    std::this_thread::sleep_for(100us);
  }
  return answer.bytes;
}

void check_response(std::string_view input, std::string_view wire,
                    const test::WireResponse &r) {
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
  w.dir = std::make_unique<test::TempDir>("xdpgate-http-fuzz");
  w.api = std::make_unique<test::InProcessApi>(w.dir->path());
  std::atexit([] {
    world().api.reset();
    world().dir.reset();
  });
  api::ApiServerOptions options;
  options.access = {std::nullopt, std::nullopt, "xg-fuzz-writers",
                    "xg-fuzz-readers"}; // root writes
  options.connections = 2;
  options.keep_alive_idle = 1s;
  options.limits.io_wait = 500ms;
  options.limits.request_time = 3000ms;
  options.limits.response_time = 5000ms;
  options.limits.body_bytes = 1 << 20;
  if (Status s = w.api->start(options); !s)
    fail("", "starting the API failed: " + s.error().message);
  seed_list(w.api->service());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data,
                                      std::size_t size) {
  test::InProcessApi &api = *world().api;
  std::string_view input(reinterpret_cast<const char *>(data), size);
  api.now += 1000;
  // Keep the list small so that every input meets much the same state.
  ListService &service = api.service();
  if (service.total_count() > 64 || service.total_count() == 0) {
    (void)service.remove_all("fuzz");
    seed_list(service);
  }
  std::string before = api.snapshot();

  std::string wire = exchange(input);
  bool head_possible = input.find("HEAD") != std::string_view::npos;
  auto responses = test::parse_responses(wire, head_possible);
  if (!responses)
    fail(input, responses.error().message, wire);
  bool accepted = false;
  for (const test::WireResponse &r : *responses) {
    check_response(input, wire, r);
    accepted = accepted || (r.status >= 200 && r.status < 300);
  }

  if (std::getenv("HTTP_FUZZ_TRACE")) {
    std::fprintf(stderr, "http_fuzz: %zu bytes in, statuses:", size);
    for (const test::WireResponse &r : *responses)
      std::fprintf(stderr, " %d", r.status);
    std::fprintf(stderr, "\n");
  }
  std::string after = api.snapshot();
  if (!accepted && after != before)
    fail(input,
         "the state changed though no request was accepted\n  before: " +
             before + "\n  after:  " + after,
         wire);
  if (std::optional<std::string> why = api.kernel_mismatch())
    fail(input, *why);
  return 0;
}
