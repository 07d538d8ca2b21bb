// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// GET /denied?follow=true: a chunked stream of JSON lines, one per event
// the reader publishes; following is on in the kernel while a client
// follows; a slow follower loses events and is told how many; the client
// going away or the server stopping ends the stream promptly. And the
// fan-out itself (DeniedFollowers), which never waits on a follower.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "api/denied_followers.hpp"
#include "support/api_fixture.hpp"
#include "support/http_wire.hpp"

namespace xdpgate::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char *kFollow =
    "GET /api/admin/ip-allowlist/denied?follow=true HTTP/1.1\r\n"
    "Host: localhost\r\n\r\n";

DeniedEvent event(const std::string &address, std::uint16_t port = 22) {
  DeniedEvent e;
  e.ifindex = 3;
  e.interface = "eth1";
  e.address = *IpPrefix::parse_address(address);
  e.verdict = XDPGATE_VERDICT_DROPPED;
  e.protocol = 6;
  e.dest_port = port;
  e.at = kApiStart;
  return e;
}

bool eventually(const std::function<bool()> &condition,
                milliseconds within = milliseconds(2000)) {
  const auto until = Clock::now() + within;
  while (!condition()) {
    if (Clock::now() >= until)
      return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

class DeniedFollowApiTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(api_.start()); }

  // Connects and asks to follow.
  Fd open_stream() {
    Fd fd = connect_unix(api_.socket_path());
    EXPECT_TRUE(fd.valid());
    const std::string request = kFollow;
    EXPECT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    return fd;
  }

  // Reads into wire_ until it holds `text` or `within` passes.
  bool read_until(const Fd &fd, const std::string &text,
                  milliseconds within = milliseconds(2000)) {
    const auto until = Clock::now() + within;
    while (wire_.find(text) == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<milliseconds>(until - Clock::now());
      if (left.count() <= 0)
        return false;
      pollfd p{fd.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return false;
      char buffer[4096];
      const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n <= 0)
        return wire_.find(text) != std::string::npos;
      wire_.append(buffer, static_cast<std::size_t>(n));
    }
    return true;
  }

  // The JSON lines of the body so far, chunk framing removed.
  std::vector<json> lines() const {
    std::vector<json> out;
    std::size_t at = wire_.find("\r\n\r\n");
    if (at == std::string::npos)
      return out;
    at += 4;
    std::string body;
    while (at < wire_.size()) {
      const std::size_t eol = wire_.find("\r\n", at);
      if (eol == std::string::npos)
        break;
      const std::size_t size =
          std::stoul(wire_.substr(at, eol - at), nullptr, 16);
      if (size == 0 || eol + 2 + size > wire_.size())
        break;
      body += wire_.substr(eol + 2, size);
      at = eol + 2 + size + 2;
    }
    for (std::size_t start = 0, end;
         (end = body.find('\n', start)) != std::string::npos; start = end + 1)
      out.push_back(json::parse(body.substr(start, end - start)));
    return out;
  }

  TempDir dir_{"xdpgate-follow-api-test"};
  InProcessApi api_{dir_.path()};
  std::string wire_;
};

TEST_F(DeniedFollowApiTest, AnEventIsStreamedAsOneJsonLine) {
  Fd fd = open_stream();
  ASSERT_TRUE(read_until(fd, "\r\n\r\n"));
  EXPECT_EQ(status_of_raw(wire_), 200);
  EXPECT_NE(wire_.find("Transfer-Encoding: chunked"), std::string::npos)
      << wire_;
  EXPECT_NE(wire_.find("application/x-ndjson"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return api_.following.load(); }));

  api_.denied_followers.publish(event("198.51.100.7"));
  ASSERT_TRUE(read_until(fd, "198.51.100.7")) << wire_;
  ASSERT_TRUE(read_until(fd, "}\n"));
  std::vector<json> got = lines();
  ASSERT_EQ(got.size(), 1u) << wire_;
  EXPECT_EQ(got[0], (json{{"interface", "eth1"},
                          {"address", "198.51.100.7"},
                          {"verdict", "dropped"},
                          {"protocol", "tcp"},
                          {"dest_port", 22},
                          {"at", kApiStart}}));
}

TEST_F(DeniedFollowApiTest, FollowingStopsWhenTheClientGoesAway) {
  {
    Fd fd = open_stream();
    ASSERT_TRUE(read_until(fd, "\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return api_.following.load(); }));
  }
  EXPECT_TRUE(eventually([&] { return !api_.following.load(); }));
  EXPECT_EQ(api_.denied_followers.count(), 0u);
}

TEST_F(DeniedFollowApiTest, TwoFollowersBothGetEveryEvent) {
  Fd a = open_stream();
  Fd b = open_stream();
  ASSERT_TRUE(eventually([&] { return api_.denied_followers.count() == 2; }));
  api_.denied_followers.publish(event("198.51.100.8"));
  ASSERT_TRUE(read_until(a, "198.51.100.8"));
  wire_.clear();
  ASSERT_TRUE(read_until(b, "198.51.100.8"));
}

TEST_F(DeniedFollowApiTest, StoppingTheServerEndsTheStreamPromptly) {
  Fd fd = open_stream();
  ASSERT_TRUE(read_until(fd, "\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return api_.following.load(); }));
  const auto begins = Clock::now();
  api_.stop_server();
  EXPECT_LT(Clock::now() - begins, milliseconds(2000));
  // The body ends with its last chunk, and the connection closes.
  EXPECT_TRUE(read_until(fd, "0\r\n\r\n")) << wire_;
  EXPECT_FALSE(api_.following.load());
}

TEST_F(DeniedFollowApiTest, AFollowValueThatIsNoFlagIsRefused) {
  RawAnswer answer =
      raw_exchange(api_.socket_path(),
                   "GET /api/admin/ip-allowlist/denied?follow=yes HTTP/1.1\r\n"
                   "Host: localhost\r\nConnection: close\r\n\r\n",
                   milliseconds(2000));
  EXPECT_EQ(status_of_raw(answer.bytes), 400) << answer.bytes;
  EXPECT_NE(answer.bytes.find("invalid_parameter"), std::string::npos);
}

TEST_F(DeniedFollowApiTest, ASlowClientIsToldHowManyEventsItLost) {
  Fd fd = open_stream();
  ASSERT_TRUE(read_until(fd, "\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return api_.following.load(); }));
  // Far faster than the stream takes them: its queue holds 4.
  constexpr int kPublished = 1000;
  for (int i = 0; i < kPublished; ++i)
    api_.denied_followers.publish(event("198.51.100.1"));
  ASSERT_TRUE(read_until(fd, "\"lost\"", milliseconds(3000))) << wire_;
  ASSERT_TRUE(read_until(fd, "}\n"));
  std::uint64_t shown = 0, lost = 0;
  for (const json &line : lines())
    if (line.contains("lost"))
      lost += line["lost"].get<std::uint64_t>();
    else
      ++shown;
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(shown + lost, static_cast<std::uint64_t>(kPublished));
}

TEST_F(DeniedFollowApiTest, TopDoesNotGoWithFollow) {
  RawAnswer answer = raw_exchange(
      api_.socket_path(),
      "GET /api/admin/ip-allowlist/denied?follow=true&top=3 HTTP/1.1\r\n"
      "Host: localhost\r\nConnection: close\r\n\r\n",
      milliseconds(2000));
  EXPECT_EQ(status_of_raw(answer.bytes), 400) << answer.bytes;
  EXPECT_NE(answer.bytes.find("invalid_parameter"), std::string::npos);
  EXPECT_FALSE(api_.following.load());
}

TEST(DeniedFollowersTest, ASlowFollowerLosesWhatItsQueueCannotHoldAndIsTold) {
  int toggles = 0;
  api::DeniedFollowers hub([&](bool) { ++toggles; }, 4);
  auto follower = hub.follow();
  ASSERT_NE(follower, nullptr);
  for (int i = 0; i < 10; ++i)
    hub.publish(event("198.51.100." + std::to_string(i)));
  api::FollowBatch batch = follower->take(milliseconds(0));
  ASSERT_EQ(batch.events.size(), 4u);
  EXPECT_EQ(batch.events[0].address.to_string(), "198.51.100.0");
  EXPECT_EQ(batch.lost, 6u);
  batch = follower->take(milliseconds(0));
  EXPECT_TRUE(batch.events.empty());
  EXPECT_EQ(batch.lost, 0u);
  follower.reset();
  EXPECT_EQ(toggles, 2); // on with the first, off with the last
}

TEST(DeniedFollowersTest, ClosingWakesFollowersAndRefusesNewOnes) {
  api::DeniedFollowers hub;
  auto follower = hub.follow();
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    hub.close();
  });
  const auto begins = Clock::now();
  api::FollowBatch batch = follower->take(milliseconds(5000));
  closer.join();
  EXPECT_TRUE(batch.closed);
  EXPECT_LT(Clock::now() - begins, milliseconds(2000));
  EXPECT_EQ(hub.follow(), nullptr);
}

} // namespace
} // namespace xdpgate::test
