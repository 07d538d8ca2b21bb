// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// GET /metrics over TCP (api/metrics_server.hpp): the text the API socket
// serves, to anyone, and nothing else. The server listens on 127.0.0.1 of
// this process's network namespace, on a port it finds free.
#include "api/metrics_server.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <random>
#include <string>

#include "api/metrics.hpp"
#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"

namespace xdpgate::test {
namespace {

using namespace std::chrono_literals;

// Sends `request` on a fresh TCP connection, half-closes, and reads until
// the server closes (at most 5 s).
std::string exchange(std::uint16_t port, const std::string &request) {
  Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.get(), reinterpret_cast<sockaddr *>(&addr),
                sizeof(addr)) != 0)
    return "connect failed";
  (void)::send(sock.get(), request.data(), request.size(), MSG_NOSIGNAL);
  ::shutdown(sock.get(), SHUT_WR);
  std::string answer;
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{sock.get(), POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buffer[8192];
    ssize_t n = ::recv(sock.get(), buffer, sizeof(buffer), 0);
    if (n <= 0)
      break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  return answer;
}

class MetricsServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(api_.start().ok());
    // A port from the dynamic range; another process may hold it.
    std::mt19937 random(std::random_device{}());
    for (int attempt = 0; attempt < 20 && !server_; ++attempt) {
      address_.port = static_cast<std::uint16_t>(
          std::uniform_int_distribution<int>(49152, 65535)(random));
      auto started = api::MetricsServer::start(address_, api_.backend());
      if (started)
        server_ = std::move(*started);
    }
    ASSERT_TRUE(server_) << "no free port on 127.0.0.1 in 20 attempts";
  }

  std::string get(const std::string &request) {
    return exchange(address_.port, request);
  }

  TempDir dir_{"xdpgate-metrics-test"};
  InProcessApi api_{dir_.path()};
  TcpAddress address_{*IpPrefix::parse_address("127.0.0.1"), 0};
  std::unique_ptr<api::MetricsServer> server_;
};

TEST_F(MetricsServerTest, GetMetricsAnswersThePrometheusTextOfTheSocket) {
  ASSERT_TRUE(
      api_.service().add({{"198.18.0.1", "a", true, std::nullopt}}, "test"));
  auto answers =
      parse_responses(get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), false);
  ASSERT_TRUE(answers) << answers.error().message;
  ASSERT_EQ(answers->size(), 1u);
  const WireResponse &r = answers->front();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("content-type"), api::kMetricsContentType);
  EXPECT_EQ(r.body, api::metrics_text(api_.backend()));
  EXPECT_NE(r.body.find("xdpgate_entries{state=\"enabled\"} 1\n"),
            std::string::npos)
      << r.body;
}

TEST_F(MetricsServerTest, NothingElseIsServed) {
  for (const char *path : {"/", "/api/admin/ip-allowlist", "/metrics/",
                           "/api/admin/ip-allowlist/status"}) {
    std::string answer =
        get(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(status_of_raw(answer), 404) << path << ": " << answer;
  }
  std::string answer =
      get("DELETE /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_of_raw(answer), 405) << answer;
  EXPECT_NE(answer.find("Allow: GET"), std::string::npos) << answer;
  EXPECT_EQ(status_of_raw(get("GET /metrics?x=1 HTTP/1.1\r\n\r\n")), 400);
  EXPECT_EQ(status_of_raw(get("POST /metrics HTTP/1.1\r\nContent-Type: "
                              "application/json\r\nContent-Length: 2\r\n\r\n"
                              "{}")),
            405);
}

TEST_F(MetricsServerTest, AnAddressInUseIsRefusedNamingIt) {
  auto second = api::MetricsServer::start(address_, api_.backend());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find(address_.to_string()),
            std::string::npos)
      << second.error().message;
}

TEST(TcpAddress, ParsesLiteralAddressesWithAPort) {
  auto v4 = TcpAddress::parse("127.0.0.1:9433");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->port, 9433);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:9433");
  auto v6 = TcpAddress::parse("[2001:db8::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:80");
  for (const char *bad :
       {"", "127.0.0.1", ":9433", "127.0.0.1:", "127.0.0.1:0",
        "127.0.0.1:65536", "127.0.0.1:09433", "127.0.0.1:94x", "::1:9433",
        "[127.0.0.1]:9433", "localhost:9433", "[::1]", "0x7f.0.0.1:1"})
    EXPECT_FALSE(TcpAddress::parse(bad)) << bad;
}

} // namespace
} // namespace xdpgate::test
